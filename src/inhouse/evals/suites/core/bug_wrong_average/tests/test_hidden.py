from solution import average

def test():
    assert average([1, 2]) == 1.5
    assert average([]) == 0.0
