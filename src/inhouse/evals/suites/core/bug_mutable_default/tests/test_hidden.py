from solution import add_item

def test():
    assert add_item(1) == [1]
    assert add_item(2) == [2]
    base = [0]
    assert add_item(1, base) == [0, 1] and base == [0]
