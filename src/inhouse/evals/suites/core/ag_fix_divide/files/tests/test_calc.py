from calc import divide

def test_divide():
    assert divide(7, 2) == 3.5
