def drop_negatives(d):
    """Return a copy of d without the keys whose value is negative."""
    for k in d:
        if d[k] < 0:
            del d[k]
    return d
