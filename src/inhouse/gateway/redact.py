"""Redaction for privacy rules in ``redact`` mode: placeholders out, original values back in.

``redact_request(protocol, body, result)`` returns a copy of the request in which every finding's
span is replaced by a placeholder ``⟦secret-N⟧`` (the same value always gets the same N), and a
``Restorer`` that puts the values back into the reply: ``restore(text)`` at once, or streaming with
``feed(delta) -> text_to_emit`` and ``finish()``, holding back a placeholder split across chunks.

Text that is itself JSON source (a tool call's arguments, streamed as pieces of a JSON document)
gets each value JSON-string-escaped (``json_string=True``): a secret holding a quote, a backslash
or a newline must not break the arguments. Plain text gets the value as it was.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from ..errors import InhouseError
from .privacy import Finding, ScanResult

PLACEHOLDER_RE = re.compile(r"⟦secret-(\d+)⟧")
_PARTIAL_RE = re.compile(r"⟦(?:s(?:e(?:c(?:r(?:e(?:t(?:-\d*)?)?)?)?)?)?)?\Z")
# in JSON source a placeholder may come \u-escaped (a backend or model writing ASCII-only JSON)
ESCAPED_RE = re.compile(r"(?<!\\)\\u27[eE]6secret-(\d+)\\u27[eE]7")
_ESCAPED_HEAD = "\\u27e6secret-"
_ESCAPED_TAIL_RE = re.compile(r"\d*(?:\\(?:u(?:2(?:7(?:[eE])?)?)?)?)?\Z")
_MAX_PLACEHOLDER = 40


def _escaped_prefix(tail: str) -> bool:
    """Whether ``tail`` may be the start of an escaped placeholder (the rest still to come)."""
    n = min(len(tail), len(_ESCAPED_HEAD))
    if tail[:n].lower() != _ESCAPED_HEAD[:n]:
        return False
    return len(tail) <= len(_ESCAPED_HEAD) or bool(_ESCAPED_TAIL_RE.match(tail, len(_ESCAPED_HEAD)))


class RedactionError(InhouseError):
    """A finding that cannot be replaced (e.g. in a JSON key): keep the request local."""


class StreamRestorer:
    """Restores placeholders in one stream of text deltas (of JSON source, with ``json_string``)."""

    def __init__(self, mapping: dict[str, str], json_string: bool = False):
        self._mapping = mapping
        self._json = json_string
        self._pending = ""

    def feed(self, delta: str) -> str:
        buf = self._pending + delta
        cut = buf.rfind("⟦")
        if cut != -1 and len(buf) - cut <= _MAX_PLACEHOLDER and _PARTIAL_RE.match(buf, cut):
            self._pending = buf[cut:]
            buf = buf[:cut]
        else:
            self._pending = ""
            if self._json:  # an escaped placeholder cut short: hold it back too (the earliest start)
                cut = buf.find("\\", max(0, len(buf) - _MAX_PLACEHOLDER))
                while cut != -1 and not _escaped_prefix(buf[cut:]):
                    cut = buf.find("\\", cut + 1)
                if cut != -1:
                    self._pending, buf = buf[cut:], buf[:cut]
        return _restore(buf, self._mapping, self._json)

    def finish(self) -> str:
        out, self._pending = _restore(self._pending, self._mapping, self._json), ""
        return out


class Restorer(StreamRestorer):
    """Puts redacted values back. ``feed``/``finish`` restore one stream of plain text; ``stream()``
    gives another independent stream over the same values (e.g. one per tool call's arguments:
    ``stream(json_string=True)``)."""

    def __init__(self, mapping: dict[str, str] | None = None):
        self.mapping = dict(mapping or {})
        super().__init__(self.mapping)

    def restore(self, text: str, json_string: bool = False) -> str:
        """``text`` with the values back; ``json_string``: ``text`` is JSON source, so each value
        goes in escaped for a JSON string (``⟦secret-1⟧`` -> ``a\\"b`` for ``a"b``)."""
        return _restore(text, self.mapping, json_string)

    def restore_json(self, obj: Any) -> Any:
        """Restore every string (and key) inside a parsed JSON value."""
        if isinstance(obj, str):
            return self.restore(obj)
        if isinstance(obj, list):
            return [self.restore_json(v) for v in obj]
        if isinstance(obj, dict):
            return {self.restore(k) if isinstance(k, str) else k: self.restore_json(v) for k, v in obj.items()}
        return obj

    def stream(self, json_string: bool = False) -> StreamRestorer:
        return StreamRestorer(self.mapping, json_string)

    def __len__(self) -> int:
        return len(self.mapping)


def _restore(text: str, mapping: dict[str, str], json_string: bool = False) -> str:
    if not mapping:
        return text

    def value(m: re.Match) -> str:
        found = mapping.get(f"⟦secret-{m.group(1)}⟧")
        if found is None:
            return m.group(0)
        return json.dumps(found, ensure_ascii=False)[1:-1] if json_string else found

    if "⟦" in text:
        text = PLACEHOLDER_RE.sub(value, text)
    if json_string and "\\u27" in text:
        text = ESCAPED_RE.sub(value, text)
    return text


def redact_request(protocol: str, body: dict, result: ScanResult) -> tuple[dict, Restorer]:
    """A copy of ``body`` with every finding of ``result`` replaced by a placeholder."""
    if result.error:
        raise RedactionError(f"the privacy scan failed ({result.error}); keep this request local")
    wanted: dict[str, list[Finding]] = {}
    for f in result.findings:
        if f.location.endswith("#key"):
            raise RedactionError(f"a private value is a JSON key at {f.location[:-4]}; keep this request local")
        wanted.setdefault(f.location, []).append(f)
    out = copy.deepcopy(body)
    by_value: dict[str, str] = {}
    done: set[str] = set()

    def replace(text: str, findings: list[Finding]) -> str:
        spans = sorted((f.start, f.end) for f in findings)
        merged: list[list[int]] = []
        for s, e in spans:
            if merged and s < merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], e)
            else:
                merged.append([s, e])
        for s, e in reversed(merged):
            value = text[s:e]
            ph = by_value.get(value)
            if ph is None:
                ph = by_value[value] = f"⟦secret-{len(by_value) + 1}⟧"
            text = text[:s] + ph + text[e:]
        return text

    def walk(node: Any, loc: str) -> Any:
        if isinstance(node, str):
            if loc in wanted:
                done.add(loc)
                return replace(node, wanted[loc])
            return node
        if isinstance(node, dict):
            for k in list(node):
                node[k] = walk(node[k], f"{loc}.{k}" if loc else str(k))
        elif isinstance(node, list):
            for i in range(len(node)):
                node[i] = walk(node[i], f"{loc}[{i}]")
        return node

    out = walk(out, "")
    missing = set(wanted) - done
    if missing:
        raise RedactionError(f"cannot find {sorted(missing)[0]} in the request to redact it; keep it local")
    return out, Restorer({ph: value for value, ph in by_value.items()})
