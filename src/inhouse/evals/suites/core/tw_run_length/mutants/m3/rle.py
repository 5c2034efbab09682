def encode(text):
    """Run-length encoding: "aaabcc" -> [("a", 3), ("b", 1), ("c", 2)]; case-sensitive; "" -> []."""
    counts = {}
    for ch in text:
        counts[ch] = counts.get(ch, 0) + 1
    return list(counts.items())
