def clamp(x, lo, hi):
    """x limited to the range [lo, hi]. Raises ValueError when lo > hi."""
    return max(lo, min(x, hi))
