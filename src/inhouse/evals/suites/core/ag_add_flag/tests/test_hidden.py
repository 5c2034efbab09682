from greet import greet

def test_default():
    assert greet("Ada") == "Hello, Ada."

def test_excited():
    assert greet("Ada", excited=True) == "Hello, Ada!"
    assert greet("Bo", True) == "Hello, Bo!"
