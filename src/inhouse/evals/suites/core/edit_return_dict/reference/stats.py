def summary(nums):
    return {'min': min(nums), 'max': max(nums), 'mean': sum(nums) / len(nums)}
