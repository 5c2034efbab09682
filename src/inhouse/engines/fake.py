"""A scripted engine for tests: replies and timings are given, nothing is loaded.

    engine = FakeEngine()
    engine.enqueue(FakeReply(text="def add(a, b):\\n    return a + b", token_interval_s=0.01))
    engine.chat(ChatRequest.from_prompt("write add")).text

Each reply streams its text one "token" (whitespace-separated piece) at a time; ``history`` keeps
every request the engine received so tests can check what was sent.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Iterator

from ..errors import EngineError
from ._tags import TagSplitter
from .base import (
    ChatRequest,
    Engine,
    Event,
    Finished,
    ReasoningDelta,
    Started,
    TextDelta,
    ToolCall,
    Usage,
    now,
)


@dataclass
class FakeReply:
    text: str = ""
    tool_calls: list[tuple[str, str]] = field(default_factory=list)  # (name, arguments JSON)
    first_token_delay_s: float = 0.0
    token_interval_s: float = 0.0
    error: Exception | None = None  # raised after the text has streamed


def _pieces(text: str) -> list[str]:
    return re.findall(r"\s*\S+|\s+$", text)


class FakeEngine(Engine):
    name = "fake"
    supports_tools = True
    supports_reasoning = True
    reports_usage = True
    thinking_switch = True

    def __init__(self, replies: list[FakeReply] | None = None, model_name: str = "fake") -> None:
        self.queue: list[FakeReply] = list(replies or [])
        self.history: list[ChatRequest] = []
        self.model_name = model_name
        self.default = FakeReply(text="Hello from the fake engine.")

    def enqueue(self, *replies: FakeReply) -> None:
        self.queue.extend(replies)

    def generate(self, request: ChatRequest) -> Iterator[Event]:
        self.history.append(request)
        reply = self.queue.pop(0) if self.queue else self.default
        prompt_tokens = sum(len(_pieces(str(m.get("content") or ""))) for m in request.messages)
        yield Started(t=now(), prompt_tokens=prompt_tokens)
        time.sleep(reply.first_token_delay_s)
        splitter = TagSplitter({"think": "reasoning"})
        n = 0
        n_reasoning = 0
        finish = "stop"
        for i, piece in enumerate(_pieces(reply.text)):
            if n >= request.max_tokens:
                finish = "length"
                break
            if i:
                time.sleep(reply.token_interval_s)
            n += 1
            t = now()
            for kind, text in splitter.feed(piece):
                if kind == "reasoning":
                    n_reasoning += 1
                    yield ReasoningDelta(text=text, t=t, n_tokens=1)
                else:
                    yield TextDelta(text=text, t=t, n_tokens=1)
        t = now()
        for kind, text in splitter.flush():
            yield (ReasoningDelta if kind == "reasoning" else TextDelta)(text=text, t=t, n_tokens=0)
        if reply.error is not None:
            raise reply.error if isinstance(reply.error, EngineError) else EngineError(str(reply.error))
        for i, (name, args) in enumerate(reply.tool_calls):
            yield ToolCall(id=f"call_{i}", name=name, arguments=args, t=t)
        yield Usage(prompt_tokens=prompt_tokens, completion_tokens=n, t=t,
                    reasoning_tokens=n_reasoning or None)
        yield Finished(finish_reason="tool_calls" if reply.tool_calls else finish, t=t)
