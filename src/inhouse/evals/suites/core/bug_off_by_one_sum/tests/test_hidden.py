from solution import sum_to

def test():
    assert sum_to(1) == 1 and sum_to(10) == 55 and sum_to(0) == 0
