class Store:
    def __init__(self):
        self.counts = {}

    def add(self, item, n=1):
        self.counts[item] = self.counts.get(item, 0) + n

    def remove(self, item, n=1):
        have = self.counts.get(item, 0)
        if have < n:
            raise ValueError(item)
        self.counts[item] = have - n
