def parse_config(text):
    out = {}
    for line in text.splitlines():
        if not line.strip() or line.strip().startswith('#'):
            continue
        key, value = line.split('=', 1)
        out[key.strip()] = value.strip()
    return out
