"""Whole (non-streamed) responses: OpenAI ChatCompletion <-> Anthropic Message."""

from __future__ import annotations

import time
from typing import Any

from .common import (
    assistant_message,
    anthropic_stop_reason,
    anthropic_usage,
    openai_finish_reason,
    openai_usage,
    parse_arguments,
    strip_prefix,
)


def reasoning_of(message: dict) -> str:
    """The reasoning text a server put beside the answer (llama.cpp/DeepSeek/vLLM name it differently)."""
    for key in ("reasoning_content", "reasoning"):
        value = message.get(key)
        if isinstance(value, str) and value:
            return value
    return ""


def openai_to_anthropic_response(resp: dict, *, model: str) -> dict:
    """An OpenAI ``chat.completion`` object as an Anthropic ``message`` object for ``model``."""
    choices = resp.get("choices") or [{}]
    choice = choices[0]
    message = choice.get("message") or {}
    content: list[dict] = []
    reasoning = reasoning_of(message)
    if reasoning:
        content.append({"type": "thinking", "thinking": reasoning, "signature": ""})
    text = message.get("content")
    if isinstance(text, list):  # some servers answer with content parts
        text = "".join(p.get("text", "") for p in text if isinstance(p, dict))
    if text:
        content.append({"type": "text", "text": text})
    calls = message.get("tool_calls") or []
    for call in calls:
        function = call.get("function") or {}
        content.append({
            "type": "tool_use",
            "id": call.get("id") or f"toolu_{len(content)}",
            "name": function.get("name", ""),
            "input": parse_arguments(function.get("arguments")),
        })
    return {
        "id": "msg_" + strip_prefix(str(resp.get("id") or "gateway"), "chatcmpl-"),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": anthropic_stop_reason(choice.get("finish_reason"), has_tool_calls=bool(calls)),
        "stop_sequence": None,
        "usage": anthropic_usage(resp.get("usage")),
    }


def anthropic_to_openai_response(resp: dict, *, model: str, created: int | None = None) -> dict:
    """An Anthropic ``message`` object as an OpenAI ``chat.completion`` object for ``model``."""
    message = assistant_message(resp.get("content") or [])
    return {
        "id": "chatcmpl-" + strip_prefix(str(resp.get("id") or "gateway"), "msg_"),
        "object": "chat.completion",
        "created": int(time.time()) if created is None else created,
        "model": model,
        "choices": [{
            "index": 0,
            "message": message,
            "finish_reason": openai_finish_reason(resp.get("stop_reason")),
            "logprobs": None,
        }],
        "usage": openai_usage(resp.get("usage")),
    }
