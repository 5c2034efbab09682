def add_item(item, items=[]):
    """Return a new list: items plus item. items is not modified."""
    items.append(item)
    return items
