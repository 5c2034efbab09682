from solution import balanced

def test():
    assert balanced('([]{})') and balanced('a(b)c') and balanced('')
    assert not balanced('(]') and not balanced('((') and not balanced(')(')
