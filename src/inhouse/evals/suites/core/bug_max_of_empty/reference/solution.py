def maximum(nums):
    return max(nums) if nums else None
