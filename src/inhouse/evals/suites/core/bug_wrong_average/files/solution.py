def average(nums):
    """Arithmetic mean of nums; 0.0 for an empty list."""
    return sum(nums) // len(nums)
