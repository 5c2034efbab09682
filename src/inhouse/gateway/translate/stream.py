"""Streams: OpenAI ``chat.completion.chunk`` objects <-> Anthropic message stream events.

Both translators are fed the upstream's parsed events one at a time and return what to send the
client. ``complete`` says whether the upstream ended its stream properly (finish_reason /
message_stop); a caller whose upstream ended without that should send ``stream_error_event``
instead of ``finish()``, which always closes the stream as a success.
"""

from __future__ import annotations

import time
from typing import Any

from .common import (
    anthropic_stop_reason,
    anthropic_usage,
    dump_arguments,
    openai_finish_reason,
    openai_usage,
    strip_prefix,
)
from .response import reasoning_of

Event = tuple[str, dict]


class OpenAIToAnthropicStream:
    """OpenAI chunks in, Anthropic ``(event, data)`` pairs out.

    A block (thinking, text or one tool call) is opened when its first delta arrives and closed
    when another kind starts; tool calls become ``tool_use`` blocks in the order of their OpenAI
    ``index``. Input tokens are unknown until the usage chunk, so ``message_start`` says 0 and
    ``message_delta`` carries the exact counts (its ``usage.input_tokens`` is cumulative).
    """

    def __init__(self, model: str) -> None:
        self.model = model
        self.finish_reason: str | None = None
        self.usage: dict | None = None
        self._id = "msg_gateway"
        self._started = False
        self._finished = False
        self._open: tuple[str, Any] | None = None  # ("text"|"thinking", None) or ("tool", openai index)
        self._next = 0  # next Anthropic block index
        self._tool_blocks: dict[int, int] = {}  # OpenAI tool index -> Anthropic block index
        self._pending: dict[int, dict] = {}  # tool calls seen before their name arrived

    @property
    def complete(self) -> bool:
        return self.finish_reason is not None

    def _start(self) -> list[Event]:
        if self._started:
            return []
        self._started = True
        return [("message_start", {"type": "message_start", "message": {
            "id": self._id, "type": "message", "role": "assistant", "model": self.model, "content": [],
            "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": 0, "output_tokens": 0},
        }})]

    def _close(self) -> list[Event]:
        if self._open is None:
            return []
        kind, key = self._open
        index = self._tool_blocks[key] if kind == "tool" else self._next - 1
        self._open = None
        return [("content_block_stop", {"type": "content_block_stop", "index": index})]

    def _open_block(self, kind: str, block: dict, key: Any = None) -> list[Event]:
        events = self._close()
        index = self._next
        self._next += 1
        if kind == "tool":
            self._tool_blocks[key] = index
        self._open = (kind, key)
        events.append(("content_block_start", {"type": "content_block_start", "index": index, "content_block": block}))
        return events

    def _delta(self, index: int, delta: dict) -> Event:
        return ("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta})

    def _text(self, kind: str, text: str) -> list[Event]:
        events: list[Event] = []
        if self._open != (kind, None):
            empty = {"type": "thinking", "thinking": "", "signature": ""} if kind == "thinking" else {"type": "text", "text": ""}
            events += self._open_block(kind, empty)
        if kind == "thinking":
            events.append(self._delta(self._next - 1, {"type": "thinking_delta", "thinking": text}))
        else:
            events.append(self._delta(self._next - 1, {"type": "text_delta", "text": text}))
        return events

    def _tool(self, call: dict) -> list[Event]:
        key = call.get("index", 0)
        function = call.get("function") or {}
        events: list[Event] = []
        if key not in self._tool_blocks:
            pending = self._pending.setdefault(key, {"id": None, "name": None, "arguments": ""})
            pending["id"] = pending["id"] or call.get("id")
            pending["name"] = pending["name"] or function.get("name")
            pending["arguments"] += function.get("arguments") or ""
            if not pending["name"]:
                return events
            del self._pending[key]
            block = {"type": "tool_use", "id": pending["id"] or f"toolu_{strip_prefix(self._id, 'msg_')}_{key}",
                     "name": pending["name"], "input": {}}
            events += self._open_block("tool", block, key)
            arguments = pending["arguments"]
        else:
            arguments = function.get("arguments") or ""
        if arguments:
            # Tool calls stream one after another; a late fragment of an earlier call still names its own block.
            events.append(self._delta(self._tool_blocks[key], {"type": "input_json_delta", "partial_json": arguments}))
        return events

    def feed(self, chunk: dict) -> list[Event]:
        if chunk.get("id") and not self._started:
            self._id = "msg_" + strip_prefix(str(chunk["id"]), "chatcmpl-")
        events = self._start()
        if chunk.get("usage"):
            self.usage = chunk["usage"]
        for choice in chunk.get("choices") or []:
            if choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            reasoning = reasoning_of(delta)
            if reasoning:
                events += self._text("thinking", reasoning)
            if isinstance(delta.get("content"), str) and delta["content"]:
                events += self._text("text", delta["content"])
            for call in delta.get("tool_calls") or []:
                events += self._tool(call)
            if choice.get("finish_reason"):
                self.finish_reason = choice["finish_reason"]
        return events

    def finish(self, *, usage: dict | None = None) -> list[Event]:
        """Close the open block and the message. ``usage`` (OpenAI form) replaces missing upstream counts."""
        if self._finished:
            return []
        self._finished = True
        events = self._start()
        for key, pending in list(self._pending.items()):  # a call whose name never came: keep what arrived
            pending["name"] = pending["name"] or "unknown"
            events += self._tool({"index": key, "id": pending["id"], "function": {"name": pending["name"]}})
        events += self._close()
        counts = self.usage or usage
        delta_usage = anthropic_usage(counts)
        stop = anthropic_stop_reason(self.finish_reason, has_tool_calls=bool(self._tool_blocks))
        events.append(("message_delta", {"type": "message_delta",
                                         "delta": {"stop_reason": stop, "stop_sequence": None},
                                         "usage": delta_usage}))
        events.append(("message_stop", {"type": "message_stop"}))
        return events


class AnthropicToOpenAIStream:
    """Anthropic ``(event, data)`` pairs in, OpenAI chunk dicts out.

    Each ``tool_use`` block becomes tool call number 0, 1, ... in order (its ``index`` in every
    delta), thinking becomes ``reasoning_content``, ``message_stop`` gives the chunk with the
    ``finish_reason`` and then, with ``include_usage``, a chunk with empty ``choices`` and the usage.
    An upstream ``error`` event becomes an OpenAI error chunk (``{"error": {...}}``).
    """

    def __init__(self, model: str, *, include_usage: bool = True, created: int | None = None) -> None:
        self.model = model
        self.include_usage = include_usage
        self.created = int(time.time()) if created is None else created
        self.stop_reason: str | None = None
        self.usage: dict = {}
        self._id = "chatcmpl-gateway"
        self._started = False
        self._stopped = False
        self._tools: dict[int, int] = {}  # Anthropic block index -> OpenAI tool call index

    @property
    def complete(self) -> bool:
        return self._stopped

    def _chunk(self, delta: dict, finish_reason: str | None = None) -> dict:
        return {"id": self._id, "object": "chat.completion.chunk", "created": self.created, "model": self.model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}]}

    def _start(self) -> list[dict]:
        if self._started:
            return []
        self._started = True
        return [self._chunk({"role": "assistant", "content": ""})]

    def _tool_delta(self, block_index: int, fragment: dict) -> dict:
        return self._chunk({"tool_calls": [{"index": self._tools[block_index], **fragment}]})

    def feed(self, event: str, data: dict) -> list[dict]:
        kind = data.get("type", event)
        if kind == "message_start":
            message = data.get("message") or {}
            if message.get("id"):
                self._id = "chatcmpl-" + strip_prefix(str(message["id"]), "msg_")
            self.usage.update({k: v for k, v in (message.get("usage") or {}).items() if v is not None})
            return self._start()
        if kind == "error":
            error = data.get("error") or {}
            return [{"error": {"message": error.get("message", "upstream error"),
                               "type": error.get("type", "api_error"), "param": None, "code": None}}]
        chunks = self._start()
        if kind == "content_block_start":
            block = data.get("content_block") or {}
            index = data.get("index", 0)
            if block.get("type") == "tool_use":
                self._tools[index] = len(self._tools)
                chunks.append(self._tool_delta(index, {"id": block.get("id", ""), "type": "function",
                                                       "function": {"name": block.get("name", ""), "arguments": ""}}))
                if block.get("input"):
                    chunks.append(self._tool_delta(index, {"function": {"arguments": dump_arguments(block["input"])}}))
            elif block.get("type") == "text" and block.get("text"):
                chunks.append(self._chunk({"content": block["text"]}))
            elif block.get("type") == "thinking" and block.get("thinking"):
                chunks.append(self._chunk({"reasoning_content": block["thinking"]}))
        elif kind == "content_block_delta":
            delta = data.get("delta") or {}
            index = data.get("index", 0)
            dtype = delta.get("type")
            if dtype == "text_delta" and delta.get("text"):
                chunks.append(self._chunk({"content": delta["text"]}))
            elif dtype == "thinking_delta" and delta.get("thinking"):
                chunks.append(self._chunk({"reasoning_content": delta["thinking"]}))
            elif dtype == "input_json_delta" and delta.get("partial_json") and index in self._tools:
                chunks.append(self._tool_delta(index, {"function": {"arguments": delta["partial_json"]}}))
        elif kind == "message_delta":
            self.stop_reason = (data.get("delta") or {}).get("stop_reason") or self.stop_reason
            self.usage.update({k: v for k, v in (data.get("usage") or {}).items() if v is not None})
        elif kind == "message_stop":
            chunks += self._end()
        return chunks

    def _end(self) -> list[dict]:
        if self._stopped:
            return []
        self._stopped = True
        chunks = self._start()
        chunks.append(self._chunk({}, openai_finish_reason(self.stop_reason)))
        if self.include_usage:
            chunks.append({"id": self._id, "object": "chat.completion.chunk", "created": self.created,
                           "model": self.model, "choices": [], "usage": openai_usage(self.usage)})
        return chunks

    def finish(self) -> list[dict]:
        """The closing chunks if ``message_stop`` has not sent them yet (see the module docstring)."""
        return self._end()
