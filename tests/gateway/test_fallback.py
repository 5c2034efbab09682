"""Fallback before the first byte and a clean error after it, with real processes on 127.0.0.1:
an ``inhouse serve`` in front of a fake backend process (tests/gateway/fake_backend.py) whose
behaviour each backend entry picks by model name, and a port where nothing listens."""

from __future__ import annotations

import json
import textwrap
import uuid

import anthropic
import httpx
import openai
import pytest

from tests.gateway.conftest import fake_backend, serve, wait_ledger
from tests.helpers import free_port


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("gw-fallback")
    with fake_backend(tmp) as (fake, _), fake_backend(tmp) as (dying, dying_proc), \
            fake_backend(tmp) as (dying2, dying2_proc):
        refused = f"http://127.0.0.1:{free_port()}"
        config = tmp / "gateway.toml"
        config.write_text(textwrap.dedent(f"""
            [[backend]]
            name = "good"
            kind = "openai"
            url = "{fake}"
            model = "ok"

            [[backend]]
            name = "good-anthropic"
            kind = "anthropic"
            url = "{fake}"
            model = "ok"

            [[backend]]
            name = "refused"
            kind = "openai"
            url = "{refused}"

            [[backend]]
            name = "limited"
            kind = "openai"
            url = "{fake}"
            model = "m429"

            [[backend]]
            name = "broken"
            kind = "openai"
            url = "{fake}"
            model = "m500"

            [[backend]]
            name = "stalled"
            kind = "openai"
            url = "{fake}"
            model = "stall"
            first_byte_timeout_s = 1

            [[backend]]
            name = "dying"
            kind = "openai"
            url = "{dying}"
            model = "die"

            [[backend]]
            name = "dying-anthropic"
            kind = "anthropic"
            url = "{dying2}"
            model = "die"

            [[backend]]
            name = "picky"
            kind = "openai"
            url = "{fake}"
            model = "bad"

            [[route]]
            match = "refused"
            chain = ["refused", "good"]

            [[route]]
            match = "limited"
            chain = ["limited", "good"]

            [[route]]
            match = "broken"
            chain = ["broken", "good"]

            [[route]]
            match = "stalled"
            chain = ["stalled", "good"]

            [[route]]
            match = "all-down"
            chain = ["refused", "broken"]

            [[route]]
            match = "dies"
            chain = ["dying", "good"]

            [[route]]
            match = "claude-dies"
            chain = ["dying-anthropic", "good"]

            [[route]]
            match = "via-anthropic"
            chain = ["good-anthropic"]

            [[route]]
            match = "picky"
            chain = ["picky", "good"]

            [[route]]
            match = "good*"
            chain = ["good"]

            [policy.privacy]  # these backends stand for the cloud; privacy has its own tests (test_policy_*)
            enabled = false
            """))
        home = tmp / "home"
        with serve(home, "--config", str(config)) as (url, proc):
            yield {"url": url, "dying_proc": dying_proc, "dying2_proc": dying2_proc, "home": home}


def _oai(gateway) -> openai.OpenAI:
    """A client with its own session id: session stickiness would otherwise keep every request of
    these tests (same first message) on the backend that served the first one."""
    return openai.OpenAI(base_url=gateway["url"] + "/v1", api_key="unused", max_retries=0, timeout=30,
                         default_headers={"x-session-id": uuid.uuid4().hex})


def _ask(gateway, model: str) -> str:
    with _oai(gateway) as client:
        resp = client.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}])
    return resp.choices[0].message.content


@pytest.mark.parametrize("model", ["refused", "limited", "broken", "stalled"])
def test_a_failing_first_backend_is_skipped_before_the_first_byte(gateway, model):
    assert _ask(gateway, model) == "fake reply from ok"
    health = httpx.get(gateway["url"] + "/health").json()
    assert health["backends"]["good"]["available"] is True


def test_429_retry_after_cools_the_backend(gateway):
    _ask(gateway, "limited")
    health = httpx.get(gateway["url"] + "/health").json()
    assert health["backends"]["limited"]["available"] is False, health


def test_a_session_stays_on_its_backend(gateway):
    with _oai(gateway) as client:
        first = client.chat.completions.create(model="good", messages=[{"role": "user", "content": "hi"}])
        again = client.chat.completions.create(model="broken", messages=[{"role": "user", "content": "hi"}])
    assert first.choices[0].message.content == again.choices[0].message.content == "fake reply from ok"


def test_every_backend_down_is_a_clean_503_in_the_clients_protocol(gateway):
    r = httpx.post(gateway["url"] + "/v1/messages", json={
        "model": "all-down", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]})
    assert r.status_code == 503
    body = r.json()
    assert body["type"] == "error" and "refused" in body["error"]["message"]


def test_a_backend_4xx_is_passed_back_not_retried(gateway):
    with _oai(gateway) as client, pytest.raises(openai.BadRequestError, match="refuses this request"):
        client.chat.completions.create(model="picky", messages=[{"role": "user", "content": "hi"}])


def test_streaming_fallback_and_openai_client_served_by_anthropic_backend(gateway):
    with _oai(gateway) as client:
        text = "".join(c.choices[0].delta.content or "" for c in client.chat.completions.create(
            model="refused", stream=True, messages=[{"role": "user", "content": "hi"}]) if c.choices)
        assert text == "fake reply from ok"
        resp = client.chat.completions.create(model="via-anthropic", messages=[{"role": "user", "content": "hi"}])
        assert resp.choices[0].message.content == "fake reply from ok"
        assert resp.choices[0].finish_reason == "stop"
        assert (resp.usage.prompt_tokens, resp.usage.completion_tokens) == (7, 4)
        chunks = list(client.chat.completions.create(model="via-anthropic", stream=True,
                                                     messages=[{"role": "user", "content": "hi"}]))
        assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "fake reply from ok"
        assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]


def test_a_backend_killed_mid_stream_ends_with_a_clean_error_event(gateway):
    # OpenAI client: the stream ends with an error chunk, which the SDK raises.
    with _oai(gateway) as client, pytest.raises(openai.APIError, match="mid-stream|end marker"):
        for _ in client.chat.completions.create(model="dies", stream=True,
                                                messages=[{"role": "user", "content": "hi"}]):
            pass
    assert gateway["dying_proc"].wait(timeout=10) != 0  # the backend process really died
    # Anthropic client: ``event: error``; the gateway stays up.
    with httpx.stream("POST", gateway["url"] + "/v1/messages", json={
            "model": "claude-dies", "max_tokens": 5, "stream": True,
            "messages": [{"role": "user", "content": "hi"}]}, timeout=30) as r:
        raw = r.read().decode()
    assert r.status_code == 200
    assert raw.startswith("event: message_start") and raw.rstrip().splitlines()[-2] == "event: error"
    assert gateway["dying2_proc"].wait(timeout=10) != 0
    assert httpx.get(gateway["url"] + "/health").status_code == 200


def test_100_concurrent_requests_all_answered_and_health_stays_up(gateway):
    import asyncio

    async def main():
        async with httpx.AsyncClient(timeout=60) as client:
            async def one(i):
                r = await client.post(gateway["url"] + "/v1/chat/completions", headers={"x-session-id": "burst"}, json={
                    "model": "good", "stream": i % 2 == 0, "messages": [{"role": "user", "content": "hi"}]})
                return r.status_code
            statuses = await asyncio.gather(*(one(i) for i in range(100)))
            health = await client.get(gateway["url"] + "/health")
            return statuses, health.status_code
    statuses, health = asyncio.run(main())
    assert statuses == [200] * 100 and health == 200
    rows = [r for r in _ledger_rows(gateway) if r["session"] == "h:burst"]
    assert len(rows) == 100 and {r["status"] for r in rows} == {"ok"}
    assert all((r["prompt_tokens"], r["completion_tokens"], r["tokens_counted"]) == (7, 4, "backend") for r in rows)


def _ledger_rows(gateway) -> list[dict]:
    import sqlite3

    wait_ledger(gateway["url"])
    with sqlite3.connect(gateway["home"] / "inhouse.db") as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute("SELECT * FROM gateway_requests ORDER BY created_at")]


@pytest.mark.parametrize("model,backend,reason", [("refused", "refused", "refused"), ("limited", "limited", "rate-limited"),
                                                  ("broken", "broken", "http-5xx"), ("stalled", "stalled", "timeout")])
def test_the_ledger_says_why_each_fallback_happened(gateway, model, backend, reason):
    rows = [r for r in _ledger_rows(gateway) if r["requested_model"] == model and r["status"] == "fallback-ok"]
    assert rows, f"no fallback-ok row for {model}"
    fallbacks = json.loads(rows[0]["fallbacks_json"])
    assert rows[0]["backend"] == "good" and fallbacks[0]["backend"] == backend and fallbacks[0]["reason"] == reason
    if reason == "rate-limited":
        assert fallbacks[0]["retry_after"] == 30


def test_the_ledger_has_the_mid_stream_failures_and_rejections(gateway):
    rows = _ledger_rows(gateway)
    died = [r for r in rows if r["requested_model"] in ("dies", "claude-dies") and r["backend"] in ("dying", "dying-anthropic")]
    assert {r["status"] for r in died} == {"error"} and all("mid-stream" in r["error"] or "end marker" in r["error"]
                                                            for r in died)
    assert len(died) == 2


# ---- bad input: a 4xx in the client's protocol, and the gateway stays up ---------------------------

@pytest.mark.parametrize("path,protocol", [("/v1/chat/completions", "openai"), ("/v1/messages", "anthropic")])
@pytest.mark.parametrize("case", ["malformed", "content-type", "huge", "deep", "unknown-model", "missing"])
def test_bad_input_gets_a_4xx_in_the_clients_protocol(gateway, path, protocol, case):
    good = {"model": "good", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}
    headers = {"content-type": "application/json"}
    if case == "malformed":
        content, status = b'{"model": "good", "messages": [', 400
    elif case == "content-type":
        content, status, headers = json.dumps(good).encode(), 415, {"content-type": "text/plain"}
    elif case == "huge":
        content, status = b'{"model": "good", "pad": "' + b"x" * (50 * 1024 * 1024) + b'"}', 413
    elif case == "deep":
        content, status = b'{"model": "good", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", 400
    elif case == "unknown-model":
        content, status = json.dumps({**good, "model": "no-such-model"}).encode(), 404
    else:
        content, status = json.dumps({"model": "good"}).encode(), 400
    r = httpx.post(gateway["url"] + path, content=content, headers=headers, timeout=60)
    assert r.status_code == status
    body = r.json()
    if protocol == "anthropic":
        assert body["type"] == "error" and body["error"]["message"] and "\n" not in body["error"]["message"]
    else:
        assert body["error"]["message"] and "\n" not in body["error"]["message"]
    assert httpx.get(gateway["url"] + "/health").status_code == 200


def test_anthropic_sdk_maps_gateway_errors(gateway):
    with anthropic.Anthropic(base_url=gateway["url"], api_key="unused", max_retries=0) as client:
        with pytest.raises(anthropic.NotFoundError, match="no route"):
            client.messages.create(model="no-such-model", max_tokens=5, messages=[{"role": "user", "content": "hi"}])


def test_the_ledger_has_a_row_for_each_rejection(gateway):  # runs after the bad-input tests above
    statuses = [r["http_status"] for r in _ledger_rows(gateway) if r["status"] == "rejected"]
    for status in (400, 404, 413, 415):
        assert status in statuses
