from storage import MemoryStore


def make_store():
    return MemoryStore()
