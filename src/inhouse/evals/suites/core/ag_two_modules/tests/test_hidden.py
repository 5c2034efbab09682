import pytest
from inventory.report import report
from inventory.store import Store

def test_remove():
    s = Store()
    s.add("apple", 5)
    s.remove("apple", 2)
    s.remove("apple")
    assert report(s) == "apple: 2"
    with pytest.raises(ValueError):
        s.remove("apple", 3)
