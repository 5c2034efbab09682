from solution import LRUCache

def test():
    c = LRUCache(2)
    c.put('a', 1); c.put('b', 2)
    assert c.get('a') == 1
    c.put('c', 3)
    assert c.get('b') is None and c.get('a') == 1 and c.get('c') == 3
