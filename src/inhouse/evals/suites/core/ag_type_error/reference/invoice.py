def format_total(lines):
    total = sum(q * p for q, p in lines)
    return f'Total: {total:.2f} EUR'
