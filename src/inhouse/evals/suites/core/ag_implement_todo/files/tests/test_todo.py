from todo import add, complete, done_count

def test_flow():
    items = add(add([], "a"), "b")
    assert done_count(items) == 0
    items = complete(items, "b")
    assert done_count(items) == 1
