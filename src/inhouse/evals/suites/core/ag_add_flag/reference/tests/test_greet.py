from greet import greet

def test_greet():
    assert greet('Ada') == 'Hello, Ada.'

def test_excited():
    assert greet('Ada', excited=True) == 'Hello, Ada!'
