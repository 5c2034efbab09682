def encode(text):
    """Run-length encoding: "aaabcc" -> [("a", 3), ("b", 1), ("c", 2)]; case-sensitive; "" -> []."""
    out = []
    for ch in text:
        if out and out[-1][0].lower() == ch.lower():
            out[-1] = (out[-1][0], out[-1][1] + 1)
        else:
            out.append((ch, 1))
    return out
