def add_item(item, items=None):
    return list(items or []) + [item]
