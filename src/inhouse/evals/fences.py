"""Fenced code blocks of a Markdown reply, read in one pass the way CommonMark reads them.

An opening fence is 3 or more backticks or tildes, indented at most 3 spaces, followed by an
info string (a backtick fence's info holds no backtick). The block ends at a closing fence of the
same character, at least as long, with nothing after it but spaces; a shorter or other fence
inside is content. A block that never closes runs to the end of the text (a reply cut at its
token limit). Content lines lose as many leading spaces as the opening fence had.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_OPEN = re.compile(r"( {0,3})(`{3,}|~{3,})(.*)")
_CLOSE = re.compile(r" {0,3}(`{3,}|~{3,})[ \t]*")


@dataclass(frozen=True)
class Block:
    """One fenced block. Offsets index the text with its line endings made ``\\n``."""

    lang: str  # first word of the info string, lower-cased ("" when untagged)
    info: str  # the whole info string, stripped
    body: str  # the content, each line ending in "\n" ("" for an empty block)
    start: int  # offset of the opening fence line
    end: int  # offset just past the closing fence line, or the end of the text
    closed: bool
    before: str  # the text between the previous block (or the start) and this one


def normalize(text: str | None) -> str:
    """``\\r\\n`` and lone ``\\r`` made ``\\n``: every offset and body is in these terms."""
    return (text or "").replace("\r\n", "\n").replace("\r", "\n")


def lang_of(info: str) -> str:
    """``python utils.py`` -> ``python``; ``{.py}`` -> ``py``; ``python:utils.py`` -> ``python``."""
    word = info.split(maxsplit=1)[0] if info.strip() else ""
    return word.strip("{}.").split(":", 1)[0].lower()


def fences(text: str | None) -> list[Block]:
    """Every fenced block of ``text``, in order (``text`` is normalized first)."""
    text = normalize(text)
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # a final newline ends the last line; it does not start another
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)
    blocks: list[Block] = []
    i, prev_end = 0, 0
    while i < len(lines):
        m = _OPEN.fullmatch(lines[i])
        if not m or (m.group(2)[0] == "`" and "`" in m.group(3)):
            i += 1
            continue
        indent, fence, info = len(m.group(1)), m.group(2), m.group(3).strip()
        j, closed = i + 1, False
        while j < len(lines):
            c = _CLOSE.fullmatch(lines[j])
            if c and c.group(1)[0] == fence[0] and len(c.group(1)) >= len(fence):
                closed = True
                break
            j += 1
        content = [_unindent(line, indent) for line in lines[i + 1:j]]
        end = min(offsets[j + 1] if closed else offsets[j], len(text))
        blocks.append(Block(lang_of(info), info, "".join(c + "\n" for c in content), offsets[i], end, closed,
                            text[prev_end:offsets[i]]))
        prev_end = end
        i = j + 1
    return blocks


def _unindent(line: str, n: int) -> str:
    k = len(line) - len(line.lstrip(" "))
    return line[min(k, n):]
