from solution import parse_kv

def test():
    assert parse_kv('a=1; b = two;c=3') == {'a': '1', 'b': 'two', 'c': '3'}
    assert parse_kv(';;') == {}
    assert parse_kv('url=http://x?y=1') == {'url': 'http://x?y=1'}
