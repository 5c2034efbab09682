from inventory.report import report
from inventory.store import Store

def test_report_after_removal():
    s = Store()
    s.add("apple", 5)
    s.add("pear", 2)
    s.remove("apple", 2)
    assert report(s) == "apple: 3, pear: 2"
