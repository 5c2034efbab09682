def average(nums):
    return sum(nums) / len(nums) if nums else 0.0
