"""Hot reload with a real ``inhouse serve``: editing the config starts, restarts and stops managed
local servers (real llama_cpp.server processes with the default model), and a server that cannot
start leaves the rest serving with the error on /health."""

from __future__ import annotations

import shutil
import textwrap
import time
from pathlib import Path

import httpx
import psutil

from inhouse.models.defaults import PYPI_MODELS, DEFAULT_MODEL
from tests.gateway.conftest import fake_backend, serve

BASE = """
[[backend]]
name = "cloud"
kind = "openai"
url = "{fake}"
model = "ok"
"""
LOCAL = """
[[backend]]
name = "{name}"
kind = "local"
{extra}
"""
ROUTES = """
[[route]]
match = "local*"
chain = ["local", "cloud"]

[[route]]
match = "*"
chain = ["cloud"]
"""


def _write(path: Path, text: str) -> None:
    path.write_text(textwrap.dedent(text))


def _wait(url: str, check, what: str, timeout: float = 180) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        health = httpx.get(url + "/health", timeout=10).json()
        if check(health):
            return health
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not seen in {timeout:.0f} s; /health: {health}")
        time.sleep(0.3)


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _ask(url: str, model: str) -> dict:
    r = httpx.post(url + "/v1/chat/completions", timeout=120, headers={"x-session-id": str(time.monotonic())},
                   json={"model": model, "max_tokens": 4, "messages": [{"role": "user", "content": "Hi"}]})
    assert r.status_code == 200, r.text
    return r.json()


def test_reload_starts_restarts_and_stops_local_servers(tmp_path):
    config = tmp_path / "gateway.toml"
    with fake_backend(tmp_path) as (fake, _):
        _write(config, BASE.format(fake=fake) + ROUTES.replace('"local", ', ""))
        with serve(tmp_path / "home", "--config", str(config)) as (url, proc):
            gateway = psutil.Process(proc.pid)
            assert "local" not in httpx.get(url + "/health").json()["backends"]
            assert psutil.Process(proc.pid).children() == []

            # added: a managed local backend gets its server, and serves
            _write(config, BASE.format(fake=fake) + LOCAL.format(name="local", extra="") + ROUTES)
            health = _wait(url, lambda h: h["backends"].get("local", {}).get("server", {}).get("running"),
                           "the added local server running")
            first = health["backends"]["local"]["server"]["pid"]
            assert first in [c.pid for c in gateway.children()]
            assert health["config_error"] is None
            reply = _ask(url, "local")
            assert reply["model"] != "ok"  # not the fake cloud backend's answer

            # changed (its context): the old server stops, a new one starts
            _write(config, BASE.format(fake=fake) + LOCAL.format(name="local", extra="ctx = 1024") + ROUTES)
            health = _wait(url, lambda h: h["backends"]["local"].get("server", {}).get("pid") not in (None, first)
                           and h["backends"]["local"]["server"]["running"], "the restarted local server")
            second = health["backends"]["local"]["server"]["pid"]
            assert _gone(first) and second in [c.pid for c in gateway.children()]
            _ask(url, "local")

            # a managed backend that cannot start: the error is on /health, the rest still serves
            _write(config, BASE.format(fake=fake) + LOCAL.format(name="local", extra="ctx = 1024")
                   + LOCAL.format(name="ghost", extra='gguf = "/nonexistent/model.gguf"') + ROUTES)
            health = _wait(url, lambda h: "ghost" in h["backends"] and h["config_error"], "the ghost backend's error")
            assert "ghost" in health["config_error"] and health["backends"]["local"]["server"]["pid"] == second
            assert _ask(url, "anything")["model"] == "ok"

            # one whose model file appears after its start failed: retried, and serves once it starts
            later = tmp_path / "later.gguf"
            _write(config, BASE.format(fake=fake) + LOCAL.format(name="local", extra="ctx = 1024")
                   + LOCAL.format(name="late", extra=f'gguf = "{later}"\nctx = 1024') + ROUTES)
            health = _wait(url, lambda h: h["backends"].get("late", {}).get("server", {}).get("error"),
                           "the late backend's start failure")
            assert health["backends"]["late"]["server"]["running"] is False and health["config_error"]
            shutil.copy(PYPI_MODELS[DEFAULT_MODEL].locate(), later)
            health = _wait(url, lambda h: h["backends"]["late"].get("server", {}).get("running"),
                           "the late backend's server, retried")
            assert health["config_error"] is None and health["backends"]["late"]["available"]
            assert health["backends"]["local"]["server"]["pid"] == second

            # removed: its server stops
            _write(config, BASE.format(fake=fake) + ROUTES.replace('"local", ', ""))
            _wait(url, lambda h: "local" not in h["backends"] and not h["config_error"], "the local backend removed")
            deadline = time.monotonic() + 30
            while not _gone(second) and time.monotonic() < deadline:
                time.sleep(0.2)
            assert _gone(second)
            assert _ask(url, "local")["model"] == "ok"
