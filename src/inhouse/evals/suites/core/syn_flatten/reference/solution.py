def flatten(items):
    out = []
    for x in items:
        out.extend(flatten(x) if isinstance(x, list) else [x])
    return out
