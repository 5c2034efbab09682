def dedupe(items):
    """items without repeats, each kept where it first appeared."""
    return sorted(set(items))
