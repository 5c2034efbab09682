from pricing import price_with_tax


class Cart:
    def __init__(self):
        self.items = []

    def add(self, name, amount):
        self.items.append((name, amount))

    def total(self, rate=0.2):
        return round(sum(price_with_tax(a, rate) for _, a in self.items), 2)
