from cart import Cart
from pricing import price_with_tax

def test_rate():
    assert price_with_tax(100, rate=0.1) == 110.0
    assert price_with_tax(100) == 120.0

def test_cart_passes_rate():
    c = Cart()
    c.add("a", 10)
    c.add("b", 20)
    assert c.total() == 36.0
    assert c.total(rate=0.5) == 45.0
