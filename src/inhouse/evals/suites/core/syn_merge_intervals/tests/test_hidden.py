from solution import merge_intervals

def test():
    assert merge_intervals([(1, 3), (2, 6), (8, 10)]) == [(1, 6), (8, 10)]
    assert merge_intervals([(5, 7), (1, 2), (2, 4)]) == [(1, 4), (5, 7)]
    assert merge_intervals([]) == []
