"""The one interface everything in inhouse uses to talk to a model.

An ``Engine`` turns a ``ChatRequest`` into a stream of events. Timestamps are taken where tokens
are produced (``time.perf_counter()`` in this process: right after llama.cpp samples a token, or
right after an SSE chunk is read off the socket), so bench measures the engine, not its consumer.

    Started -> (TextDelta | ReasoningDelta)* -> ToolCall* -> Usage? -> ServerTimings? -> Finished

Engines declare what they can do as class attributes (``supports_tools``, ...) and translate
their own exceptions into ``InhouseError`` subclasses before they reach the caller.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Iterator, Union


def now() -> float:
    """The clock every event uses."""
    return time.perf_counter()


@dataclass
class ChatRequest:
    """One chat completion request, in OpenAI message shape."""

    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]] | None = None
    max_tokens: int = 256
    temperature: float = 0.0
    seed: int | None = 0
    stop: list[str] = field(default_factory=list)
    # Reasoning switch for models whose chat template has one (``enable_thinking``): True, False,
    # or None for the model's default. Engines that cannot pass it on raise UnsupportedFeature.
    thinking: bool | None = None

    @classmethod
    def from_prompt(cls, prompt: str, system: str | None = None, **kw: Any) -> "ChatRequest":
        messages = [{"role": "system", "content": system}] if system else []
        messages.append({"role": "user", "content": prompt})
        return cls(messages=messages, **kw)


@dataclass(frozen=True)
class Started:
    """The request has been handed to the model (prompt tokens submitted or request sent)."""

    t: float
    prompt_tokens: int | None = None  # exact when the engine tokenizes itself


@dataclass(frozen=True)
class TextDelta:
    text: str
    t: float
    n_tokens: int | None = None  # exact token count this piece carries, when the engine knows it


@dataclass(frozen=True)
class ReasoningDelta:
    text: str
    t: float
    n_tokens: int | None = None


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: str  # raw JSON text, as the model wrote it: scorers judge its validity
    t: float


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int
    completion_tokens: int
    t: float
    reasoning_tokens: int | None = None


@dataclass(frozen=True)
class ServerTimings:
    """Timings the model runner measured itself (llama.cpp perf counters, server ``timings``,
    Ollama's durations), to compare with inhouse's own clock."""

    prompt_n: int | None
    prompt_s: float | None
    predicted_n: int | None
    predicted_s: float | None
    source: str
    t: float


@dataclass(frozen=True)
class Finished:
    finish_reason: str  # "stop", "length", "tool_calls"
    t: float


Event = Union[Started, TextDelta, ReasoningDelta, ToolCall, Usage, ServerTimings, Finished]


@dataclass
class ChatResult:
    """A whole reply, gathered from an event stream by ``collect``."""

    text: str = ""
    reasoning: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    usage: Usage | None = None
    timings: ServerTimings | None = None
    finish_reason: str | None = None
    events: list[Event] = field(default_factory=list)


def collect(events: Iterator[Event]) -> ChatResult:
    """Drain an event stream into a ``ChatResult`` (keeping the events for timing)."""
    result = ChatResult()
    for ev in events:
        result.events.append(ev)
        if isinstance(ev, TextDelta):
            result.text += ev.text
        elif isinstance(ev, ReasoningDelta):
            result.reasoning += ev.text
        elif isinstance(ev, ToolCall):
            result.tool_calls.append(ev)
        elif isinstance(ev, Usage):
            result.usage = ev
        elif isinstance(ev, ServerTimings):
            result.timings = ev
        elif isinstance(ev, Finished):
            result.finish_reason = ev.finish_reason
    return result


class Engine(ABC):
    """A model behind one call shape: ``generate(request) -> iterator of events``."""

    name: str = "engine"
    can_stream: bool = True
    supports_tools: bool = False
    supports_reasoning: bool = False
    # Whether request.thinking reaches the model: True, False, or None when only the server knows
    thinking_switch: bool | None = None
    reports_usage: bool = False  # exact token counts for every reply
    reports_timings: bool = False  # the runner's own timings (ServerTimings)

    model_name: str = ""

    @abstractmethod
    def generate(self, request: ChatRequest) -> Iterator[Event]:
        """Stream the reply to ``request`` as events; raises ``EngineError`` subclasses."""

    def chat(self, request: ChatRequest) -> ChatResult:
        return collect(self.generate(request))

    def capabilities(self) -> dict[str, bool]:
        return {
            "can_stream": self.can_stream,
            "supports_tools": self.supports_tools,
            "supports_reasoning": self.supports_reasoning,
            "reports_usage": self.reports_usage,
            "reports_timings": self.reports_timings,
        }

    def close(self) -> None:
        """Free the model or connection; the engine cannot be used afterwards."""

    def __enter__(self) -> "Engine":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
