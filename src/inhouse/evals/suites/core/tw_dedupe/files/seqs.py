def dedupe(items):
    """items without repeats, each kept where it first appeared."""
    seen = set()
    out = []
    for x in items:
        if x not in seen:
            seen.add(x)
            out.append(x)
    return out
