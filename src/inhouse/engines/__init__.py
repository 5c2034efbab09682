"""Engines: the only code in inhouse that talks to a model. See ``base.Engine``."""

from __future__ import annotations

from ..errors import ConfigError
from .base import (
    ChatRequest,
    ChatResult,
    Engine,
    Event,
    Finished,
    ReasoningDelta,
    ServerTimings,
    Started,
    TextDelta,
    ToolCall,
    Usage,
    collect,
)

__all__ = [
    "ChatRequest", "ChatResult", "Engine", "Event", "Finished", "ReasoningDelta", "ServerTimings",
    "Started", "TextDelta", "ToolCall", "Usage", "collect", "open_engine",
]


def open_engine(
    model: str | None = None,
    *,
    endpoint: str | None = None,
    api_key: str | None = None,
    n_ctx: int | None = None,
    n_threads: int | None = None,
    chat_template: str | None = None,
    store=None,
) -> Engine:
    """The engine for a model name/path (in-process llama.cpp) or an endpoint URL (OpenAI API).

    >>> engine = open_engine()                        # the default model, in-process
    >>> engine = open_engine("qwen2.5-coder:7b", endpoint="http://127.0.0.1:11434")
    """
    if endpoint:
        from .openai_http import OpenAIEngine

        if chat_template:
            raise ConfigError("a chat template is the server's to set (e.g. llama-server --chat-template-file); "
                              "--chat-template applies to the in-process engine only")
        return OpenAIEngine(endpoint, model=model, api_key=api_key)
    from ..models.discover import resolve_model
    from .llama_cpp import LlamaCppEngine

    info = resolve_model(model, store=store)
    return LlamaCppEngine(info.path, n_ctx=n_ctx, n_threads=n_threads, model_name=info.name,
                          chat_template=chat_template)
