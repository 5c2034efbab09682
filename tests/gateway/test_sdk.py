"""The official ``openai`` and ``anthropic`` SDKs against a real ``inhouse serve`` whose only backend is
the default model behind a supervised llama_cpp.server (OpenAI protocol): the Anthropic client is
served through translation. Streaming and not, and a tool round trip in each protocol."""

from __future__ import annotations

import json
import time

import anthropic
import openai
import pytest

from tests.gateway.conftest import wait_ledger

WEATHER_OPENAI = {"type": "function", "function": {
    "name": "get_weather", "description": "Weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
WEATHER_ANTHROPIC = {"name": "get_weather", "description": "Weather in a city",
                     "input_schema": WEATHER_OPENAI["function"]["parameters"]}
ASK = "What is the weather in Paris? Use the tool."


@pytest.fixture
def oai(default_gateway):
    with openai.OpenAI(base_url=default_gateway["url"] + "/v1", api_key="unused", max_retries=0, timeout=120) as c:
        yield c


@pytest.fixture
def ant(default_gateway):
    with anthropic.Anthropic(base_url=default_gateway["url"], api_key="unused", max_retries=0, timeout=120) as c:
        yield c


def test_openai_sdk_plain_and_stream(oai):
    resp = oai.chat.completions.create(model="gpt-4o-mini", max_tokens=8,
                                       messages=[{"role": "user", "content": "Say hello."}])
    assert resp.choices[0].message.content.strip()
    assert resp.choices[0].finish_reason in ("stop", "length")
    assert resp.usage.prompt_tokens > 0 and 0 < resp.usage.completion_tokens <= 8
    pieces, finish = [], None
    for chunk in oai.chat.completions.create(model="gpt-4o-mini", max_tokens=8, stream=True,
                                             messages=[{"role": "user", "content": "Say hello."}]):
        for choice in chunk.choices:
            pieces.append(choice.delta.content or "")
            finish = choice.finish_reason or finish
    assert "".join(pieces).strip()
    assert finish in ("stop", "length")


def test_openai_sdk_tool_round_trip(oai):
    messages = [{"role": "user", "content": ASK}]
    resp = oai.chat.completions.create(model="gpt-4o-mini", max_tokens=40, messages=messages, tools=[WEATHER_OPENAI],
                                       tool_choice={"type": "function", "function": {"name": "get_weather"}})
    call = resp.choices[0].message.tool_calls[0]
    assert call.function.name == "get_weather"
    assert isinstance(json.loads(call.function.arguments), dict)
    messages += [resp.choices[0].message.model_dump(),
                 {"role": "tool", "tool_call_id": call.id, "content": "Sunny, 21 C"}]
    final = oai.chat.completions.create(model="gpt-4o-mini", max_tokens=12, messages=messages, tools=[WEATHER_OPENAI])
    assert final.choices[0].finish_reason in ("stop", "length", "tool_calls")
    assert final.choices[0].message.content or final.choices[0].message.tool_calls


def test_openai_sdk_streamed_tool_call(oai):
    args, names = {}, set()
    for chunk in oai.chat.completions.create(
            model="gpt-4o-mini", max_tokens=40, stream=True, messages=[{"role": "user", "content": ASK}],
            tools=[WEATHER_OPENAI], tool_choice={"type": "function", "function": {"name": "get_weather"}}):
        for choice in chunk.choices:
            for tc in choice.delta.tool_calls or []:
                args[tc.index] = args.get(tc.index, "") + (tc.function.arguments or "")
                if tc.function.name:
                    names.add(tc.function.name)
    assert names == {"get_weather"}
    assert isinstance(json.loads(args[0]), dict)


def test_anthropic_sdk_plain_and_stream(ant):
    msg = ant.messages.create(model="claude-sonnet-5", max_tokens=8,
                              messages=[{"role": "user", "content": "Say hello."}])
    assert msg.type == "message" and msg.role == "assistant"
    assert msg.content[0].type == "text" and msg.content[0].text.strip()
    assert msg.stop_reason in ("end_turn", "max_tokens")
    assert msg.usage.input_tokens > 0 and 0 < msg.usage.output_tokens <= 8
    with ant.messages.stream(model="claude-sonnet-5", max_tokens=8,
                             messages=[{"role": "user", "content": "Say hello."}]) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text.strip() and final.content[0].text == text
    assert final.stop_reason in ("end_turn", "max_tokens")


@pytest.mark.parametrize("streaming", [False, True])
def test_anthropic_sdk_tool_round_trip(ant, streaming):
    messages = [{"role": "user", "content": ASK}]
    kwargs = dict(model="claude-sonnet-5", max_tokens=40, tools=[WEATHER_ANTHROPIC],
                  tool_choice={"type": "tool", "name": "get_weather"})
    if streaming:
        with ant.messages.stream(messages=messages, **kwargs) as stream:
            msg = stream.get_final_message()
    else:
        msg = ant.messages.create(messages=messages, **kwargs)
    uses = [b for b in msg.content if b.type == "tool_use"]
    assert uses and uses[0].name == "get_weather" and isinstance(uses[0].input, dict)
    assert msg.stop_reason == "tool_use"
    messages += [{"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in msg.content]},
                 {"role": "user", "content": [{"type": "tool_result", "tool_use_id": uses[0].id,
                                               "content": "Sunny, 21 C"}]}]
    final = ant.messages.create(model="claude-sonnet-5", max_tokens=12, messages=messages,
                                tools=[WEATHER_ANTHROPIC])
    assert final.stop_reason in ("end_turn", "max_tokens", "tool_use")
    assert final.content


def test_anthropic_count_tokens_is_the_backends_prompt_count(ant, oai):
    counted = ant.messages.count_tokens(model="claude-sonnet-5",
                                        messages=[{"role": "user", "content": "Say hello."}])
    direct = oai.chat.completions.create(model="x", max_tokens=1, messages=[{"role": "user", "content": "Say hello."}])
    assert counted.input_tokens == direct.usage.prompt_tokens > 0


def test_ledger_rows_for_the_local_backend(default_gateway, ant):
    import sqlite3

    from inhouse.gateway.prices import cost

    def rows_now() -> list[dict]:
        wait_ledger(default_gateway["url"])
        with sqlite3.connect(default_gateway["home"] / "inhouse.db") as conn:
            conn.row_factory = sqlite3.Row
            return [dict(r) for r in conn.execute("SELECT * FROM gateway_requests WHERE requested_model = ? "
                                                  "ORDER BY created_at", ("claude-sonnet-4-6",))]

    before = len(rows_now())
    ant.messages.create(model="claude-sonnet-4-6", max_tokens=6, messages=[{"role": "user", "content": "Ledger?"}])
    with ant.messages.stream(model="claude-sonnet-4-6", max_tokens=6,
                             messages=[{"role": "user", "content": "Ledger stream?"}]) as stream:
        streamed_text = "".join(stream.text_stream)
    deadline = time.monotonic() + 30  # a stream's row is queued once the gateway has closed it
    while len(rows := rows_now()) < before + 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    plain, streamed = rows[-2], rows[-1]
    for row in (plain, streamed):
        assert (row["backend"], row["kind"], row["status"], row["client_protocol"]) == ("local", "local", "ok", "anthropic")
        assert 0 < row["ttft_s"] <= row["duration_s"]
        assert row["saved_usd"] == pytest.approx(cost("claude-sonnet-4-6", row["prompt_tokens"], row["completion_tokens"]))
        assert row["saved_usd"] == row["cost_usd"] > 0
    assert plain["tokens_counted"] == "backend" and 0 < plain["completion_tokens"] <= 6
    # llama_cpp.server streams no usage: the model's own tokenizer counted the streamed reply
    assert streamed["tokens_counted"] == "local tokenizer" and streamed["prompt_tokens"] > 0
    assert streamed_text and 0 < streamed["completion_tokens"] <= 8


def test_a_stream_read_to_its_end_is_served_not_client_closed(default_gateway, oai):
    """The OpenAI SDK stops at [DONE] and closes the connection. The gateway ends the response as
    soon as [DONE] is relayed (the local tokenizer counts the reply afterwards, in the
    background), so the row says ok, with the tokens counted."""
    import sqlite3

    session = f"sdk-stream-{time.monotonic()}"
    stream = oai.chat.completions.create(model="local", stream=True, max_tokens=8,
                                         messages=[{"role": "user", "content": "Count to three."}],
                                         extra_headers={"x-session-id": session})
    text = "".join((c.choices[0].delta.content or "") for c in stream if c.choices)
    assert text
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        wait_ledger(default_gateway["url"])
        with sqlite3.connect(default_gateway["home"] / "inhouse.db") as conn:
            rows = conn.execute("SELECT status, tokens_counted, completion_tokens FROM gateway_requests "
                                "WHERE session = ?", (f"h:{session}",)).fetchall()
        if rows:
            break
        time.sleep(0.1)
    assert rows == [("ok", "local tokenizer", rows[0][2])] and 0 < rows[0][2] <= 10
