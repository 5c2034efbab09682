"""The privacy policy end to end: a real ``inhouse serve`` in front of a fake local backend and a
RECORDING fake cloud backend (every body it receives is written to a file). Every planted secret
and private path of the corpus, in every position, both protocols, streamed and not, must never
be in what the cloud recorded; in redact mode the client still gets the original values back."""

from __future__ import annotations

import json
import sqlite3
import textwrap
from pathlib import Path

import httpx
import pytest

from tests.gateway.conftest import fake_backend, serve
from tests.gateway.privacy_corpus import RULES, planted_cases, secrets
from tests.helpers import free_port


def _toml_list(values):
    return "[" + ", ".join(json.dumps(v) for v in values) + "]"


def _privacy_toml(extra: str = "") -> str:
    return (f"[policy.privacy]\nmarkers = {_toml_list(RULES['markers'])}\npatterns = {_toml_list(RULES['patterns'])}\n"
            f"paths = {_toml_list(RULES['paths'])}\n{extra}")


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    home = tmp_path_factory.mktemp("policy-home")
    mp = pytest.MonkeyPatch()
    mp.setenv("HOME", str(home))  # the corpus's ~/work/acme paths expand under it, here and in the gateway
    yield home
    mp.undo()


@pytest.fixture(scope="module")
def private_repo(home):
    repo = home / "src" / "secret-project"
    (repo / "src").mkdir(parents=True)
    (repo / ".inhouse-private").write_text("")
    return str(repo)


def _post(url: str, protocol: str, body: dict, stream: bool, headers: dict | None = None) -> httpx.Response:
    path = "/v1/messages" if protocol == "anthropic" else "/v1/chat/completions"
    body = {**body, "stream": stream}
    return httpx.post(url + path, json=body, timeout=60, headers=headers)


def _text(protocol: str, r: httpx.Response, stream: bool) -> str:
    """The reply's text, from a whole body or the SSE stream."""
    if not stream:
        data = r.json()
        if protocol == "anthropic":
            return "".join(b.get("text", "") for b in data["content"])
        return data["choices"][0]["message"]["content"] or ""
    out = []
    for line in r.text.splitlines():
        if not line.startswith("data: ") or line == "data: [DONE]":
            continue
        d = json.loads(line[6:])
        if protocol == "anthropic" and d.get("type") == "content_block_delta":
            out.append(d["delta"].get("text", ""))
        elif protocol == "openai":
            for c in d.get("choices") or []:
                out.append((c.get("delta") or {}).get("content") or "")
    return "".join(out)


@pytest.fixture(scope="module")
def gateway(home, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("gw-policy")
    record = tmp / "cloud-bodies.jsonl"
    with fake_backend(tmp) as (local, _), fake_backend(tmp, record=record) as (cloud, _):
        config = tmp / "gateway.toml"
        config.write_text(textwrap.dedent(f"""
            [[backend]]
            name = "local"
            kind = "local"
            url = "{local}"
            model = "ok"

            [[backend]]
            name = "downlocal"
            kind = "local"
            url = "http://127.0.0.1:{free_port()}"

            [[backend]]
            name = "cloud-oa"
            kind = "openai"
            url = "{cloud}"
            model = "echo"

            [[backend]]
            name = "cloud-an"
            kind = "anthropic"
            url = "{cloud}"
            model = "echo"

            [[route]]
            match = "nolocal-*"
            chain = ["cloud-oa", "downlocal"]

            [[route]]
            match = "claude-*"
            chain = ["cloud-an", "local"]

            [[route]]
            match = "*"
            chain = ["cloud-oa", "local"]
            """) + _privacy_toml())
        with serve(home / "gw", "--config", str(config), env={"HOME": str(home)}) as (url, proc):
            yield {"url": url, "record": record, "home": home / "gw"}


def _recorded(record: Path) -> str:
    return record.read_text() if record.exists() else ""


def test_a_clean_request_reaches_the_cloud_and_is_recorded(gateway):
    """The recorder works: without this the leak test below could not fail."""
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "rename the variable tmp to total"}]}
    r = _post(gateway["url"], "openai", body, False)
    assert r.status_code == 200, r.text
    assert _text("openai", r, False) == "rename the variable tmp to total"  # the echoing cloud answered
    assert "rename the variable tmp to total" in _recorded(gateway["record"])


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_no_planted_value_ever_reaches_the_cloud(gateway, private_repo, stream, home, monkeypatch):
    monkeypatch.setenv("HOME", str(home))  # the gateway's HOME (tests get their own by default)
    cases = planted_cases(private_repo)
    assert len(cases) >= 40 and {c.protocol for c in cases} == {"openai", "anthropic"}
    for case in cases:
        r = _post(gateway["url"], case.protocol, case.body, stream)
        assert r.status_code == 200, (case.id, r.text)
        assert _text(case.protocol, r, stream) == "fake reply from ok", case.id  # the local backend answered
    recorded = _recorded(gateway["record"])
    leaked = [c.id for c in cases if c.value in recorded or json.dumps(c.value)[1:-1] in recorded]
    assert leaked == []


def test_the_ledger_holds_no_planted_value_and_explains_the_findings(gateway, private_repo, home, monkeypatch):
    monkeypatch.setenv("HOME", str(home))
    db = next(Path(gateway["home"]).rglob("inhouse.db"))
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT * FROM gateway_requests").fetchall()
        private = conn.execute("SELECT reasons_json, backend FROM gateway_requests WHERE reasons_json LIKE "
                               "'%privacy: %finding%'").fetchall()
    dump = json.dumps(rows)
    _, values = secrets()
    assert rows and [n for n, v in values.items() if v in dump or json.dumps(v)[1:-1] in dump] == []
    assert private and all(backend == "local" for _, backend in private)
    reasons = json.loads(private[0][0])
    assert any("never sent to cloud" in r for r in reasons)


@pytest.mark.parametrize("protocol", ["openai", "anthropic"])
def test_private_with_no_local_backend_up_is_refused_in_the_clients_protocol(gateway, protocol):
    before = _recorded(gateway["record"])
    body = {"model": "nolocal-x", "max_tokens": 20,
            "messages": [{"role": "user", "content": "deploy with 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"}]}
    for stream in (False, True):
        r = _post(gateway["url"], protocol, body, stream)
        assert r.status_code == 503
        message = r.json()["error"]["message"]
        assert "private" in message and "not sent to the cloud" in message
        assert (r.json().get("type") == "error") == (protocol == "anthropic")
    assert _recorded(gateway["record"]) == before


# a private value holding a quote, a backslash, a newline and a control character
VAULT = 'VAULT{pa"ss\\word\nline two\ttab\x07}'
VAULT_RULE = "[[policy.privacy.rule]]\nname = \"vault\"\npatterns = ['VAULT\\{[^}]*\\}']\nmode = \"redact\"\n"


@pytest.fixture(scope="module")
def redacting(home, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("gw-redact")
    record = tmp / "cloud-bodies.jsonl"
    with fake_backend(tmp, record=record) as (cloud, _):
        config = tmp / "gateway.toml"
        config.write_text(textwrap.dedent(f"""
            [[backend]]
            name = "cloud-oa"
            kind = "openai"
            url = "{cloud}"
            model = "echo"

            [[backend]]
            name = "cloud-an"
            kind = "anthropic"
            url = "{cloud}"
            model = "echo"

            [[backend]]
            name = "cloud-oa-tool"
            kind = "openai"
            url = "{cloud}"
            model = "echo-tool"

            [[backend]]
            name = "cloud-an-tool"
            kind = "anthropic"
            url = "{cloud}"
            model = "echo-tool"

            [[route]]
            match = "claude-tool-*"
            chain = ["cloud-an-tool"]

            [[route]]
            match = "tool-*"
            chain = ["cloud-oa-tool"]

            [[route]]
            match = "claude-*"
            chain = ["cloud-an"]

            [[route]]
            match = "*"
            chain = ["cloud-oa"]
            """) + _privacy_toml('mode = "redact"\nsecrets_mode = "redact"\n' + VAULT_RULE))
        with serve(home / "gw-redact", "--config", str(config), env={"HOME": str(home)}) as (url, proc):
            yield {"url": url, "record": record}


@pytest.mark.parametrize("protocol", ["openai", "anthropic"])
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_redact_mode_sends_placeholders_and_restores_the_reply(redacting, protocol, stream):
    values = ["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", "the Bluebird migration", "ticket ACME-123456"]
    text = "Fix the deploy: token " + values[0] + ", about " + values[1] + " and " + values[2] + "."
    body = {"model": "claude-x" if protocol == "anthropic" else "gpt-4o", "max_tokens": 50,
            "messages": [{"role": "user", "content": text}]}
    r = _post(redacting["url"], protocol, body, stream)
    assert r.status_code == 200, r.text
    assert _text(protocol, r, stream) == text  # the cloud echoed placeholders; the client gets the values
    recorded = _recorded(redacting["record"])
    assert "⟦" in recorded.encode().decode("unicode_escape", "ignore") or "\\u27e6" in recorded
    for secret in ("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", "Bluebird", "ACME-123456"):
        assert secret not in recorded


def _tool_arguments(protocol: str, r: httpx.Response, stream: bool) -> str:
    """The reply's one tool call's arguments, as the JSON text the client gets (whole or streamed)."""
    if not stream:
        data = r.json()
        if protocol == "anthropic":
            (block,) = [b for b in data["content"] if b["type"] == "tool_use"]
            return json.dumps(block["input"])
        (call,) = data["choices"][0]["message"]["tool_calls"]
        return call["function"]["arguments"]
    out = []
    for line in r.text.splitlines():
        if not line.startswith("data: ") or line == "data: [DONE]":
            continue
        d = json.loads(line[6:])
        if protocol == "anthropic" and d.get("type") == "content_block_delta":
            out.append(d["delta"].get("partial_json", ""))
        elif protocol == "openai":
            for c in d.get("choices") or []:
                for call in (c.get("delta") or {}).get("tool_calls") or []:
                    out.append((call.get("function") or {}).get("arguments") or "")
    return "".join(out)


@pytest.mark.parametrize("protocol", ["openai", "anthropic"])
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_redact_mode_restores_values_inside_tool_call_arguments_as_valid_json(redacting, protocol, stream):
    text = f"Store {VAULT} and 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."
    tools = ([{"name": "record", "description": "r", "input_schema": {"type": "object"}}] if protocol == "anthropic"
             else [{"type": "function", "function": {"name": "record", "parameters": {"type": "object"}}}])
    body = {"model": "claude-tool-x" if protocol == "anthropic" else "tool-x", "max_tokens": 50, "tools": tools,
            "messages": [{"role": "user", "content": text}]}
    r = _post(redacting["url"], protocol, body, stream)
    assert r.status_code == 200, r.text
    args = _tool_arguments(protocol, r, stream)
    assert json.loads(args) == {"text": text}  # the cloud echoed placeholders; the value is back, escaped
    recorded = _recorded(redacting["record"])
    for secret in ("VAULT{", "line two", "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"):
        assert secret not in recorded
