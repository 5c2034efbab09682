"""Tool calls a local model wrote as text, turned into structured OpenAI tool calls.

Recognised, for declared tools only (anything else stays text, untouched):

* ``<tool_call>{"name": ..., "arguments": {...}}</tool_call>`` (Hermes, Qwen 2.5), several of
  them, the closing tag optional at the very end; inside the tag also Qwen3-Coder's
  ``<function=NAME><parameter=KEY>value</parameter></function>``;
* a fenced block (```json or a bare ```) holding such an object, or a list of them;
* a reply that is nothing but such a JSON object (or a list of them).

An object names a call as ``{"name", "arguments" | "parameters" | "input"}`` or
``{"function": {"name", "arguments"}}``; arguments may be an object or a JSON string of one.

:class:`StreamRepair` does it on a stream: it passes text through as it comes and holds back only
what may be the start of a call. :func:`repair_tool_calls` is the same machine fed the whole text,
so both give the same result for any split of the same text.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

TAG_OPEN, TAG_CLOSE = "<tool_call>", "</tool_call>"
FENCE = "```"
_MARKERS = (TAG_OPEN, FENCE)
_CALL_FENCE_LANGS = ("", "json", "tool_call", "tool_code")
_FUNCTION = re.compile(r"<function=([^>\s]+)>(.*?)</function>", re.S)
_PARAMETER = re.compile(r"<parameter=([^>\s]+)>\n?(.*?)\n?</parameter>", re.S)


def declared_tools(tools: list[dict] | None) -> dict[str, dict]:
    """Name -> JSON schema of the parameters, from OpenAI (``function``) or Anthropic (``name``) tools."""
    out = {}
    for tool in tools or []:
        function = tool.get("function") if isinstance(tool.get("function"), dict) else tool
        name = function.get("name")
        if isinstance(name, str) and name:
            out[name] = function.get("parameters") or function.get("input_schema") or {}
    return out


def _arguments(value: Any) -> dict | None:
    if value is None:
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else {}
        except ValueError:
            return None
    return value if isinstance(value, dict) else None


def _call_from_object(obj: Any, tools: dict[str, dict]) -> dict | None:
    if not isinstance(obj, dict):
        return None
    if isinstance(obj.get("function"), dict):
        obj = obj["function"]
    name = obj.get("name")
    if not isinstance(name, str) or name not in tools:
        return None
    keys = [k for k in ("arguments", "parameters", "input") if k in obj]
    if len(keys) > 1 or set(obj) - {"name", "type", "id", *keys}:
        return None
    arguments = _arguments(obj[keys[0]] if keys else None)
    if arguments is None:
        return None
    return {
        "id": "call_" + uuid.uuid4().hex[:24],
        "type": "function",
        "function": {"name": name, "arguments": json.dumps(arguments, ensure_ascii=False)},
    }


def _calls_from_json(text: str, tools: dict[str, dict]) -> list[dict] | None:
    """The call(s) a JSON text names, or None when it is not (only) calls of declared tools."""
    try:
        value = json.loads(text)
    except ValueError:
        return None
    items = value if isinstance(value, list) else [value]
    calls = [_call_from_object(item, tools) for item in items]
    if not calls or any(call is None for call in calls):
        return None
    return calls  # type: ignore[return-value]


def _calls_from_xml(text: str, tools: dict[str, dict]) -> list[dict] | None:
    """Qwen3-Coder's ``<function=NAME><parameter=KEY>value</parameter></function>``."""
    calls = []
    position = 0
    for match in _FUNCTION.finditer(text):
        if text[position:match.start()].strip():
            return None
        position = match.end()
        name, body = match.group(1), match.group(2)
        schema = (tools.get(name) or {}).get("properties") or {}
        arguments: dict[str, Any] = {}
        for key, raw in _PARAMETER.findall(body):
            if (schema.get(key) or {}).get("type") == "string":
                arguments[key] = raw
            else:
                try:
                    arguments[key] = json.loads(raw)
                except ValueError:
                    arguments[key] = raw
        call = _call_from_object({"name": name, "arguments": arguments}, tools)
        if call is None:
            return None
        calls.append(call)
    if not calls or text[position:].strip():
        return None
    return calls


def _tagged_calls(inner: str, tools: dict[str, dict]) -> list[dict] | None:
    inner = inner.strip()
    if inner.startswith("<function="):
        return _calls_from_xml(inner, tools)
    return _calls_from_json(inner, tools)


def _partial_marker(text: str) -> int:
    """Length of the longest tail of ``text`` that is a proper start of a marker."""
    for size in range(min(len(text), max(map(len, _MARKERS)) - 1), 0, -1):
        tail = text[-size:]
        if any(marker.startswith(tail) and marker != tail for marker in _MARKERS):
            return size
    return 0


class _JsonEnd:
    """Finds where a JSON value that starts a text ends, reading each character once."""

    def __init__(self) -> None:
        self.position = 0
        self.depth = 0
        self.in_string = False
        self.escape = False
        self.end: int | None = None

    def scan(self, text: str) -> int | None:
        while self.end is None and self.position < len(text):
            char = text[self.position]
            self.position += 1
            if self.in_string:
                if self.escape:
                    self.escape = False
                elif char == "\\":
                    self.escape = True
                elif char == '"':
                    self.in_string = False
            elif char == '"':
                self.in_string = True
            elif char in "{[":
                self.depth += 1
            elif char in "}]":
                self.depth -= 1
                if self.depth <= 0:
                    self.end = self.position
        return self.end


def _plausible_json_start(text: str) -> bool | None:
    """Whether ``text`` (starting with { or [) can still be a call object; None: cannot tell yet."""
    rest = text[1:].lstrip()
    if not rest:
        return None
    if text[0] == "{":
        return rest[0] in '"}'
    if rest[0] != "{":
        return False
    inner = rest[1:].lstrip()
    return None if not inner else inner[0] in '"}'


class StreamRepair:
    """Streaming tool-call repair: ``feed(delta) -> (text, calls)``, then ``finish() -> (text, calls)``.

    Text is passed on as soon as it cannot be part of a call; a call is returned as soon as it is
    complete (a lone JSON reply only at ``finish``, when nothing followed it). Whitespace next to a
    removed call is dropped at the reply's start and end; ``repairs`` counts the calls made.
    """

    def __init__(self, tools: list[dict] | None) -> None:
        self.tools = declared_tools(tools)
        self.repairs = 0
        self._buffer = ""
        self._held_space = ""
        self._emitted = False
        self._at_start = True
        self._in_fence = False  # inside a code fence that cannot hold a call
        self._json: _JsonEnd | None = None
        self._out: list[str] = []
        self._calls: list[dict] = []

    def feed(self, delta: str) -> tuple[str, list[dict]]:
        if not self.tools:
            return delta, []
        self._buffer += delta
        self._drain(final=False)
        return self._take()

    def finish(self) -> tuple[str, list[dict]]:
        if not self.tools:
            return "", []
        self._drain(final=True)
        if not self.repairs:
            self._out.append(self._held_space)
        self._held_space = ""
        return self._take()

    # ------------------------------------------------------------------ internals

    def _take(self) -> tuple[str, list[dict]]:
        text, calls = "".join(self._out), self._calls
        self._out, self._calls = [], []
        return text, calls

    def _text(self, text: str) -> None:
        if not text:
            return
        text = self._held_space + text
        if not text.strip():
            self._held_space = text
            return
        if not self._emitted and self.repairs:
            text = text.lstrip()
        body = text.rstrip()
        self._held_space = text[len(body):]
        self._out.append(body)
        self._emitted = True

    def _found(self, calls: list[dict]) -> None:
        self._calls.extend(calls)
        self.repairs += len(calls)
        if not self._emitted:
            self._held_space = ""

    def _drain(self, final: bool) -> None:
        while self._buffer:
            if self._in_fence:
                if not self._plain_fence(final):
                    return
            elif self._at_start:
                if not self._lone_json(final):
                    return
            elif not self._marker(final):
                return

    def _plain_fence(self, final: bool) -> bool:
        end = self._buffer.find(FENCE)
        if end < 0:
            keep = 0 if final else len(self._buffer) - len(self._buffer.rstrip("`"))
            self._text(self._buffer[:len(self._buffer) - keep])
            self._buffer = self._buffer[len(self._buffer) - keep:]
            return False
        self._text(self._buffer[:end + len(FENCE)])
        self._buffer = self._buffer[end + len(FENCE):]
        self._in_fence = False
        return True

    def _lone_json(self, final: bool) -> bool:
        stripped = self._buffer.lstrip()
        if not stripped:
            if final:
                self._text(self._buffer)
                self._buffer = ""
            return False
        if stripped[0] not in "{[":
            self._at_start = False
            return True
        plausible = _plausible_json_start(stripped)
        if plausible is None and not final:
            return False
        if plausible:
            lead = len(self._buffer) - len(stripped)
            self._json = self._json or _JsonEnd()
            end = self._json.scan(stripped)
            if end is None and not final:
                return False
            if end is not None:
                rest = stripped[end:]
                if not rest.strip() and not final:
                    return False  # a complete call, unless more text follows
                calls = _calls_from_json(stripped[:end], self.tools) if not rest.strip() else None
                if calls:
                    self._text(self._buffer[:lead])
                    self._found(calls)
                    self._buffer = ""
                    return False
        self._at_start = False
        return True

    def _marker(self, final: bool) -> bool:
        buffer = self._buffer
        found = [(buffer.find(marker), marker) for marker in _MARKERS]
        found = [(i, m) for i, m in found if i >= 0]
        if not found:
            keep = 0 if final else _partial_marker(buffer)
            self._text(buffer[:len(buffer) - keep])
            self._buffer = buffer[len(buffer) - keep:]
            return False
        start, marker = min(found)
        self._text(buffer[:start])
        buffer = self._buffer = buffer[start:]
        if marker == TAG_OPEN:
            end = buffer.find(TAG_CLOSE, len(TAG_OPEN))
            if end < 0:
                if not final:
                    return False
                calls = _tagged_calls(buffer[len(TAG_OPEN):], self.tools)  # closing tag never came
                segment = buffer
            else:
                segment = buffer[:end + len(TAG_CLOSE)]
                calls = _tagged_calls(buffer[len(TAG_OPEN):end], self.tools)
        else:
            newline = buffer.find("\n", len(FENCE))
            if newline < 0:
                if not final:
                    return False
                self._text(buffer)
                self._buffer = ""
                return False
            lang = buffer[len(FENCE):newline].strip().lower()
            if lang not in _CALL_FENCE_LANGS:
                self._text(buffer[:newline + 1])
                self._buffer = buffer[newline + 1:]
                self._in_fence = True
                return True
            end = buffer.find(FENCE, newline + 1)
            if end < 0:
                if not final:
                    return False
                self._text(buffer)
                self._buffer = ""
                return False
            segment = buffer[:end + len(FENCE)]
            calls = _calls_from_json(buffer[newline + 1:end], self.tools)
        if calls:
            self._found(calls)
        else:
            self._text(segment)
        self._buffer = buffer[len(segment):]
        return True


def repair_tool_calls(text: str, tools: list[dict] | None) -> tuple[str, list[dict]]:
    """``(text left, tool calls)`` for a whole reply; the text is unchanged when no call was found."""
    repair = StreamRepair(tools)
    first_text, first_calls = repair.feed(text)
    last_text, last_calls = repair.finish()
    return first_text + last_text, first_calls + last_calls
