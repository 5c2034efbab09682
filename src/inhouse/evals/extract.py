"""Code out of a model's reply: the last fenced Python block, else the whole reply if it parses."""

from __future__ import annotations

import ast
import re

_FENCE = re.compile(r"```[ \t]*(?:python|py|python3)?[ \t]*\n(.*?)(?:```|\Z)", re.DOTALL | re.IGNORECASE)


def extract_code(text: str) -> str | None:
    blocks = [b.strip("\n") for b in _FENCE.findall(text or "") if b.strip()]
    if blocks:
        # prefer the longest block that defines something; models often add a usage example after
        defining = [b for b in blocks if re.search(r"^\s*(def|class|import|from)\s", b, re.MULTILINE)]
        return max(defining or blocks, key=len)
    stripped = (text or "").strip()
    if not stripped:
        return None
    try:
        ast.parse(stripped)
    except SyntaxError:
        return None
    return stripped if re.search(r"^\s*(def|class|import|from)\s", stripped, re.MULTILINE) else None
