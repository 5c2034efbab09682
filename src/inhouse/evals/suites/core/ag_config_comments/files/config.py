def parse_config(text):
    """key = value lines into a dict; blank lines and lines starting with # are ignored."""
    out = {}
    for line in text.splitlines():
        key, value = line.split("=", 1)
        out[key.strip()] = value.strip()
    return out
