def summary(nums):
    return min(nums), max(nums), sum(nums) / len(nums)
