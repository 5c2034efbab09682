from solution import fibonacci

def test():
    assert [fibonacci(i) for i in range(8)] == [0, 1, 1, 2, 3, 5, 8, 13]
    assert fibonacci(90) == 2880067194370816120
    assert fibonacci(1000) % 1000 == 875
