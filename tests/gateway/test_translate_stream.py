"""Streams translated each way, checked by parsing every event with the SDK types and rebuilding the
final message with the SDK's own stream accumulators."""

from __future__ import annotations

import json

from openai.types.chat import ChatCompletionChunk

from inhouse.gateway.translate import AnthropicToOpenAIStream, OpenAIToAnthropicStream

from .sdk import accumulate_anthropic, accumulate_openai


def chunk(delta: dict | None = None, finish: str | None = None, *, usage: dict | None = None) -> dict:
    out = {"id": "chatcmpl-abc", "object": "chat.completion.chunk", "created": 1, "model": "local",
           "choices": [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]}
    if usage:
        out["usage"] = usage
    return out


def run_openai(chunks: list[dict], **kw) -> tuple[OpenAIToAnthropicStream, list]:
    stream = OpenAIToAnthropicStream("claude-sonnet-4-5")
    events = []
    for c in chunks:
        events += stream.feed(c)
    events += stream.finish(**kw)
    return stream, events


TOOL_CHUNKS = [
    chunk({"role": "assistant", "content": ""}),
    chunk({"reasoning_content": "The user wants "}),
    chunk({"reasoning_content": "weather."}),
    chunk({"content": "Checking "}),
    chunk({"content": "both."}),
    chunk({"tool_calls": [{"index": 0, "id": "call_a", "type": "function",
                           "function": {"name": "get_weather", "arguments": ""}}]}),
    chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"city": '}}]}),
    chunk({"tool_calls": [{"index": 0, "function": {"arguments": '"Paris"}'}}]}),
    chunk({"tool_calls": [{"index": 1, "id": "call_b", "type": "function",
                           "function": {"name": "get_time", "arguments": '{"tz": "CET"}'}}]}),
    chunk({}, "tool_calls"),
    chunk(usage={"prompt_tokens": 50, "completion_tokens": 30, "total_tokens": 80,
                 "prompt_tokens_details": {"cached_tokens": 20},
                 "completion_tokens_details": {"reasoning_tokens": 7}}),
]


def test_openai_stream_with_reasoning_text_and_parallel_tools_becomes_anthropic_blocks():
    stream, events = run_openai(TOOL_CHUNKS)
    message = accumulate_anthropic(events)
    kinds = [b.type for b in message.content]
    assert kinds == ["thinking", "text", "tool_use", "tool_use"]
    assert message.content[0].thinking == "The user wants weather."
    assert message.content[1].text == "Checking both."
    assert (message.content[2].id, message.content[2].name, message.content[2].input) == ("call_a", "get_weather", {"city": "Paris"})
    assert (message.content[3].id, message.content[3].name, message.content[3].input) == ("call_b", "get_time", {"tz": "CET"})
    assert message.stop_reason == "tool_use"
    assert message.model == "claude-sonnet-4-5"
    assert message.id == "msg_abc"
    # message_delta carries the exact counts: 50 prompt tokens = 30 uncached + 20 read from cache
    delta = [d for n, d in events if n == "message_delta"][0]
    assert delta["usage"] == {"input_tokens": 30, "cache_read_input_tokens": 20, "output_tokens": 30,
                              "output_tokens_details": {"thinking_tokens": 7}}
    assert stream.complete
    # the framing: one start, blocks opened and closed in order, one stop
    names = [n for n, _ in events]
    assert names[0] == "message_start" and names[-2:] == ["message_delta", "message_stop"]
    opened = [d["index"] for n, d in events if n == "content_block_start"]
    closed = [d["index"] for n, d in events if n == "content_block_stop"]
    assert opened == closed == [0, 1, 2, 3]


def test_openai_stop_and_length_map_to_end_turn_and_max_tokens():
    for finish, stop in [("stop", "end_turn"), ("length", "max_tokens"), ("content_filter", "refusal")]:
        _, events = run_openai([chunk({"content": "Hi"}), chunk({}, finish)])
        message = accumulate_anthropic(events)
        assert message.stop_reason == stop
        assert message.content[0].text == "Hi"


def test_local_server_that_ends_a_tool_turn_with_stop_still_says_tool_use():
    _, events = run_openai([
        chunk({"tool_calls": [{"index": 0, "id": "c1", "function": {"name": "f", "arguments": "{}"}}]}),
        chunk({}, "stop"),
    ])
    assert accumulate_anthropic(events).stop_reason == "tool_use"


def test_tool_call_name_arriving_after_its_arguments_opens_the_block_then():
    _, events = run_openai([
        chunk({"tool_calls": [{"index": 0, "id": "c1", "function": {"arguments": '{"a"'}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"name": "f", "arguments": ": 1}"}}]}),
        chunk({}, "tool_calls"),
    ])
    message = accumulate_anthropic(events)
    assert (message.content[0].name, message.content[0].input) == ("f", {"a": 1})


def test_stream_without_upstream_usage_takes_counted_usage_and_is_not_complete_without_finish_reason():
    stream = OpenAIToAnthropicStream("m")
    events = stream.feed(chunk({"content": "Hel"})) + stream.feed(chunk({"content": "lo"}))
    assert not stream.complete
    events += stream.finish(usage={"prompt_tokens": 9, "completion_tokens": 2})
    message = accumulate_anthropic(events)
    assert message.content[0].text == "Hello"
    delta = [d for n, d in events if n == "message_delta"][0]
    assert delta["usage"] == {"input_tokens": 9, "output_tokens": 2}
    assert stream.finish() == []  # idempotent


def test_empty_openai_stream_still_gives_a_valid_anthropic_message():
    _, events = run_openai([])
    message = accumulate_anthropic(events)
    assert message.content == [] and message.stop_reason == "end_turn"


# ---------------------------------------------------------------- Anthropic -> OpenAI


def anthropic_events() -> list[tuple[str, dict]]:
    """A real-shaped Anthropic stream (as documented) with thinking, text and two tool calls."""
    raw = [
        {"type": "message_start", "message": {"id": "msg_01X", "type": "message", "role": "assistant",
                                              "content": [], "model": "claude-sonnet-4-5", "stop_reason": None,
                                              "stop_sequence": None,
                                              "usage": {"input_tokens": 25, "cache_read_input_tokens": 100,
                                                        "cache_creation_input_tokens": 5, "output_tokens": 1}}},
        {"type": "ping"},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": "", "signature": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "Two cities."}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "EqQB"}},
        {"type": "content_block_stop", "index": 0},
        {"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "Let me check."}},
        {"type": "content_block_stop", "index": 1},
        {"type": "content_block_start", "index": 2, "content_block": {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}},
        {"type": "content_block_delta", "index": 2, "delta": {"type": "input_json_delta", "partial_json": ""}},
        {"type": "content_block_delta", "index": 2, "delta": {"type": "input_json_delta", "partial_json": '{"city": "Pa'}},
        {"type": "content_block_delta", "index": 2, "delta": {"type": "input_json_delta", "partial_json": 'ris"}'}},
        {"type": "content_block_stop", "index": 2},
        {"type": "content_block_start", "index": 3, "content_block": {"type": "tool_use", "id": "toolu_2", "name": "get_weather", "input": {}}},
        {"type": "content_block_delta", "index": 3, "delta": {"type": "input_json_delta", "partial_json": '{"city": "Rome"}'}},
        {"type": "content_block_stop", "index": 3},
        {"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": None},
         "usage": {"output_tokens": 89, "output_tokens_details": {"thinking_tokens": 12}}},
        {"type": "message_stop"},
    ]
    return [(e["type"], e) for e in raw]


def test_anthropic_stream_becomes_openai_chunks_with_tool_indices_reasoning_and_usage():
    stream = AnthropicToOpenAIStream("gpt-4o", created=7)
    chunks = []
    for name, data in anthropic_events():
        chunks += stream.feed(name, data)
    assert stream.complete
    assert stream.finish() == []
    completion = accumulate_openai(chunks)
    message = completion.choices[0].message
    assert message.content == "Let me check."
    assert [(c.id, c.function.name, json.loads(c.function.arguments)) for c in message.tool_calls] == [
        ("toolu_1", "get_weather", {"city": "Paris"}), ("toolu_2", "get_weather", {"city": "Rome"})]
    assert completion.choices[0].finish_reason == "tool_calls"
    assert completion.id == "chatcmpl-01X" and completion.model == "gpt-4o"
    reasoning = "".join(c["choices"][0]["delta"].get("reasoning_content", "") for c in chunks if c["choices"])
    assert reasoning == "Two cities."
    # every tool delta names its call's position, 0 then 1
    indices = [tc["index"] for c in chunks if c["choices"] for tc in c["choices"][0]["delta"].get("tool_calls", [])]
    assert indices == [0, 0, 0, 1, 1]
    # usage: prompt = 25 uncached + 100 cache reads + 5 cache writes
    assert completion.usage.prompt_tokens == 130 and completion.usage.completion_tokens == 89
    assert completion.usage.total_tokens == 219
    assert completion.usage.prompt_tokens_details.cached_tokens == 100
    assert completion.usage.completion_tokens_details.reasoning_tokens == 12
    assert chunks[-1]["choices"] == [] and chunks[-2]["choices"][0]["finish_reason"] == "tool_calls"


def test_anthropic_stop_reasons_map_to_finish_reasons():
    for stop, finish in [("end_turn", "stop"), ("stop_sequence", "stop"), ("max_tokens", "length"),
                         ("refusal", "content_filter")]:
        stream = AnthropicToOpenAIStream("m", include_usage=False)
        chunks = []
        for name, data in anthropic_events()[:1] + [
            ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
            ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "ok"}}),
            ("content_block_stop", {"type": "content_block_stop", "index": 0}),
            ("message_delta", {"type": "message_delta", "delta": {"stop_reason": stop}, "usage": {"output_tokens": 1}}),
            ("message_stop", {"type": "message_stop"}),
        ]:
            chunks += stream.feed(name, data)
        parsed = [ChatCompletionChunk.model_validate(c) for c in chunks]  # (the SDK's accumulator raises on length)
        assert [c.choices[0].finish_reason for c in parsed] == [None, None, finish]
        assert "".join(c.choices[0].delta.content or "" for c in parsed) == "ok"
        assert all(c["choices"] for c in chunks)  # no usage chunk unless asked


def test_anthropic_error_event_becomes_an_openai_error_chunk():
    stream = AnthropicToOpenAIStream("m")
    stream.feed(*anthropic_events()[0])
    out = stream.feed("error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
    assert out == [{"error": {"message": "Overloaded", "type": "overloaded_error", "param": None, "code": None}}]
    assert not stream.complete


def test_round_trip_openai_to_anthropic_to_openai_keeps_text_reasoning_tools_and_usage():
    forward = OpenAIToAnthropicStream("claude")
    back = AnthropicToOpenAIStream("gpt", created=1)
    chunks = []
    for c in TOOL_CHUNKS:
        for name, data in forward.feed(c):
            chunks += back.feed(name, data)
    for name, data in forward.finish():
        chunks += back.feed(name, data)
    completion = accumulate_openai(chunks)
    message = completion.choices[0].message
    assert message.content == "Checking both."
    assert [(c.id, c.function.name, json.loads(c.function.arguments)) for c in message.tool_calls] == [
        ("call_a", "get_weather", {"city": "Paris"}), ("call_b", "get_time", {"tz": "CET"})]
    assert completion.usage.prompt_tokens == 50 and completion.usage.completion_tokens == 30
    assert completion.usage.prompt_tokens_details.cached_tokens == 20
    assert completion.usage.completion_tokens_details.reasoning_tokens == 7
