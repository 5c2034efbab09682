"""A model's unified diff applied to the one file it changes.

Models write diffs by hand: hunk line numbers are often off, blank context lines lose their
leading space, and the ``@@`` header is sometimes left out. So a hunk is placed by its content
(context and removed lines, in order), not by its numbers; the numbers only choose between
equal places. A diff applies when every hunk's old lines are found, in order; otherwise nothing
is applied.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_HUNK = re.compile(r"@@ -(\d+)(?:,\d+)? \+\d+(?:,\d+)? @@.*")
_HEADER = ("diff ", "index ", "new file mode", "deleted file mode", "similarity index", "rename ")


@dataclass
class Hunk:
    old_start: int | None  # 1-based line number from the @@ header, when there is one
    old: list[str] = field(default_factory=list)
    new: list[str] = field(default_factory=list)


def looks_like_diff(text: str) -> bool:
    """Has an ``@@ -a,b +c,d @@`` hunk header followed by a changed line."""
    lines = text.split("\n")
    return any(_HUNK.match(ln) and any(x[:1] in "+-" and x for x in lines[i + 1:]) for i, ln in enumerate(lines))


def parse_hunks(diff: str) -> list[Hunk]:
    """The hunks of a unified diff; text without ``@@`` headers is one hunk of ``' '``/``-``/``+`` lines."""
    lines = diff.split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    hunks: list[Hunk] = []
    headed = any(_HUNK.match(ln) for ln in lines)
    current: Hunk | None = None if headed else Hunk(None)
    bare_blanks = 0
    for k, ln in enumerate(lines):
        nxt = lines[k + 1] if k + 1 < len(lines) else ""
        prev = lines[k - 1] if k else ""
        if ln.startswith("--- ") and nxt.startswith("+++ ") or ln.startswith("+++ ") and prev.startswith("--- "):
            continue  # the file names
        if ln.startswith(_HEADER) or ln.startswith("\\"):
            continue  # git's headers; "\ No newline at end of file"
        m = _HUNK.match(ln)
        if m:
            if current is not None:
                _trim(current, bare_blanks)
            current, bare_blanks = Hunk(int(m.group(1))), 0
            hunks.append(current)
            continue
        if current is None:
            continue  # prose before the first hunk or after one
        if headed and ln and ln[0] not in " +-":
            _trim(current, bare_blanks)
            current = None  # prose after a hunk ends it
            continue
        if not headed and not hunks:
            hunks.append(current)
        bare_blanks = bare_blanks + 1 if ln == "" else 0
        if ln.startswith("-"):
            current.old.append(ln[1:])
        elif ln.startswith("+"):
            current.new.append(ln[1:])
        else:
            ctx = ln[1:] if ln.startswith(" ") else ln  # a blank context line often loses its space
            current.old.append(ctx)
            current.new.append(ctx)
    if current is not None:
        _trim(current, bare_blanks)
    return [h for h in hunks if h.old != h.new]


def _trim(hunk: Hunk, n: int) -> None:
    """Drop the ``n`` blank lines without a leading space that end a hunk: they separate it from
    prose, they are not context."""
    if n:
        del hunk.old[-n:], hunk.new[-n:]


def apply_diff(original: str, diff: str) -> str | None:
    """``original`` with ``diff`` applied, or None when a hunk's old lines are not found in order."""
    hunks = parse_hunks(diff)
    if not hunks:
        return None
    lines = original.split("\n")
    trailing = lines[-1] == "" and len(lines) > 1
    if trailing:
        lines.pop()
    out: list[str] = []
    cursor = 0
    for hunk in hunks:
        at = _place(lines, hunk, cursor)
        if at is None:
            return None
        out += lines[cursor:at] + hunk.new
        cursor = at + len(hunk.old)
    out += lines[cursor:]
    return "\n".join(out) + ("\n" if trailing else "")


def _place(lines: list[str], hunk: Hunk, cursor: int) -> int | None:
    """Where the hunk's old lines stand at or after ``cursor``: exact match first, then ignoring
    trailing spaces; among several, the one nearest the header's line number."""
    if not hunk.old:  # a pure insertion: only its line number can place it
        return None if hunk.old_start is None else max(cursor, min(hunk.old_start, len(lines)))
    n = len(hunk.old)
    for same in (lambda a, b: a == b, lambda a, b: a.rstrip() == b.rstrip()):
        found = [i for i in range(cursor, len(lines) - n + 1)
                 if all(same(lines[i + k], hunk.old[k]) for k in range(n))]
        if found:
            want = (hunk.old_start or 1) - 1
            return min(found, key=lambda i: abs(i - want))
    return None
