from solution import maximum

def test():
    assert maximum([-5, -2, -9]) == -2
    assert maximum([]) is None
    assert maximum([3]) == 3
