def binary_search(items, target):
    """Index of target in the sorted list items, or -1."""
    lo, hi = 0, len(items)
    while lo < hi:
        mid = (lo + hi) // 2
        if items[mid] < target:
            lo = mid
        elif items[mid] > target:
            hi = mid
        else:
            return mid
    return -1
