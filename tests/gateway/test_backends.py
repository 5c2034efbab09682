"""Backends: Retry-After, the circuit breaker (on a fake clock), what fits (checked against the
estimate at the next context step), and the local server as real processes on 127.0.0.1."""

from __future__ import annotations

import email.utils
import json
import os
import signal
import stat
import sys
import textwrap

import httpx
import pytest

from inhouse.errors import ConfigError, ModelNotFound, ServerUnreachable
from inhouse.gateway.backends import (
    MAX_RETRY_AFTER_S,
    BackendState,
    LocalServer,
    local_server_for,
    parse_retry_after,
    plan_local,
    retry_after_from_headers,
)
from inhouse.gateway.config import parse_config

# --- Retry-After ------------------------------------------------------------------------------


def test_retry_after_seconds_and_dates():
    assert parse_retry_after("120") == 120
    assert parse_retry_after(" 1.5 ") == 1.5
    assert parse_retry_after("-4") == 0
    assert parse_retry_after("") is None and parse_retry_after(None) is None
    assert parse_retry_after("soon") is None and parse_retry_after("nan") is None
    assert parse_retry_after("999999") == MAX_RETRY_AFTER_S
    now = 1_700_000_000.0
    date = email.utils.formatdate(now + 30, usegmt=True)  # "Tue, 14 Nov 2023 22:13:50 GMT"
    assert parse_retry_after(date, now=now) == pytest.approx(30)
    assert parse_retry_after(email.utils.formatdate(now - 30, usegmt=True), now=now) == 0


def test_retry_after_from_headers_prefers_milliseconds():
    assert retry_after_from_headers({"Retry-After-Ms": "250", "Retry-After": "9"}) == 0.25
    assert retry_after_from_headers({"retry-after": "7"}) == 7
    assert retry_after_from_headers({"retry-after-ms": "x", "retry-after": "3"}) == 3
    assert retry_after_from_headers({}) is None


# --- the circuit breaker ----------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_breaker_cools_after_n_failures_then_lets_one_try():
    clock = Clock()
    s = BackendState("cloud", max_failures=3, cooldown_s=30, clock=clock)
    assert s.available() and s.to_dict()["state"] == "unknown"
    s.record_failure("connection refused")
    s.record_failure("connection refused")
    assert s.available() and s.to_dict()["state"] == "down"  # two failures: still tried
    s.record_failure("connection refused")
    assert not s.available() and s.cooldown_left() == 30
    d = s.to_dict()
    assert d["state"] == "cooling" and d["last_error"] == "connection refused" and d["consecutive_failures"] == 3
    clock.t += 29.9
    assert not s.available()
    clock.t += 0.1
    assert s.available()  # half-open: one request may try
    s.record_failure("still refused")
    assert not s.available() and s.cooldown_left() == 30  # one more failure cools it again
    clock.t += 30
    s.record_success()
    assert s.available() and s.consecutive_failures == 0 and s.to_dict()["state"] == "up"
    s.record_failure("500")
    assert s.available()  # the count starts over after a success
    assert (s.successes, s.failures) == (1, 5)


def test_retry_after_cools_at_once_for_as_long_as_asked():
    clock = Clock()
    s = BackendState("cloud", max_failures=3, cooldown_s=30, clock=clock)
    s.record_failure("429 rate limited", retry_after_s=7)
    assert not s.available() and s.cooldown_left() == 7
    clock.t += 7
    assert s.available()
    s.record_failure("429", retry_after_s=100)  # the second failure; Retry-After beats the count
    s.record_failure("500")  # the third: cooldown_s (30) is shorter than what the server asked
    assert s.cooldown_left() == 100
    s.record_failure("429", retry_after_s=10 ** 9)
    assert s.cooldown_left() == MAX_RETRY_AFTER_S


def test_state_from_config_and_bad_settings():
    c = parse_config('[[backend]]\nname="c"\nkind="openai"\nmax_failures=1\ncooldown_s=5\n')
    s = BackendState.from_config(c.backend("c"), clock=Clock())
    s.record_failure("x")
    assert s.cooldown_left() == 5
    with pytest.raises(ConfigError):
        BackendState("x", max_failures=0)


# --- what fits --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def smol_spec():
    from inhouse.models.defaults import PYPI_MODELS
    from inhouse.models.gguf_header import read_header
    from inhouse.plan.spec import ModelSpec

    return ModelSpec.from_header(read_header(PYPI_MODELS["smollm2-135m-instruct"].locate()))


def _needs(spec, plan, n_ctx):
    """The estimate for ``plan``'s cache types at ``n_ctx``, as ``inhouse fit`` computes it."""
    from inhouse.plan.estimate import estimate
    from inhouse.plan.settings import LoadSettings

    return estimate(spec, LoadSettings(n_ctx=n_ctx, type_k=plan.type_k, type_v=plan.type_v,
                                       flash_attn=plan.flash_attn)).ram_bytes


def test_plenty_of_memory_gets_the_trained_context_and_f16_caches(smol_spec):
    p = plan_local(None, budget_bytes=64 << 30)
    assert p.model_name == "smollm2-135m-instruct" and p.path.is_file()
    assert (p.n_ctx, p.type_k, p.type_v, p.flash_attn) == (8192, "f16", "f16", False)  # SmolLM2 trains at 8192
    assert p.needs_bytes == _needs(smol_spec, p, 8192) and p.needs_bytes <= p.budget_bytes
    assert plan_local(None, budget_bytes=64 << 30, max_ctx=2048).n_ctx == 2048


def test_short_memory_gets_the_largest_context_that_fits_with_quantized_caches(smol_spec):
    budget = 200 << 20
    p = plan_local(None, budget_bytes=budget)
    assert p.type_v != "f16" and p.flash_attn  # f16 caches leave too little context here
    assert p.needs_bytes <= budget < _needs(smol_spec, p, p.n_ctx + 256)  # the next step of 256 would not fit
    assert 1024 <= p.n_ctx < 8192


def test_a_context_that_does_not_fit_is_refused_with_one_that_does(smol_spec):
    budget = 300 << 20
    with pytest.raises(ConfigError) as info:
        plan_local(None, ctx=8192, budget_bytes=budget, name="mine")
    msg = str(info.value)
    assert msg.startswith('backend "mine": smollm2-135m-instruct with ctx 8192 (K f16 / V f16) needs ')
    fits = int(msg.split("lower ctx to ")[1].split(",")[0])
    ok = plan_local(None, ctx=fits, budget_bytes=budget)
    assert ok.needs_bytes <= budget < _needs(smol_spec, ok, fits + 256)
    assert plan_local(None, ctx=2048, cache_type_k="q8_0", cache_type_v="q8_0", budget_bytes=budget).flash_attn


def test_a_model_that_does_not_fit_at_all():
    with pytest.raises(ConfigError, match="does not fit: it needs .* even with 256 tokens"):
        plan_local(None, budget_bytes=32 << 20)
    with pytest.raises(ConfigError, match="fits only 256 tokens of context"):
        plan_local(None, budget_bytes=150 << 20)
    with pytest.raises(ModelNotFound):
        plan_local("no-such-model")


# --- the local server -------------------------------------------------------------------------

FAKE_LLAMA_SERVER = """\
#!{python}
# A stand-in for llama.cpp's llama-server: records its argv, answers GET /v1/models.
import json, sys
from http.server import BaseHTTPRequestHandler, HTTPServer
args = sys.argv[1:]
with open({record!r}, "a") as f:
    f.write(json.dumps(args) + "\\n")
port = int(args[args.index("--port") + 1])
alias = args[args.index("--alias") + 1]
class H(BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({{"object": "list", "data": [{{"id": alias}}]}}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
print("fake llama-server listening", flush=True)
HTTPServer(("127.0.0.1", port), H).serve_forever()
"""


@pytest.fixture
def fake_llama_server(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    record = tmp_path / "argv.jsonl"
    exe = bin_dir / "llama-server"
    exe.write_text(FAKE_LLAMA_SERVER.format(python=sys.executable, record=str(record)))
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return exe, record


def _models(server) -> list[str]:
    return [m["id"] for m in httpx.get(f"{server.endpoint}/v1/models", timeout=5).json()["data"]]


def test_llama_server_on_path_is_used_with_the_planned_settings_and_supervised(fake_llama_server):
    exe, record = fake_llama_server
    server = LocalServer(None, ctx=2048, cache_type_k="q8_0", cache_type_v="q8_0", alias="here",
                         threads=2, budget_bytes=8 << 30, max_restarts=1)
    try:
        assert server.llama_server == str(exe) and server.label == "llama-server"
        server.start()
        assert _models(server) == ["here"]
        argv = json.loads(record.read_text().splitlines()[0])
        opts = dict(zip(argv[0:-1:2], argv[1::2]))
        assert argv[0] == "--model" and argv[1].endswith("SmolLM2-135M-Instruct.Q4_1.gguf")
        assert opts["--host"] == "127.0.0.1" and opts["--port"] == str(server.port)
        assert (opts["--ctx-size"], opts["--cache-type-k"], opts["--cache-type-v"]) == ("2048", "q8_0", "q8_0")
        assert opts["--flash-attn"] == "on" and opts["--threads"] == "2" and "--jinja" in argv

        assert server.supervise() is False  # alive: nothing to do
        first = server.pid
        os.kill(first, signal.SIGKILL)
        server.proc.wait()
        assert server.supervise() is True  # died on its own: started again, same endpoint
        assert server.pid != first and _models(server) == ["here"]
        assert "exited with code -9" in server.last_exit and "fake llama-server listening" in server.last_exit
        assert len(record.read_text().splitlines()) == 2

        os.kill(server.pid, signal.SIGKILL)  # a second crash within the window: max_restarts=1
        server.proc.wait()
        with pytest.raises(ServerUnreachable, match='backend "local": the local server crashed 2 times'):
            server.supervise()
        assert not server.running and server.supervise() is False
    finally:
        server.stop()
    assert not server.running


def test_a_stopped_server_is_not_restarted(fake_llama_server):
    server = LocalServer(None, ctx=1024, budget_bytes=8 << 30).start()
    server.stop()
    assert server.proc.poll() is not None and server.supervise() is False and not server.running
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"{server.endpoint}/v1/models", timeout=2)


def test_a_failed_start_raises_one_line_and_leaves_nothing_running(tmp_path):
    script = tmp_path / "boom.py"
    script.write_text(textwrap.dedent("""\
        print("loading model")
        print("error: could not load the model")
        raise SystemExit(3)
        """))

    class Boom(LocalServer):
        def command(self):
            return [sys.executable, str(script)]

    server = Boom(None, ctx=1024, budget_bytes=8 << 30, llama_server=False)
    with pytest.raises(ServerUnreachable) as info:
        server.start()
    msg = str(info.value)
    assert "\n" not in msg and "exited with code 3 while starting" in msg and "could not load the model" in msg
    assert server.proc.poll() == 3 and not server.running


def test_real_llama_cpp_server_starts_answers_and_stops():
    """The default model behind ``python -m llama_cpp.server``, from a config's backend."""
    backend = parse_config('[[backend]]\nname="local"\nkind="local"\nctx=1024\nmodel="smol"\n').backend("local")
    server = local_server_for(backend, threads=2, llama_server=False, budget_bytes=8 << 30)
    assert server.label == "llama_cpp.server" and server.plan.n_ctx == 1024
    try:
        server.start()
        assert _models(server) == ["smol"] and server.load_s > 0
        reply = httpx.post(f"{server.endpoint}/v1/chat/completions", timeout=60, json={
            "model": "smol", "max_tokens": 3, "temperature": 0,
            "messages": [{"role": "user", "content": "Say hi"}]}).json()
        assert reply["usage"]["completion_tokens"] <= 3 and reply["choices"][0]["message"]["role"] == "assistant"
        info = server.to_dict()
        assert info["running"] and info["n_ctx"] == 1024 and info["alias"] == "smol"
    finally:
        server.stop()
    assert server.proc.poll() is not None


def test_local_server_for_refuses_a_backend_at_a_url():
    backend = parse_config('[[backend]]\nname="o"\nkind="local"\nurl="http://127.0.0.1:1"\n').backend("o")
    with pytest.raises(ConfigError, match='backend "o" is not a local server inhouse starts'):
        local_server_for(backend)
