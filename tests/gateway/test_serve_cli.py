"""``inhouse serve`` refuses to start, with one line, when it must; the router decision is pure."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

from inhouse.gateway.config import RouteConfig
from inhouse.gateway.router import NoRoute, ParsedRequest, decide, session_key
from tests.gateway.conftest import ROOT, _env, fake_backend, serve


def _serve(tmp_path: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "inhouse", "serve", *args], capture_output=True, text=True,
                          cwd=ROOT, env={**_env(tmp_path), **(env or {})}, timeout=60)


def test_non_loopback_without_a_key_refuses_in_one_line(tmp_path):
    r = _serve(tmp_path, "--host", "0.0.0.0", "--port", "1")
    assert r.returncode == 1
    assert r.stderr.strip().count("\n") == 0 and "without an API key" in r.stderr


def test_an_invalid_config_file_refuses_naming_the_line(tmp_path):
    bad = tmp_path / "gateway.toml"
    bad.write_text('[[backend]]\nname = "cloud"\nkind = "openai"\nurl = "http://127.0.0.1:9"\napi_key_env = 3\n')
    r = _serve(tmp_path, "--config", str(bad))
    assert r.returncode == 1
    assert r.stderr.strip().count("\n") == 0 and "gateway.toml:5" in r.stderr


def test_api_key_is_required_when_set(tmp_path):
    with fake_backend(tmp_path) as (fake, _):
        config = tmp_path / "gateway.toml"
        config.write_text(f'[[backend]]\nname = "good"\nkind = "openai"\nurl = "{fake}"\nmodel = "ok"\n\n'
                          f'[[route]]\nmatch = "*"\nchain = ["good"]\n'
                          '[policy.privacy]\nenabled = false\n')  # a stand-in cloud; privacy: test_policy_*
        with serve(tmp_path / "home", "--config", str(config), env={"INHOUSE_API_KEY": "s3cret"}) as (url, _):
            body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 5}
            assert httpx.post(url + "/v1/chat/completions", json=body).status_code == 401
            denied = httpx.post(url + "/v1/messages", json=body, headers={"x-api-key": "wrong"})
            assert denied.status_code == 401 and denied.json()["type"] == "error"
            ok = httpx.post(url + "/v1/messages", json=body, headers={"x-api-key": "s3cret"})
            assert ok.status_code == 200 and ok.json()["content"][0]["text"] == "fake reply from ok"
            assert httpx.post(url + "/v1/chat/completions", json=body,
                              headers={"authorization": "Bearer s3cret"}).status_code == 200


def _req(model: str, **body) -> ParsedRequest:
    return ParsedRequest("anthropic", model, {"model": model, **body}, "s")


def test_decide_orders_the_chain_and_says_why():
    routes = [RouteConfig("claude-*", ("local", "cloud")), RouteConfig("*", ("local",))]
    route = decide(_req("claude-sonnet-5"), routes, available={"local": True, "cloud": True})
    assert route.chain == ("local", "cloud") and route.name == "claude-*" and len(route.reasons) == 1
    cooled = decide(_req("claude-sonnet-5"), routes, available={"local": False, "cloud": True})
    assert cooled.chain == ("cloud", "local") and "cooling" in cooled.reasons[-1]
    sticky = decide(_req("claude-sonnet-5"), routes, available={"local": True, "cloud": True}, sticky="cloud")
    assert sticky.chain == ("cloud", "local") and "session" in sticky.reasons[-1]
    assert decide(_req("gpt-4o"), routes, available={}).chain == ("local",)
    try:
        decide(_req("x"), [RouteConfig("claude-*", ("cloud",))], available={})
    except NoRoute as exc:
        assert "claude-*" in str(exc)
    else:
        raise AssertionError("no route must raise NoRoute")


def test_session_key_sources():
    body = {"messages": [{"role": "user", "content": "hi"}], "system": "be brief"}
    assert session_key("anthropic", body, {"X-Session-Id": "abc"}) == "h:abc"
    assert session_key("anthropic", {**body, "metadata": {"user_id": "u1"}}, {}) == "u:u1"
    same = session_key("anthropic", {**body, "messages": body["messages"] + [{"role": "assistant", "content": "ok"}]}, {})
    assert session_key("anthropic", body, {}) == same
    assert session_key("anthropic", {**body, "system": "other"}, {}) != same


def test_stopping_serve_stops_its_local_server(tmp_path):
    import signal

    with serve(tmp_path / "home") as (url, proc):
        assert httpx.get(url + "/health").json()["backends"]["local"]["available"] is True
        children = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()
        assert children, "inhouse serve started no local server"
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    for pid in children:
        assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text().lower(), \
            f"local server {pid} outlived inhouse serve"
