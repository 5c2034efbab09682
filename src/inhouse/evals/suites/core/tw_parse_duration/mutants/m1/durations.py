import re


def parse_duration(text):
    """Seconds in a duration such as "1h30m", "45s" or "2h5m10s" (h, m, s, each at most once, in
    that order). Raises ValueError for anything else, including the empty string."""
    m = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?", text)
    if not text or m is None:
        raise ValueError(f"not a duration: {text!r}")
    h, mins, s = (int(g or 0) for g in m.groups())
    return h * 3600 + mins * 100 + s
