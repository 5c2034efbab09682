def encode(text):
    """Run-length encoding: "aaabcc" -> [("a", 3), ("b", 1), ("c", 2)]; case-sensitive; "" -> []."""
    out = []
    run = None
    for ch in text:
        if run and run[0] == ch:
            run = (ch, run[1] + 1)
        else:
            if run:
                out.append(run)
            run = (ch, 1)
    return out
