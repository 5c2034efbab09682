def discount(total):
    if total >= 100:
        return total * 0.1
    if total >= 50:
        return 5
    return 0


def invoice_total(lines):
    total = sum(q * p for q, p in lines)
    return round(total - discount(total), 2)


def quote_total(lines, shipping):
    total = sum(q * p for q, p in lines)
    return round(total - discount(total) + shipping, 2)
