def parse_kv(line):
    out = {}
    for part in line.split(';'):
        if '=' in part:
            k, v = part.split('=', 1)
            out[k.strip()] = v.strip()
    return out
