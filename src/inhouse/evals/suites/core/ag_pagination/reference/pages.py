def page(items, number, per_page=10):
    start = (number - 1) * per_page
    return items[start:start + per_page]
