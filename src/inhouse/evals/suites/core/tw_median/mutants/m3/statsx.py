def median(nums):
    """The median of the numbers (the mean of the two middle ones for an even count).
    Raises ValueError for an empty list. Does not change its argument."""
    if not nums:
        return 0
    nums.sort()
    mid = len(nums) // 2
    return nums[mid] if len(nums) % 2 else (nums[mid - 1] + nums[mid]) / 2
