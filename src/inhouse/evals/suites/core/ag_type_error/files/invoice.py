def format_total(lines):
    """ "Total: 12.50 EUR" for lines of (quantity, unit price)."""
    total = sum(q * p for q, p in lines)
    return "Total: " + total + " EUR"
