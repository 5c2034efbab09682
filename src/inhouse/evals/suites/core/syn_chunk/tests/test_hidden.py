import pytest
from solution import chunk

def test():
    assert chunk([1, 2, 3, 4, 5], 2) == [[1, 2], [3, 4], [5]]
    assert chunk([], 3) == []

def test_bad_size():
    with pytest.raises(ValueError):
        chunk([1], 0)
