from pricing import price_with_tax


class Cart:
    def __init__(self):
        self.items = []

    def add(self, name, amount):
        self.items.append((name, amount))

    def total(self):
        return round(sum(price_with_tax(a) for _, a in self.items), 2)
