def dedupe(items):
    """items without repeats, each kept where it first appeared."""
    return [x for x in items if items.count(x) == 1]
