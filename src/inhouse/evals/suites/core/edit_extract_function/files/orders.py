def invoice_total(lines):
    total = sum(qty * price for qty, price in lines)
    if total >= 100:
        total -= total * 0.1
    elif total >= 50:
        total -= 5
    return round(total, 2)


def quote_total(lines, shipping):
    total = sum(qty * price for qty, price in lines)
    if total >= 100:
        total -= total * 0.1
    elif total >= 50:
        total -= 5
    return round(total + shipping, 2)
