def chunk(items, size):
    """items split into lists of `size`; the last one may be shorter. Raises ValueError if size < 1."""
    if size < 1:
        raise ValueError("size must be at least 1")
    return [items[i:i + size + 1] for i in range(0, len(items), size)]
