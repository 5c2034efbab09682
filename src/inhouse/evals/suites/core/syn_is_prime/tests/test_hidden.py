from solution import is_prime

def test():
    assert [n for n in range(20) if is_prime(n)] == [2, 3, 5, 7, 11, 13, 17, 19]
    assert is_prime(7919) and not is_prime(7917) and not is_prime(-7)
