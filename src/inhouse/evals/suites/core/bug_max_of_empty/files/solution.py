def maximum(nums):
    """Largest value in nums, or None for an empty list."""
    best = 0
    for n in nums:
        if n > best:
            best = n
    return best
