"""The OpenAI engine against scripted servers on 127.0.0.1: tool-call deltas, usage, timings,
reasoning fields, and every way a server can misbehave."""

from __future__ import annotations

import json

import pytest

from inhouse.engines import ChatRequest
from inhouse.engines.openai_http import OpenAIEngine
from inhouse.errors import ProtocolError, ServerError, ServerUnreachable
from tests.helpers import OneRouteServer, free_port


def sse_server(chunks: list, *, done: bool = True, status: int = 200, content_type: str = "text/event-stream"):
    def respond(handler):
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.end_headers()
        for c in chunks:
            data = c if isinstance(c, str) else json.dumps(c)
            handler.wfile.write(f"data: {data}\n\n".encode())
        if done:
            handler.wfile.write(b"data: [DONE]\n\n")

    return OneRouteServer(respond)


def delta(**d):
    return {"choices": [{"index": 0, "delta": d, "finish_reason": None}]}


def finish(reason="stop", **extra):
    return {"choices": [{"index": 0, "delta": {}, "finish_reason": reason}], **extra}


def chat(url, **kw):
    with OpenAIEngine(url, model="m") as eng:
        return eng.chat(ChatRequest.from_prompt("hi", **kw))


def test_tool_call_deltas_are_assembled_by_index():
    chunks = [
        delta(role="assistant"),
        delta(tool_calls=[{"index": 0, "id": "call_a", "function": {"name": "read_file", "arguments": ""}}]),
        delta(tool_calls=[{"index": 0, "function": {"arguments": '{"path": '}}]),
        delta(tool_calls=[{"index": 1, "id": "call_b", "function": {"name": "list_files", "arguments": "{}"}}]),
        delta(tool_calls=[{"index": 0, "function": {"arguments": '"a.py"}'}}]),
        finish("tool_calls"),
    ]
    with sse_server(chunks) as srv:
        result = chat(srv.url)
    assert [(c.id, c.name, json.loads(c.arguments)) for c in result.tool_calls] == [
        ("call_a", "read_file", {"path": "a.py"}),
        ("call_b", "list_files", {}),
    ]
    assert result.finish_reason == "tool_calls"


def test_usage_reasoning_and_llama_server_timings():
    chunks = [
        delta(role="assistant"),  # role-only first chunk: not a token
        delta(reasoning_content="thinking"),
        delta(content="<think>more</think>"),
        delta(content="Hi"),
        finish("stop", timings={"prompt_n": 7, "prompt_ms": 70.0, "predicted_n": 2, "predicted_ms": 20.0}),
        {"choices": [], "usage": {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}},
    ]
    with sse_server(chunks) as srv:
        result = chat(srv.url)
    assert result.text == "Hi"
    assert result.reasoning == "thinkingmore"
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (7, 3)
    assert result.timings.source == "llama.cpp server"
    assert result.timings.predicted_s == pytest.approx(0.020)
    assert result.timings.prompt_n == 7


def test_ollama_durations():
    chunks = [delta(content="x"), finish("stop", eval_count=5, eval_duration=50_000_000,
                                             prompt_eval_count=3, prompt_eval_duration=9_000_000)]
    with sse_server(chunks) as srv:
        result = chat(srv.url)
    assert result.timings.source == "ollama"
    assert (result.timings.predicted_n, result.timings.predicted_s) == (5, pytest.approx(0.05))


def test_server_down_is_unreachable():
    with pytest.raises(ServerUnreachable, match="Is the server running"):
        chat(f"http://127.0.0.1:{free_port()}")


def test_http_500_is_server_error():
    def respond(h):
        h.send_response(500)
        h.send_header("Content-Type", "application/json")
        h.end_headers()
        h.wfile.write(b'{"error": "model crashed"}')

    with OneRouteServer(respond) as srv:
        with pytest.raises(ServerError, match="HTTP 500") as info:
            chat(srv.url)
    assert info.value.status_code == 500


def test_malformed_sse_chunk_is_protocol_error():
    with sse_server([delta(content="ok"), "{not json"]) as srv:
        with pytest.raises(ProtocolError, match="malformed stream chunk"):
            chat(srv.url)


def test_not_an_event_stream_is_protocol_error():
    with sse_server([finish()], content_type="application/json") as srv:
        with pytest.raises(ProtocolError, match="server-sent event"):
            chat(srv.url)


def test_stream_cut_before_finish_is_protocol_error():
    with sse_server([delta(content="partial")], done=False) as srv:
        with pytest.raises(ProtocolError, match="ended before the reply was finished"):
            chat(srv.url)


def test_error_object_mid_stream_is_server_error():
    with sse_server([delta(content="a"), {"error": {"message": "out of memory"}}]) as srv:
        with pytest.raises(ServerError, match="out of memory"):
            chat(srv.url)


def test_base_url_accepts_with_or_without_v1():
    assert OpenAIEngine("http://h:1/").base_url == "http://h:1/v1"
    assert OpenAIEngine("http://h:1/v1").base_url == "http://h:1/v1"
