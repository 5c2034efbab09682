from solution import drop_negatives

def test():
    d = {'a': 1, 'b': -1, 'c': -2}
    assert drop_negatives(d) == {'a': 1}
    assert d == {'a': 1, 'b': -1, 'c': -2}
