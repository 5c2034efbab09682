def median(nums):
    """The median of the numbers (the mean of the two middle ones for an even count).
    Raises ValueError for an empty list. Does not change its argument."""
    if not nums:
        raise ValueError("median of an empty list")
    s = sorted(nums)
    mid = len(s) // 2
    return s[mid] if len(s) % 2 else (s[mid - 1] + s[mid]) / 2
