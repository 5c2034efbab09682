"""Tool calls written as text become structured calls; the streaming repair gives the same result
for any split of the text and passes ordinary text through without holding it."""

from __future__ import annotations

import json
import random

import pytest
from openai.types.chat import ChatCompletionMessageFunctionToolCall

from inhouse.gateway.repair import StreamRepair, repair_tool_calls

TOOLS = [
    {"type": "function", "function": {"name": "get_weather", "parameters": {
        "type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}}}}},
    {"type": "function", "function": {"name": "read_file", "parameters": {
        "type": "object", "properties": {"path": {"type": "string"}}}}},
]


def calls_of(calls: list[dict]) -> list[tuple[str, dict]]:
    for call in calls:
        ChatCompletionMessageFunctionToolCall.model_validate(call)  # the OpenAI wire shape
        assert call["id"].startswith("call_")
    return [(c["function"]["name"], json.loads(c["function"]["arguments"])) for c in calls]


CASES = [
    # Hermes / Qwen 2.5
    ('<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>',
     "", [("get_weather", {"city": "Paris"})]),
    # text before, several calls, arguments as a JSON string
    ('I will check both.\n<tool_call>{"name": "get_weather", "arguments": {"city": "Paris"}}</tool_call>\n'
     '<tool_call>{"name": "get_weather", "arguments": "{\\"city\\": \\"Rome\\", \\"days\\": 2}"}</tool_call>',
     "I will check both.", [("get_weather", {"city": "Paris"}), ("get_weather", {"city": "Rome", "days": 2})]),
    # closing tag missing at the very end (the model stopped at its end-of-turn token)
    ('<tool_call>{"name": "read_file", "arguments": {"path": "a.py"}}', "", [("read_file", {"path": "a.py"})]),
    # Qwen3-Coder XML inside the tag; a string parameter stays a string, an integer one is parsed
    ("<tool_call>\n<function=get_weather>\n<parameter=city>\n42\n</parameter>\n<parameter=days>\n3\n</parameter>\n"
     "</function>\n</tool_call>", "", [("get_weather", {"city": "42", "days": 3})]),
    # a lone JSON object, "parameters" as the arguments key (Llama 3.1 style)
    ('  {"name": "get_weather", "parameters": {"city": "Oslo"}}\n', "", [("get_weather", {"city": "Oslo"})]),
    # a lone JSON list of calls, the OpenAI {"function": ...} shape
    ('[{"type": "function", "function": {"name": "read_file", "arguments": {"path": "x"}}}, '
     '{"name": "get_weather", "arguments": {}}]', "", [("read_file", {"path": "x"}), ("get_weather", {})]),
    # fenced json with text around it
    ('Calling:\n```json\n{"name": "read_file", "arguments": {"path": "b.py"}}\n```\nDone.',
     "Calling:\n\nDone.", [("read_file", {"path": "b.py"})]),
    # a bare fence
    ('```\n{"name": "read_file", "arguments": {"path": "c"}}\n```', "", [("read_file", {"path": "c"})]),
]

UNTOUCHED = [
    "Just an answer, with <b>tags</b> and `code` and {braces}.",
    '<tool_call>{"name": "delete_everything", "arguments": {}}</tool_call>',  # not a declared tool
    '{"name": "get_weather", "arguments": {"city": "Paris"}} is how you would call it.',  # not lone
    '{"name": "get_weather", "arguments": [1, 2]}',  # arguments not an object
    '{"name": "get_weather", "arguments": {}, "extra": 1}',  # not only a call
    "```python\nprint('<tool_call>{\"name\": \"read_file\", \"arguments\": {}}</tool_call>')\n```",  # inside code
    '```json\n{"city": "Paris"}\n```',  # JSON, but no call
    "<tool_call>{broken json</tool_call>",
    "  leading and trailing space kept  \n",
    "",
]


@pytest.mark.parametrize("text, left, calls", CASES)
def test_text_tool_calls_become_structured_calls(text, left, calls):
    got_left, got_calls = repair_tool_calls(text, TOOLS)
    assert got_left == left
    assert calls_of(got_calls) == calls


@pytest.mark.parametrize("text", UNTOUCHED)
def test_everything_else_is_left_exactly_as_written(text):
    assert repair_tool_calls(text, TOOLS) == (text, [])


def test_no_declared_tools_means_no_repair():
    text = CASES[0][0]
    assert repair_tool_calls(text, []) == (text, [])
    stream = StreamRepair(None)
    assert stream.feed(text) == (text, []) and stream.finish() == ("", [])


def test_anthropic_tool_declarations_work_too():
    tools = [{"name": "get_weather", "input_schema": {"type": "object"}}]
    assert calls_of(repair_tool_calls(CASES[0][0], tools)[1]) == [("get_weather", {"city": "Paris"})]


def stream_through(text: str, cuts: list[int]) -> tuple[str, list, int]:
    repair = StreamRepair(TOOLS)
    out, calls = [], []
    for start, end in zip([0] + cuts, cuts + [len(text)]):
        piece, found = repair.feed(text[start:end])
        out.append(piece)
        calls += found
    piece, found = repair.finish()
    return "".join(out) + piece, calls + found, repair.repairs


@pytest.mark.parametrize("text", [c[0] for c in CASES] + UNTOUCHED + [
    "Hi <tool_call>{\"name\": \"read_file\", \"arguments\": {\"path\": \"p\"}}</tool_call> there  ",
    "  <tool_call>{\"name\": \"read_file\", \"arguments\": {}}</tool_call>\n  After.",
])
def test_any_split_of_a_stream_gives_the_whole_text_result(text):
    left, calls = repair_tool_calls(text, TOOLS)
    rng = random.Random(len(text))
    splits = [[], list(range(1, len(text)))] + [
        sorted(rng.sample(range(1, len(text)), min(len(text) - 1, rng.randint(1, 12)))) for _ in range(40)
    ] if len(text) > 1 else [[]]
    for cuts in splits:
        got_left, got_calls, repairs = stream_through(text, cuts)
        assert got_left == left
        assert calls_of(got_calls) == calls_of(calls)
        assert repairs == len(calls)


def test_plain_text_streams_through_at_once_and_a_call_is_returned_when_it_closes():
    repair = StreamRepair(TOOLS)
    assert repair.feed("Hello, ") == ("Hello,", [])  # only the trailing space is held
    assert repair.feed("world. ") == (" world.", [])
    assert repair.feed("<tool") == ("", [])  # may be the start of a call
    assert repair.feed('_call>{"name": "read_file", ') == ("", [])
    text, calls = repair.feed('"arguments": {"path": "x"}}</tool_call>')
    assert text == "" and calls_of(calls) == [("read_file", {"path": "x"})]
    assert repair.feed(" Bye") == ("  Bye", [])  # the space held before the call, then this one
    assert repair.finish() == ("", [])
    assert repair.repairs == 1


def test_code_fence_of_another_language_streams_without_waiting_for_its_end():
    repair = StreamRepair(TOOLS)
    assert repair.feed("```python\nprint(1)\n") == ("```python\nprint(1)", [])
    assert repair.feed("x = {'a': 1}\n``") == ("\nx = {'a': 1}", [])
    assert repair.feed("`\n") == ("\n```", [])
    assert repair.finish() == ("\n", [])


def test_a_reply_that_starts_like_json_but_is_not_is_released_early():
    repair = StreamRepair(TOOLS)
    assert repair.feed("{ this is not json") == ("{ this is not json", [])


def test_long_arguments_stream_in_linear_time():
    content = "x = {'a': [1, 2]}\n" * 4000  # ~70 KB of code with braces, in 4-character pieces
    text = json.dumps({"name": "read_file", "arguments": {"path": content}})
    repair = StreamRepair(TOOLS)
    for i in range(0, len(text), 4):
        assert repair.feed(text[i:i + 4]) == ("", [])
    left, calls = repair.finish()
    assert left == "" and calls_of(calls) == [("read_file", {"path": content})]
