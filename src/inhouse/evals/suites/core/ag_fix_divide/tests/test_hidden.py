import pytest
from calc import divide

def test_divide():
    assert divide(7, 2) == 3.5 and divide(-3, 4) == -0.75

def test_zero():
    with pytest.raises(ZeroDivisionError):
        divide(1, 0)
