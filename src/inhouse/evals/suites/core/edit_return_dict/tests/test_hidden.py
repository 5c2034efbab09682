from report import describe
from stats import summary

def test_dict():
    assert summary([1, 2, 6]) == {"min": 1, "max": 6, "mean": 3.0}

def test_report():
    assert describe([1, 2, 6]) == "from 1 to 6, mean 3.0"
