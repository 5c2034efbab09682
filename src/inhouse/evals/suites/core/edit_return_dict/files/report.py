from stats import summary


def describe(nums):
    lo, hi, mean = summary(nums)
    return f"from {lo} to {hi}, mean {mean:.1f}"
