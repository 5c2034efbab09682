from storage import MemStore


def make_store():
    return MemStore()
