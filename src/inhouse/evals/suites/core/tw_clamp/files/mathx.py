def clamp(x, lo, hi):
    """x limited to the range [lo, hi]. Raises ValueError when lo > hi."""
    if lo > hi:
        raise ValueError("lo must not exceed hi")
    return max(lo, min(x, hi))
