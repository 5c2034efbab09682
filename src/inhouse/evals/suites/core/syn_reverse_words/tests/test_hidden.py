from solution import reverse_words

def test_basic():
    assert reverse_words('hello big world') == 'world big hello'

def test_spaces():
    assert reverse_words('  a   b ') == 'b a'

def test_empty():
    assert reverse_words('') == ''
