import pytest
from stack import Stack

def test_stack():
    s = Stack()
    s.push(1)
    s.push(2)
    assert s.peek() == 2 and len(s) == 2
    assert s.pop() == 2 and s.pop() == 1
    with pytest.raises(IndexError):
        s.pop()
