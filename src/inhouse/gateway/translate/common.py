"""What both directions of the translation share: stop reasons, usage, ids, the error raised."""

from __future__ import annotations

import json
from typing import Any

from ...errors import UnsupportedFeature


class TranslationError(UnsupportedFeature):
    """The request uses something the other protocol cannot express (the gateway answers 400)."""


# OpenAI finish_reason -> Anthropic stop_reason
OPENAI_TO_ANTHROPIC_STOP = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}

# Anthropic stop_reason -> OpenAI finish_reason
ANTHROPIC_TO_OPENAI_STOP = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "pause_turn": "stop",
    "refusal": "content_filter",
}


def anthropic_stop_reason(finish_reason: str | None, *, has_tool_calls: bool) -> str:
    """The Anthropic stop_reason for an OpenAI finish_reason.

    Some local servers end a turn that called tools with ``stop``; a turn with tool calls that
    ended naturally is ``tool_use`` either way, or the client would not run the tools.
    """
    if has_tool_calls and finish_reason in (None, "stop", "tool_calls", "function_call"):
        return "tool_use"
    return OPENAI_TO_ANTHROPIC_STOP.get(finish_reason or "stop", "end_turn")


def openai_finish_reason(stop_reason: str | None) -> str:
    return ANTHROPIC_TO_OPENAI_STOP.get(stop_reason or "end_turn", "stop")


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def anthropic_usage(usage: dict | None) -> dict:
    """OpenAI ``usage`` -> Anthropic ``usage``.

    Anthropic's ``input_tokens`` excludes cache reads (total input = input_tokens +
    cache_read_input_tokens + cache_creation_input_tokens), OpenAI's ``prompt_tokens`` includes
    its ``cached_tokens``; reasoning tokens are part of both output counts.
    """
    usage = usage or {}
    prompt = _int(usage.get("prompt_tokens"))
    details = usage.get("prompt_tokens_details") or {}
    cached = min(_int(details.get("cached_tokens")), prompt)
    out: dict[str, Any] = {"input_tokens": prompt - cached, "output_tokens": _int(usage.get("completion_tokens"))}
    if cached:
        out["cache_read_input_tokens"] = cached
    reasoning = _int((usage.get("completion_tokens_details") or {}).get("reasoning_tokens"))
    if reasoning:
        out["output_tokens_details"] = {"thinking_tokens": min(reasoning, out["output_tokens"])}
    return out


def openai_usage(usage: dict | None) -> dict:
    """Anthropic ``usage`` -> OpenAI ``usage`` (the inverse of :func:`anthropic_usage`)."""
    usage = usage or {}
    cache_read = _int(usage.get("cache_read_input_tokens"))
    prompt = _int(usage.get("input_tokens")) + cache_read + _int(usage.get("cache_creation_input_tokens"))
    completion = _int(usage.get("output_tokens"))
    out: dict[str, Any] = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
    if cache_read:
        out["prompt_tokens_details"] = {"cached_tokens": cache_read}
    thinking = (usage.get("output_tokens_details") or {}).get("thinking_tokens")
    if isinstance(thinking, int) and not isinstance(thinking, bool):
        out["completion_tokens_details"] = {"reasoning_tokens": min(_int(thinking), completion)}
    return out


def parse_arguments(arguments: Any) -> dict:
    """An OpenAI tool call's ``arguments`` (a JSON string) as the object Anthropic's ``input`` must be.

    Arguments that are not a JSON object (a model's broken call replayed in a history) are kept
    whole under ``"arguments"`` rather than dropped, so nothing the model wrote is lost.
    """
    if isinstance(arguments, dict):
        return arguments
    if arguments is None or arguments == "":
        return {}
    try:
        value = json.loads(arguments)
    except (TypeError, ValueError):
        return {"arguments": arguments}
    return value if isinstance(value, dict) else {"arguments": arguments}


def dump_arguments(value: Any) -> str:
    return json.dumps(value if value is not None else {}, ensure_ascii=False, separators=(",", ":"))


def strip_prefix(ident: str, prefix: str) -> str:
    return ident[len(prefix):] if ident.startswith(prefix) else ident


def assistant_message(blocks: list[dict]) -> dict[str, Any]:
    """An OpenAI assistant message from Anthropic content blocks: text joined, thinking as
    ``reasoning_content``, ``tool_use`` blocks as ``tool_calls`` (content None when only calls)."""
    text: list[str] = []
    reasoning: list[str] = []
    calls: list[dict] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "text":
            text.append(block.get("text", ""))
        elif kind == "thinking":
            reasoning.append(block.get("thinking", ""))
        elif kind == "tool_use":
            calls.append({
                "id": block.get("id", ""),
                "type": "function",
                "function": {"name": block.get("name", ""), "arguments": dump_arguments(block.get("input"))},
            })
    message: dict[str, Any] = {"role": "assistant", "content": "".join(text) if text or not calls else None}
    if reasoning:
        message["reasoning_content"] = "".join(reasoning)
    if calls:
        message["tool_calls"] = calls
    return message
