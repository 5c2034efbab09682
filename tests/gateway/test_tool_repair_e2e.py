"""Tool-call repair end to end: a real fake *local* backend process writes its tool call as text
(``<tool_call>{...}</tool_call>``, as small local models do); through a real ``inhouse serve`` the
official OpenAI and Anthropic SDK clients get a structured tool call, streaming and not, and each
request's ledger row counts the repair."""

from __future__ import annotations

import json
import sqlite3
import textwrap
import time

import anthropic
import openai
import pytest

from tests.gateway.conftest import fake_backend, serve, wait_ledger
from tests.gateway.fake_backend import TOOL_TEXT

WEATHER_OPENAI = {"type": "function", "function": {
    "name": "get_weather", "description": "Weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
WEATHER_ANTHROPIC = {"name": "get_weather", "description": "Weather in a city",
                     "input_schema": WEATHER_OPENAI["function"]["parameters"]}
ASK = [{"role": "user", "content": "Weather in Paris?"}]


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("gw-repair")
    with fake_backend(tmp) as (fake, _):
        config = tmp / "gateway.toml"
        config.write_text(textwrap.dedent(f"""
            [[backend]]
            name = "small-local"
            kind = "local"
            url = "{fake}"
            model = "toolcall-text"

            [[route]]
            match = "*"
            chain = ["small-local"]
            """))
        with serve(tmp / "home", "--config", str(config)) as (url, _proc):
            yield {"url": url, "home": tmp / "home"}


def _oai(gateway):
    return openai.OpenAI(base_url=gateway["url"] + "/v1", api_key="unused", max_retries=0, timeout=30)


def _ant(gateway):
    return anthropic.Anthropic(base_url=gateway["url"], api_key="unused", max_retries=0, timeout=30)


def _row(gateway, model: str) -> dict:
    deadline = time.monotonic() + 30  # a stream's row is queued once the gateway has closed the stream
    while True:
        wait_ledger(gateway["url"])
        with sqlite3.connect(gateway["home"] / "inhouse.db") as conn:
            conn.row_factory = sqlite3.Row
            rows = [dict(r) for r in conn.execute("SELECT * FROM gateway_requests WHERE requested_model = ?",
                                                  (model,))]
        if rows or time.monotonic() > deadline:
            assert len(rows) == 1, rows
            return rows[0]
        time.sleep(0.1)


def _check_openai(message, finish_reason) -> None:
    assert finish_reason == "tool_calls"
    (call,) = message.tool_calls
    assert call.type == "function" and call.function.name == "get_weather" and call.id
    assert json.loads(call.function.arguments) == {"city": "Paris"}
    assert (message.content or "").strip() == "Let me check."


def _check_anthropic(message) -> None:
    assert message.stop_reason == "tool_use"
    uses = [b for b in message.content if b.type == "tool_use"]
    assert [(u.name, u.input) for u in uses] == [("get_weather", {"city": "Paris"})] and uses[0].id
    assert "".join(b.text for b in message.content if b.type == "text").strip() == "Let me check."


def test_openai_client_gets_a_structured_tool_call(gateway):
    with _oai(gateway) as client:
        resp = client.chat.completions.create(model="oai-plain", messages=ASK, tools=[WEATHER_OPENAI])
    _check_openai(resp.choices[0].message, resp.choices[0].finish_reason)
    assert _row(gateway, "oai-plain")["tool_repairs"] == 1


def test_openai_stream_gets_a_structured_tool_call(gateway):
    with _oai(gateway) as client, client.chat.completions.stream(
            model="oai-stream", messages=ASK, tools=[WEATHER_OPENAI]) as stream:
        final = stream.get_final_completion()
    _check_openai(final.choices[0].message, final.choices[0].finish_reason)
    assert _row(gateway, "oai-stream")["tool_repairs"] == 1


def test_anthropic_client_gets_a_tool_use_block(gateway):
    with _ant(gateway) as client:
        message = client.messages.create(model="claude-plain", max_tokens=64, messages=ASK, tools=[WEATHER_ANTHROPIC])
    _check_anthropic(message)
    row = _row(gateway, "claude-plain")
    assert (row["tool_repairs"], row["client_protocol"], row["backend"], row["kind"]) == (1, "anthropic",
                                                                                       "small-local", "local")


def test_anthropic_stream_gets_a_tool_use_block(gateway):
    with _ant(gateway) as client, client.messages.stream(
            model="claude-stream", max_tokens=64, messages=ASK, tools=[WEATHER_ANTHROPIC]) as stream:
        message = stream.get_final_message()
    _check_anthropic(message)
    assert _row(gateway, "claude-stream")["tool_repairs"] == 1


def test_without_declared_tools_the_text_is_left_alone(gateway):
    with _oai(gateway) as client:
        resp = client.chat.completions.create(model="oai-notools", messages=ASK)
    assert resp.choices[0].message.content == TOOL_TEXT and not resp.choices[0].message.tool_calls
    assert _row(gateway, "oai-notools")["tool_repairs"] == 0
