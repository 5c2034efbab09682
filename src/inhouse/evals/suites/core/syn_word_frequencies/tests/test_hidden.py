from solution import word_frequencies

def test():
    assert word_frequencies('The cat and the hat.') == {'the': 2, 'cat': 1, 'and': 1, 'hat': 1}
    assert word_frequencies('') == {}
