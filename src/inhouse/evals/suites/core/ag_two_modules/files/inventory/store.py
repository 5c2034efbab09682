class Store:
    def __init__(self):
        self.counts = {}

    def add(self, item, n=1):
        self.counts[item] = self.counts.get(item, 0) + n

    def remove(self, item, n=1):
        """Take n of item out; ValueError if there are fewer than n."""
        have = self.counts.get(item, 0)
        if have < n:
            raise ValueError(f"only {have} {item} left")
        self.counts[item] = have + n
