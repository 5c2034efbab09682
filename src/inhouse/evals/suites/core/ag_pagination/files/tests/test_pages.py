from pages import page

def test_first_page():
    assert page(list(range(25)), 1) == list(range(10))
