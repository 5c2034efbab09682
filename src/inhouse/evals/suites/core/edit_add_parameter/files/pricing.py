def price_with_tax(amount):
    """The amount with 20% tax, rounded to cents."""
    return round(amount * 1.2, 2)
