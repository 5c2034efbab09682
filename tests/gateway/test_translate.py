"""Requests, whole responses and error bodies translated each way, validated with the SDK types."""

from __future__ import annotations

import json

import anthropic
import httpx
import openai
import pytest
from anthropic.types.shared.error_response import ErrorResponse

from inhouse.errors import InhouseError
from inhouse.gateway.sse import SSEParser
from inhouse.gateway.translate import (
    TranslationError,
    anthropic_to_openai_request,
    anthropic_to_openai_response,
    error_body,
    openai_to_anthropic_request,
    openai_to_anthropic_response,
    stream_error_event,
)

from .sdk import anthropic_message, openai_completion, valid_anthropic_request, valid_openai_request

WEATHER_SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}

ANTHROPIC_BODY = {
    "model": "claude-sonnet-4-5",
    "max_tokens": 1024,
    "system": [{"type": "text", "text": "You are terse."}, {"type": "text", "text": " Be kind."}],
    "temperature": 0.2,
    "top_k": 40,
    "stop_sequences": ["END"],
    "stream": True,
    "metadata": {"user_id": "session-7"},
    "tools": [{"name": "get_weather", "description": "Weather now", "input_schema": WEATHER_SCHEMA}],
    "tool_choice": {"type": "auto", "disable_parallel_tool_use": True},
    "messages": [
        {"role": "user", "content": "Weather in Paris and Rome?"},
        {"role": "assistant", "content": [
            {"type": "thinking", "thinking": "Two calls.", "signature": "sig"},
            {"type": "text", "text": "Checking."},
            {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
            {"type": "tool_use", "id": "toolu_2", "name": "get_weather", "input": {"city": "Rome"}},
        ]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": "18C"},
            {"type": "tool_result", "tool_use_id": "toolu_2", "content": [{"type": "text", "text": "no data"}], "is_error": True},
            {"type": "text", "text": "And now?"},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBO"}},
        ]},
    ],
}


def test_anthropic_request_becomes_a_valid_openai_request():
    body = valid_anthropic_request(ANTHROPIC_BODY)  # the input is itself a valid Anthropic request
    out = anthropic_to_openai_request(ANTHROPIC_BODY)
    valid_openai_request(out)
    assert body["model"] == out["model"] == "claude-sonnet-4-5"
    assert out["max_tokens"] == 1024 and out["temperature"] == 0.2 and out["top_k"] == 40
    assert out["stop"] == ["END"] and out["user"] == "session-7"
    assert out["stream"] is True and out["stream_options"] == {"include_usage": True}
    assert out["tools"] == [{"type": "function", "function": {"name": "get_weather", "description": "Weather now",
                                                               "parameters": WEATHER_SCHEMA}}]
    assert out["tool_choice"] == "auto" and out["parallel_tool_calls"] is False
    roles = [m["role"] for m in out["messages"]]
    assert roles == ["system", "user", "assistant", "tool", "tool", "user"]
    assert out["messages"][0]["content"] == "You are terse. Be kind."
    assistant = out["messages"][2]
    assert assistant["content"] == "Checking." and assistant["reasoning_content"] == "Two calls."
    assert [(c["id"], c["function"]["name"], json.loads(c["function"]["arguments"])) for c in assistant["tool_calls"]] == [
        ("toolu_1", "get_weather", {"city": "Paris"}), ("toolu_2", "get_weather", {"city": "Rome"})]
    assert out["messages"][3] == {"role": "tool", "tool_call_id": "toolu_1", "content": "18C"}
    assert out["messages"][4] == {"role": "tool", "tool_call_id": "toolu_2", "content": "[tool error] no data"}
    assert out["messages"][5]["content"] == [
        {"type": "text", "text": "And now?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBO"}}]


@pytest.mark.parametrize("choice, expected", [
    ({"type": "any"}, "required"),
    ({"type": "none"}, "none"),
    ({"type": "tool", "name": "get_weather"}, {"type": "function", "function": {"name": "get_weather"}}),
])
def test_anthropic_tool_choice(choice, expected):
    out = anthropic_to_openai_request({**ANTHROPIC_BODY, "tool_choice": choice})
    assert out["tool_choice"] == expected and "parallel_tool_calls" not in out
    valid_openai_request(out)


def test_anthropic_server_tool_is_refused_with_a_one_line_inhouse_error():
    body = {**ANTHROPIC_BODY, "tools": [{"type": "web_search_20250305", "name": "web_search"}]}
    with pytest.raises(TranslationError) as info:
        anthropic_to_openai_request(body)
    assert isinstance(info.value, InhouseError) and "\n" not in str(info.value)


OPENAI_BODY = {
    "model": "gpt-4o",
    "max_completion_tokens": 500,
    "temperature": 1.6,
    "stop": "END",
    "stream": True,
    "user": "u1",
    "parallel_tool_calls": False,
    "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather now",
                                                "parameters": WEATHER_SCHEMA, "strict": True}}],
    "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
    "messages": [
        {"role": "system", "content": "You are terse."},
        {"role": "developer", "content": [{"type": "text", "text": "Use tools."}]},
        {"role": "user", "content": [{"type": "text", "text": "Weather?"},
                                     {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/"}}]},
        {"role": "assistant", "content": None, "reasoning_content": "hidden",
         "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}},
                        {"id": "call_2", "type": "function", "function": {"name": "get_weather", "arguments": "not json"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "18C"},
        {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "bad args"}]},
        {"role": "user", "content": "Thanks"},
    ],
}


def test_openai_request_becomes_a_valid_anthropic_request():
    valid_openai_request(OPENAI_BODY)
    out = openai_to_anthropic_request(OPENAI_BODY)
    valid_anthropic_request(out)
    assert out["system"] == "You are terse.\n\nUse tools."
    assert out["max_tokens"] == 500 and out["temperature"] == 1  # clamped to Anthropic's range
    assert out["stop_sequences"] == ["END"] and out["metadata"] == {"user_id": "u1"} and out["stream"] is True
    assert out["tools"] == [{"name": "get_weather", "description": "Weather now", "input_schema": WEATHER_SCHEMA}]
    assert out["tool_choice"] == {"type": "tool", "name": "get_weather", "disable_parallel_tool_use": True}
    assert [m["role"] for m in out["messages"]] == ["user", "assistant", "user"]
    assert out["messages"][0]["content"][1] == {
        "type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "/9j/"}}
    assistant = out["messages"][1]["content"]
    assert assistant == [  # reasoning without Anthropic's signature is not sent back
        {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"city": "Paris"}},
        {"type": "tool_use", "id": "call_2", "name": "get_weather", "input": {"arguments": "not json"}}]
    # the tool results and the next user words merge into one user turn, results first
    assert out["messages"][2]["content"] == [
        {"type": "tool_result", "tool_use_id": "call_1", "content": "18C"},
        {"type": "tool_result", "tool_use_id": "call_2", "content": [{"type": "text", "text": "bad args"}]},
        {"type": "text", "text": "Thanks"}]


def test_openai_request_defaults():
    out = openai_to_anthropic_request({"model": "m", "messages": [{"role": "user", "content": "hi"}]})
    assert out == {"model": "m", "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
                   "max_tokens": 4096}
    required = openai_to_anthropic_request({**OPENAI_BODY, "tool_choice": "required", "parallel_tool_calls": True})
    assert required["tool_choice"] == {"type": "any"}
    with pytest.raises(TranslationError):
        openai_to_anthropic_request({"model": "m", "n": 2, "messages": []})


def test_requests_round_trip_keep_the_conversation():
    back = openai_to_anthropic_request(anthropic_to_openai_request(ANTHROPIC_BODY))
    original = [m for m in ANTHROPIC_BODY["messages"]]
    assert back["messages"][0]["content"] == [{"type": "text", "text": original[0]["content"]}]
    tool_uses = [b for b in back["messages"][1]["content"] if b["type"] == "tool_use"]
    assert tool_uses == [b for b in original[1]["content"] if b["type"] == "tool_use"]
    assert [b["tool_use_id"] for b in back["messages"][2]["content"] if b["type"] == "tool_result"] == ["toolu_1", "toolu_2"]


def test_openai_response_becomes_a_valid_anthropic_message():
    resp = {
        "id": "chatcmpl-9", "object": "chat.completion", "created": 1, "model": "qwen",
        "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
            "role": "assistant", "content": "Checking.", "reasoning_content": "Need weather.",
            "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]}}],
        "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120,
                  "prompt_tokens_details": {"cached_tokens": 64}, "completion_tokens_details": {"reasoning_tokens": 5}},
    }
    openai_completion(resp)
    message = anthropic_message(openai_to_anthropic_response(resp, model="claude-x"))
    assert [b.type for b in message.content] == ["thinking", "text", "tool_use"]
    assert message.content[0].thinking == "Need weather." and message.content[1].text == "Checking."
    assert message.content[2].input == {"city": "Paris"} and message.content[2].id == "call_1"
    assert message.stop_reason == "tool_use" and message.model == "claude-x" and message.id == "msg_9"
    assert (message.usage.input_tokens, message.usage.cache_read_input_tokens, message.usage.output_tokens) == (36, 64, 20)
    assert message.usage.output_tokens_details.thinking_tokens == 5


def test_anthropic_response_becomes_a_valid_openai_completion():
    resp = {
        "id": "msg_01", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
        "content": [{"type": "thinking", "thinking": "Hmm.", "signature": "s"},
                    {"type": "text", "text": "Here."},
                    {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Rome"}}],
        "stop_reason": "tool_use", "stop_sequence": None,
        "usage": {"input_tokens": 10, "output_tokens": 30, "cache_read_input_tokens": 90, "cache_creation_input_tokens": 0},
    }
    anthropic_message(resp)
    completion = openai_completion(anthropic_to_openai_response(resp, model="gpt-4o", created=5))
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content == "Here."
    assert choice.message.reasoning_content == "Hmm."  # kept as an extra field, as llama.cpp/DeepSeek send it
    assert json.loads(choice.message.tool_calls[0].function.arguments) == {"city": "Rome"}
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens, completion.usage.total_tokens) == (100, 30, 130)
    assert completion.usage.prompt_tokens_details.cached_tokens == 90
    assert completion.id == "chatcmpl-01" and completion.created == 5


@pytest.mark.parametrize("stop, finish", [("end_turn", "stop"), ("max_tokens", "length"), ("stop_sequence", "stop")])
def test_whole_response_stop_reasons_round_trip(stop, finish):
    resp = {"id": "msg_1", "type": "message", "role": "assistant", "model": "c", "content": [{"type": "text", "text": "x"}],
            "stop_reason": stop, "stop_sequence": None, "usage": {"input_tokens": 1, "output_tokens": 1}}
    openai = anthropic_to_openai_response(resp, model="g")
    assert openai["choices"][0]["finish_reason"] == finish
    back = openai_to_anthropic_response(openai, model="c")
    assert back["stop_reason"] == ("end_turn" if stop == "stop_sequence" else stop)
    assert back["usage"] == {"input_tokens": 1, "output_tokens": 1}


# ---------------------------------------------------------------- errors


def _sdk_error(protocol: str, status: int, body: dict) -> Exception:
    """The exception each official SDK raises for this status and body."""
    request = httpx.Request("POST", "http://127.0.0.1/v1/x")
    response = httpx.Response(status, json=body, request=request)
    if protocol == "openai":
        client = openai.OpenAI(api_key="k", base_url="http://127.0.0.1/v1")
    else:
        client = anthropic.Anthropic(api_key="k", base_url="http://127.0.0.1")
    return client._make_status_error_from_response(response)


@pytest.mark.parametrize("status, anthropic_type, openai_type, exc", [
    (400, "invalid_request_error", "invalid_request_error", "BadRequestError"),
    (401, "authentication_error", "authentication_error", "AuthenticationError"),
    (404, "not_found_error", "not_found_error", "NotFoundError"),
    (413, "request_too_large", "invalid_request_error", None),
    (429, "rate_limit_error", "rate_limit_error", "RateLimitError"),
    (500, "api_error", "server_error", "InternalServerError"),
    (502, "api_error", "server_error", "InternalServerError"),
    (529, "overloaded_error", "server_error", None),
])
def test_error_bodies_have_each_protocols_type_and_the_sdks_read_them(status, anthropic_type, openai_type, exc):
    a = error_body("anthropic", status, "bad\nthing  happened")
    o = error_body("openai", status, "bad\nthing  happened")
    assert a == {"type": "error", "error": {"type": anthropic_type, "message": "bad thing happened"}}
    assert o == {"error": {"message": "bad thing happened", "type": openai_type, "param": None, "code": None}}
    if anthropic_type != "request_too_large":  # documented by Anthropic, absent from the SDK's union
        ErrorResponse.model_validate(a)
    for protocol, body in (("openai", o), ("anthropic", a)):
        error = _sdk_error(protocol, status, body)
        if exc:
            assert type(error).__name__ == exc
        assert "bad thing happened" in str(error)


def test_error_body_refuses_an_unknown_protocol():
    with pytest.raises(TranslationError):
        error_body("gemini", 400, "x")


def test_stream_error_events_are_complete_sse_events_the_sdks_raise_on():
    a = stream_error_event("anthropic", "backend died", status=529)
    events = SSEParser().feed(a)
    assert events == [("error", json.dumps(error_body("anthropic", 529, "backend died"), separators=(",", ":")))]
    o = stream_error_event("openai", "backend died")
    assert SSEParser().feed(o) == [(None, json.dumps(error_body("openai", 500, "backend died"), separators=(",", ":")))]
    # the SDKs' own stream readers raise on them
    for protocol, payload in (("anthropic", a), ("openai", o)):
        request = httpx.Request("POST", "http://127.0.0.1/v1/x")
        response = httpx.Response(200, content=payload, request=request, headers={"content-type": "text/event-stream"})
        if protocol == "openai":
            from openai import Stream
            from openai.types.chat import ChatCompletionChunk
            client = openai.OpenAI(api_key="k", base_url="http://127.0.0.1/v1")
            stream = Stream(cast_to=ChatCompletionChunk, response=response, client=client)
            with pytest.raises(openai.APIError, match="backend died"):
                list(stream)
        else:
            from anthropic import Stream
            from anthropic.types import RawMessageStreamEvent
            client = anthropic.Anthropic(api_key="k", base_url="http://127.0.0.1")
            stream = Stream(cast_to=RawMessageStreamEvent, response=response, client=client)
            with pytest.raises(anthropic.APIStatusError, match="backend died"):
                list(stream)
