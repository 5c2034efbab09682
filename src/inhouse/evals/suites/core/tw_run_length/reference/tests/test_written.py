from rle import encode

def test_encode():
    assert encode('aaabcc') == [('a', 3), ('b', 1), ('c', 2)]
    assert encode('aAa') == [('a', 1), ('A', 1), ('a', 1)]
    assert encode('abab') == [('a', 1), ('b', 1), ('a', 1), ('b', 1)]
