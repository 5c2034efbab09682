import inspect
import orders

def test_discount():
    assert orders.discount(200) == 20
    assert orders.discount(60) == 5
    assert orders.discount(10) == 0

def test_totals_unchanged():
    assert orders.invoice_total([(2, 50)]) == 90.0
    assert orders.invoice_total([(1, 60)]) == 55.0
    assert orders.quote_total([(1, 10)], 4) == 14.0
    assert orders.quote_total([(1, 120)], 4) == 112.0

def test_both_use_it():
    for fn in (orders.invoice_total, orders.quote_total):
        src = inspect.getsource(fn)
        assert "discount(" in src and "0.1" not in src
