import storage
from factory import make_store
from service import Counter

def test_renamed():
    assert isinstance(make_store(), storage.MemoryStore)
    assert not hasattr(storage, "MemStore")

def test_service():
    c = Counter()
    c.hit("a")
    assert c.hit("a") == 2
