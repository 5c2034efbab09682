from models import User
from serialize import from_dict, to_dict

def test_field():
    assert User("a", "a@x").age == 0
    assert User("a", "a@x", age=3).age == 3

def test_round_trip():
    u = User("ann", "ann@x", age=41)
    assert to_dict(u) == {"name": "ann", "email": "ann@x", "age": 41}
    assert from_dict(to_dict(u)) == u
    assert from_dict({"name": "b", "email": "b@x"}).age == 0
