def price_with_tax(amount, rate=0.2):
    return round(amount * (1 + rate), 2)
