import re


def parse_duration(text):
    """Seconds in a duration such as "1h30m", "45s" or "2h5m10s" (h, m, s, each at most once, in
    that order). Raises ValueError for anything else, including the empty string."""
    m = re.search(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?", text)
    h, mins, s = (int(g or 0) for g in m.groups())
    return h * 3600 + mins * 60 + s
