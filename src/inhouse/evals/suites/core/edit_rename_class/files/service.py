from factory import make_store


class Counter:
    def __init__(self, store=None):
        self.store = store or make_store()

    def hit(self, name):
        self.store.put(name, self.store.get(name, 0) + 1)
        return self.store.get(name)
