import pytest
from todo import add, complete, done_count

def test_flow():
    items = add(add([], "a"), "b")
    after = complete(items, "b")
    assert done_count(items) == 0 and done_count(after) == 1
    assert [i["done"] for i in after] == [False, True]

def test_missing():
    with pytest.raises(KeyError):
        complete([], "x")
