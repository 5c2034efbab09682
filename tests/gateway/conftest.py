"""Gateway fixtures: real ``inhouse serve`` processes and fake backends on 127.0.0.1, always stopped."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.helpers import free_port

ROOT = Path(__file__).resolve().parents[2]


def _env(home: Path) -> dict[str, str]:
    env = {**os.environ, "INHOUSE_HOME": str(home), "PYTHONUNBUFFERED": "1"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.pop("INHOUSE_API_KEY", None)
    return env


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_http(url: str, proc: subprocess.Popen, log: Path, timeout: float = 150) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            pytest.fail(f"process exited early ({proc.returncode}):\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            _stop(proc)
            pytest.fail(f"{url} did not answer in {timeout:.0f} s:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)


def wait_ledger(url: str, timeout: float = 30) -> None:
    """Wait until the gateway's ledger writer has written every row queued so far."""
    deadline = time.monotonic() + timeout
    while httpx.get(url + "/health", timeout=10).json().get("ledger_pending", 0):
        if time.monotonic() > deadline:
            pytest.fail(f"the ledger still had rows queued after {timeout:.0f} s")
        time.sleep(0.05)


@contextmanager
def serve(home: Path, *args: str, env: dict | None = None):
    """``inhouse serve --port P *args`` as a real process; yields (base URL, process)."""
    home.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = home / f"serve-{port}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "inhouse", "serve", "--port", str(port), *args],
                                stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, env={**_env(home), **(env or {})})
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url + "/health", proc, log)
        proc.log = log  # type: ignore[attr-defined]
        yield url, proc
    finally:
        _stop(proc)


@contextmanager
def fake_backend(tmp: Path, record: Path | None = None, events: Path | None = None):
    """tests/gateway/fake_backend.py as a process; with ``record``, every body it gets is appended
    there; with ``events``, what it noticed (a client hanging up on ``slow``)."""
    port = free_port()
    log = tmp / f"fake-{port}.log"
    env = _env(tmp) if record is None else {**_env(tmp), "FAKE_RECORD": str(record)}
    if events is not None:
        env["FAKE_EVENTS"] = str(events)
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "tests.gateway.fake_backend", str(port)],
                                stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url + "/v1/models", proc, log, timeout=30)
        yield url, proc
    finally:
        _stop(proc)


@pytest.fixture(scope="session")
def default_gateway(tmp_path_factory):
    """``inhouse serve`` with no config: the default model behind a supervised llama_cpp.server."""
    home = tmp_path_factory.mktemp("gw-default-home")
    with serve(home) as (url, proc):
        yield {"url": url, "process": proc, "home": home}
