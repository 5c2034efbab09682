"""Validation of gateway output with the official SDKs' own types (the independent truth)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pydantic
from anthropic.lib.streaming._messages import accumulate_event
from anthropic.types import Message, RawMessageStreamEvent
from anthropic.types.message_create_params import MessageCreateParamsNonStreaming
from openai.lib.streaming.chat._completions import ChatCompletionStreamState
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai.types.chat.completion_create_params import CompletionCreateParamsNonStreaming

_ANTHROPIC_REQUEST = pydantic.TypeAdapter(MessageCreateParamsNonStreaming)
_OPENAI_REQUEST = pydantic.TypeAdapter(CompletionCreateParamsNonStreaming)
_ANTHROPIC_EVENT = pydantic.TypeAdapter(RawMessageStreamEvent)


def _force(value: Any) -> Any:
    """The SDK params types hold Iterables that pydantic validates lazily: walk them all."""
    if isinstance(value, dict):
        return {k: _force(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, Iterator)):
        return [_force(v) for v in value]
    return value


def valid_anthropic_request(body: dict) -> dict:
    body = {k: v for k, v in body.items() if k != "stream"}
    return _force(_ANTHROPIC_REQUEST.validate_python(body))


def valid_openai_request(body: dict) -> dict:
    body = {k: v for k, v in body.items() if k not in ("stream", "stream_options")}
    return _force(_OPENAI_REQUEST.validate_python(body))


def anthropic_message(resp: dict) -> Message:
    return Message.model_validate(resp)


def openai_completion(resp: dict) -> ChatCompletion:
    return ChatCompletion.model_validate(resp)


def accumulate_anthropic(events: list[tuple[str, dict]]) -> Message:
    """Each event must parse as the SDK's RawMessageStreamEvent with the SSE name equal to its type;
    the SDK's own accumulator builds the final message."""
    snapshot = None
    json_bufs: dict[int, bytes] = {}
    for name, data in events:
        assert name == data["type"]
        event = _ANTHROPIC_EVENT.validate_python(data)
        snapshot = accumulate_event(event=event, current_snapshot=snapshot, json_bufs=json_bufs)
    assert snapshot is not None
    return snapshot


def accumulate_openai(chunks: list[dict]) -> ChatCompletion:
    state = ChatCompletionStreamState()
    for chunk in chunks:
        state.handle_chunk(ChatCompletionChunk.model_validate(chunk))
    return state.get_final_completion()
