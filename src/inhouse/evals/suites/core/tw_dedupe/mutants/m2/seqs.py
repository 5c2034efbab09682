def dedupe(items):
    """items without repeats, each kept where it first appeared."""
    out = []
    for x in reversed(items):
        if x not in out:
            out.insert(0, x)
    return out
