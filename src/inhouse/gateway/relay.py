"""A backend's reply turned into the client's: whole bodies and SSE streams, with tool-call
repair for local backends and the usage the ledger needs collected on the way."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from ..errors import ProtocolError
from . import translate
from .repair import StreamRepair, repair_tool_calls
from .sse import MAX_LINE_BYTES, SSEParser, format_sse


@dataclass
class Usage:
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    reasoning_tokens: int | None = None
    counted_by: str = "backend"   # or "local tokenizer"

    def take_openai(self, usage: dict[str, Any] | None) -> None:
        if not isinstance(usage, dict):
            return
        if isinstance(usage.get("prompt_tokens"), int):
            self.prompt_tokens = usage["prompt_tokens"]
        if isinstance(usage.get("completion_tokens"), int):
            self.completion_tokens = usage["completion_tokens"]
        details = usage.get("completion_tokens_details") or {}
        if isinstance(details, dict) and isinstance(details.get("reasoning_tokens"), int):
            self.reasoning_tokens = details["reasoning_tokens"]

    def take_anthropic(self, usage: dict[str, Any] | None) -> None:
        if not isinstance(usage, dict):
            return
        inputs = [usage.get(k) for k in ("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")]
        if isinstance(inputs[0], int):
            self.prompt_tokens = sum(n for n in inputs if isinstance(n, int))
        if isinstance(usage.get("output_tokens"), int):
            self.completion_tokens = usage["output_tokens"]


def repair_response(resp: dict[str, Any], tools: list[dict]) -> int:
    """Tool calls written as text in an OpenAI response's message become structured ones (in place);
    returns how many were repaired."""
    repaired = 0
    for choice in resp.get("choices") or []:
        message = choice.get("message") or {}
        text = message.get("content")
        if message.get("tool_calls") or not isinstance(text, str) or not text:
            continue
        left, calls = repair_tool_calls(text, tools)
        if calls:
            message["content"] = left or None
            message["tool_calls"] = calls
            choice["finish_reason"] = "tool_calls"
            repaired += len(calls)
    return repaired


def convert_response(data: dict[str, Any], *, client: str, backend: str, model: str,
                     tools: list[dict] | None, repair: bool) -> tuple[dict[str, Any], Usage, int]:
    """A whole backend response -> (client response, usage, tool repairs)."""
    usage = Usage()
    repairs = 0
    if backend == "openai":
        usage.take_openai(data.get("usage"))
        if repair and tools:
            repairs = repair_response(data, tools)
        if client == "anthropic":
            data = translate.openai_to_anthropic_response(data, model=model)
    else:
        usage.take_anthropic(data.get("usage"))
        if client == "openai":
            data = translate.anthropic_to_openai_response(data, model=model)
    return data, usage, repairs


class ChunkRepair:
    """Tool calls written as text in streamed OpenAI chunks become tool_calls deltas."""

    def __init__(self, tools: list[dict]) -> None:
        self.repair = StreamRepair(tools)
        self.native = False
        self.repaired = 0
        self.calls: list[dict[str, Any]] = []  # complete calls found so far, sent with the finish

    def feed(self, chunk: dict[str, Any]) -> list[dict[str, Any]]:
        choices = chunk.get("choices") or []
        if self.native or not choices:
            return [chunk]
        choice = choices[0]
        delta = choice.get("delta") or {}
        if delta.get("tool_calls"):
            self.native = True
            return [chunk]
        out: list[dict[str, Any]] = []
        content = delta.get("content")
        finish = choice.get("finish_reason")
        if isinstance(content, str) and content:
            text, calls = self.repair.feed(content)
            self.calls.extend(calls)
            delta = {**delta, "content": text}
        if finish is None:
            if delta.get("content") or set(delta) - {"content"}:
                out.append(_with(chunk, delta, None))
            return out
        if delta.get("content") or set(delta) - {"content"}:
            out.append(_with(chunk, delta, None))
        text, calls = self.repair.finish()
        calls, self.calls = self.calls + calls, []
        if text:
            out.append(_with(chunk, {"content": text}, None))
        if calls:
            self.repaired += len(calls)
            out.append(_with(chunk, {"tool_calls": [
                {"index": i, "id": c["id"], "type": "function",
                 "function": {"name": c["function"]["name"], "arguments": c["function"]["arguments"]}}
                for i, c in enumerate(calls)]}, None))
            finish = "tool_calls"
        out.append(_with(chunk, {}, finish))
        return out


def _with(chunk: dict[str, Any], delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
    choice = {**chunk["choices"][0], "delta": delta, "finish_reason": finish}
    return {**chunk, "choices": [choice]}


@dataclass
class StreamRelay:
    """Backend SSE bytes in, client SSE bytes out. ``complete`` says the backend ended the stream
    properly ([DONE] or message_stop); anything else is a mid-stream failure for the caller.

    Same protocol on both sides and nothing to repair: the bytes pass through as they came, and
    only the events that carry usage or the end marker are parsed (with ``\n`` line endings,
    which every server in use sends; a stream with ``\r`` falls back to parsing every event)."""

    client: str
    backend: str
    model: str
    tools: list[dict] | None = None
    repair: bool = False
    usage: Usage = field(default_factory=Usage)
    complete: bool = False
    keep_text: bool = True  # collect the reply's text (to count its tokens when the backend sends no usage)

    def __post_init__(self) -> None:
        self.parser = SSEParser()
        self.fixer = ChunkRepair(self.tools) if (self.repair and self.tools and self.backend == "openai") else None
        self.passthrough = self.client == self.backend and self.fixer is None
        self.o2a = translate.OpenAIToAnthropicStream(self.model) if (
            self.backend == "openai" and self.client == "anthropic") else None
        self.a2o = translate.AnthropicToOpenAIStream(self.model) if (
            self.backend == "anthropic" and self.client == "openai") else None
        self._finished = False
        self._text: list[str] = []
        self._fast = self.passthrough   # passthrough: parse only the events that matter
        self._tail = b""                # the incomplete event at the end of what came so far
        self._raw: list[bytes] = []     # passthrough events kept for their text (keep_text)

    @property
    def repaired(self) -> int:
        return self.fixer.repaired if self.fixer else 0

    @property
    def streamed_text(self) -> list[str]:
        """The reply's text so far (content / text deltas)."""
        if self._raw:  # passthrough events not parsed yet
            raw, self._raw = self._raw, []
            for event, text in SSEParser().feed(b"\n\n".join(raw) + b"\n\n"):
                self._collect(event, text)
        return self._text

    def feed(self, data: bytes) -> bytes:
        if self._fast:
            self._feed_fast(data)
            return data
        out: list[bytes] = []
        for event, text in self.parser.feed(data):
            out.extend(self._event(event, text))
        return data if self.passthrough else b"".join(out)

    def _feed_fast(self, data: bytes) -> None:
        buf = self._tail + data if self._tail else data
        if b"\r" in buf:  # another line ending: from here on, the spec's parser (from an event boundary)
            self._fast, self._tail = False, b""
            for event, text in self.parser.feed(buf):
                self._event(event, text)
            return
        *events, self._tail = buf.split(b"\n\n")
        if len(self._tail) > MAX_LINE_BYTES:
            raise ProtocolError(f"an SSE event is longer than {MAX_LINE_BYTES} bytes; the backend is not "
                                "sending server-sent events.")
        for raw in events:
            if self.backend == "openai":
                if b"[DONE]" in raw or _USAGE_RE.search(raw):
                    for event, text in SSEParser().feed(raw + b"\n\n"):
                        self._note(event, text)
                    continue
            elif b"event: message_" in raw or b"event:message_" in raw:
                for event, text in SSEParser().feed(raw + b"\n\n"):
                    self._note(event, text)
                continue
            if self.keep_text:
                self._raw.append(raw)

    def _note(self, event: str | None, text: str) -> None:
        """What the ledger needs from one passed-through event: usage, the end marker, the text."""
        if self.backend == "openai" and text.strip() == "[DONE]":
            self.complete = True
            return
        data = _loads(text)
        if data is None:
            return
        if self.backend == "openai":
            self.usage.take_openai(data.get("usage"))
        else:
            self._anthropic_meta(event, data)
        if self.keep_text:
            self._collect(event, text)

    def _anthropic_meta(self, event: str | None, data: dict[str, Any]) -> None:
        """Usage and the end marker from an Anthropic stream's message_* events."""
        if event == "message_start":
            self.usage.take_anthropic((data.get("message") or {}).get("usage"))
        elif event == "message_delta":
            usage = data.get("usage") or {}
            if isinstance(usage.get("output_tokens"), int):
                self.usage.completion_tokens = usage["output_tokens"]
        elif event == "message_stop":
            self.complete = True

    def _collect(self, event: str | None, text: str) -> None:
        data = _loads(text)
        if data is not None:
            self._take_text(event, data)

    def _take_text(self, event: str | None, data: dict[str, Any]) -> None:
        """The reply's text in one parsed event (OpenAI content deltas, Anthropic text deltas)."""
        if self.backend == "openai":
            for choice in data.get("choices") or []:
                piece = (choice.get("delta") or {}).get("content")
                if isinstance(piece, str):
                    self._text.append(piece)
        elif event == "content_block_delta":
            piece = (data.get("delta") or {}).get("text")
            if isinstance(piece, str):
                self._text.append(piece)

    def finish(self) -> bytes:
        """What remains to send once the backend's stream has ended properly."""
        if self._finished or self.passthrough:
            return b""
        self._finished = True
        if self.o2a is not None:
            return b"".join(format_sse(e, d) for e, d in self.o2a.finish())
        if self.a2o is not None:
            return b"".join(format_sse(None, c) for c in self.a2o.finish()) + format_sse(None, "[DONE]")
        return b""

    def _event(self, event: str | None, text: str) -> list[bytes]:
        if self.backend == "openai":
            if text.strip() == "[DONE]":
                self.complete = True
                if self.client == "openai":
                    return [format_sse(None, "[DONE]")]
                return []
            chunk = _loads(text)
            if chunk is None:
                return []
            if chunk.get("usage"):
                self.usage.take_openai(chunk["usage"])
            self._take_text(None, chunk)
            chunks = self.fixer.feed(chunk) if self.fixer else [chunk]
            if self.client == "openai":
                return [format_sse(None, c) for c in chunks]
            return [format_sse(e, d) for c in chunks for e, d in self.o2a.feed(c)]
        data = _loads(text)
        if data is None:
            return []
        self._anthropic_meta(event, data)
        self._take_text(event, data)
        if self.client == "anthropic":
            return [format_sse(event, data)]
        return [format_sse(None, c) for c in self.a2o.feed(event or "message", data)]


_USAGE_RE = re.compile(rb'"usage"\s*:\s*\{')


def _loads(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
