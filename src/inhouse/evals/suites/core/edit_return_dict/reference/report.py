from stats import summary


def describe(nums):
    s = summary(nums)
    return f"from {s['min']} to {s['max']}, mean {s['mean']:.1f}"
