from solution import to_fahrenheit

def test():
    assert to_fahrenheit(0) == 32 and to_fahrenheit(100) == 212
