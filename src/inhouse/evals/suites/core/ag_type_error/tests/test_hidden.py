from invoice import format_total

def test_total():
    assert format_total([(2, 5.0), (1, 2.5)]) == "Total: 12.50 EUR"
    assert format_total([]) == "Total: 0.00 EUR"
    assert format_total([(3, 0.1)]) == "Total: 0.30 EUR"
