import ast
from pathlib import Path

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
    # the judge's working directory holds the answer's files as text (never imported here)
    text = Path("orders.py").read_text()
    functions = {n.name: ast.get_source_segment(text, n) for n in ast.parse(text).body
                 if isinstance(n, ast.FunctionDef)}
    for name in ("invoice_total", "quote_total"):
        src = functions[name]
        assert "discount(" in src and "0.1" not in src
