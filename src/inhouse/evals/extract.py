"""Code out of a model's reply: the last fenced Python block, else the whole reply if it parses."""

from __future__ import annotations

import ast
import re

_FENCE = re.compile(r"```[ \t]*(?:python|py|python3)?[ \t]*\n(.*?)(?:```|\Z)", re.DOTALL | re.IGNORECASE)


def extract_tests(text: str, *, module: str = "solution") -> str | None:
    return extract_code(text)


def extract_code(text: str, *, entry_points=(), module: str = "solution", original: str | None = None) -> str | None:
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


_ANY_FENCE = re.compile(r"```([^\n`]*)\n(.*?)(?:```|\Z)", re.DOTALL)
_PATH = re.compile(r"(?<![\w./])((?:[\w-]+/)*[\w-]+\.py)\b")


def safe_path(path: str) -> str | None:
    """A relative path inside the project, normalized; None for absolute paths or ``..``."""
    path = path.strip().strip("`'\"*:").removeprefix("./")
    parts = path.split("/")
    if not path or path.startswith("/") or any(p in ("", ".", "..") for p in parts):
        return None
    return path


def extract_files(text: str, known: list[str]) -> dict[str, str]:
    """Whole files out of a reply that gives each as its path followed by a code block.

    The path may stand on the line before the fence (``utils.py``, ``### src/utils.py``,
    ``File: utils.py``), in the fence's info string (```` ```python utils.py ````) or as a first
    comment line inside the block (``# utils.py``). A project of one file takes a lone block
    without a path. Paths outside the project directory are ignored."""
    out: dict[str, str] = {}
    blocks = list(_ANY_FENCE.finditer(text or ""))
    for m in blocks:
        info, body = m.group(1), m.group(2)
        before = (text[:m.start()].rstrip().rsplit("\n", 1) or [""])[-1]
        first = body.lstrip("\n").split("\n", 1)[0]
        candidates = _PATH.findall(info) or _PATH.findall(before)
        if not candidates and first.lstrip().startswith("#"):
            candidates = _PATH.findall(first)
        path = safe_path(candidates[-1]) if candidates else None
        if path is not None and body.strip():
            out[path] = body.rstrip("\n") + "\n"
    if not out and len(known) == 1 and blocks:
        out[known[0]] = max((m.group(2) for m in blocks), key=len).rstrip("\n") + "\n"
    return out
