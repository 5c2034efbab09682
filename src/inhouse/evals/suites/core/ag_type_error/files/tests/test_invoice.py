from invoice import format_total

def test_total():
    assert format_total([(2, 5.0), (1, 2.5)]) == "Total: 12.50 EUR"
