from pages import page

def test_pages():
    items = list(range(25))
    assert page(items, 1) == list(range(10))
    assert page(items, 3) == [20, 21, 22, 23, 24]
    assert page(items, 4) == []
    assert page(items, 2, per_page=5) == [5, 6, 7, 8, 9]
