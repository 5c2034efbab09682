def page(items, number, per_page=10):
    """The items on page `number`, counting pages from 1; [] past the end."""
    start = number * per_page
    return items[start:start + per_page]
