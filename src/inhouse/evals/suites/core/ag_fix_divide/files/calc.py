def divide(a, b):
    """a divided by b as a float; ZeroDivisionError when b is 0."""
    return a // b
