"""Careless input, as a user types it, through the real command (issue 14): every bad value is one
line and a non-zero exit, never a traceback; the small things a user sees are true."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

import pytest

from tests.helpers import OneRouteServer, free_port

MODEL = "smollm2-135m-instruct"


def run_cli(*args, env=None, timeout=300):
    return subprocess.run([sys.executable, "-m", "inhouse", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


def assert_one_line_error(result, *needles, code=1):
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def assert_usage_error(result, needle):
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr and needle in result.stderr


def sse_reply(text: str):
    """A handler answering every chat request like an OpenAI server: ``text``, then [DONE]."""
    def respond(h):
        h.send_response(200)
        h.send_header("Content-Type", "text/event-stream")
        h.end_headers()
        for chunk in ({"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]},
                      {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
                       "usage": {"prompt_tokens": 5, "completion_tokens": 3}}):
            h.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
        h.wfile.write(b"data: [DONE]\n\n")
    return respond


# ---- --endpoint ---------------------------------------------------------------------------------

def test_endpoint_spellings_are_one_line_in_chat_bench_and_eval():
    port = free_port()
    for cmd in (["chat", "hi"], ["bench", "--model", "x", "-d", "0", "--reps", "1"], ["eval", "--limit", "1"]):
        assert_one_line_error(run_cli(*cmd, "--endpoint", "not-a-url"), "not a URL", "http://HOST:PORT")
        assert_one_line_error(run_cli(*cmd, "--endpoint", "http://256.1.1.1:9"), "not an IPv4 address")
        # a bare host:port is http://host:port: nothing listens there, and the message says so
        assert_one_line_error(run_cli(*cmd, "--endpoint", f"localhost:{port}"),
                              f"Cannot reach http://localhost:{port}")
    assert_one_line_error(run_cli("chat", "hi", "--endpoint", "127.0.0.1:9"), "Cannot reach http://127.0.0.1:9")


def test_a_bare_host_port_reaches_the_server():
    with OneRouteServer(sse_reply("hello from the server")) as srv:
        result = run_cli("chat", "hi", "--endpoint", srv.url.removeprefix("http://"))
    assert result.returncode == 0, result.stderr
    assert "hello from the server" in result.stdout


# ---- --ctx --------------------------------------------------------------------------------------

def test_fit_context_beyond_llama_cpp_and_above_training():
    trained = {m["name"]: m["context_length"] for m in json.loads(run_cli("models", "--json").stdout)["models"]}
    line = assert_one_line_error(run_cli("fit", "--ctx", str(10**12)), "beyond what llama.cpp can hold",
                                 str(2**31))
    assert str(trained[MODEL]) in line  # and the context the model was trained for
    result = run_cli("fit", "--ctx", str(2 * trained[MODEL]), "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["n_ctx_train"] == trained[MODEL]
    [warning] = data["warnings"]
    assert f"above the {trained[MODEL]} tokens" in warning
    assert "Warning:" in result.stderr and "Traceback" not in result.stderr
    ok = run_cli("fit", "--ctx", str(trained[MODEL]), "--json")
    assert json.loads(ok.stdout)["warnings"] == [] and ok.stderr == ""


def test_chat_context_is_checked_before_loading():
    t0 = time.monotonic()
    assert_one_line_error(run_cli("chat", "hi", "--ctx", str(10**12)), "beyond what llama.cpp can hold")
    # within llama.cpp's limit, but no machine holds a 10**9-token KV cache for this model
    assert_one_line_error(run_cli("chat", "hi", "--ctx", str(10**9)), "of RAM and swap", "give a smaller --ctx")
    assert time.monotonic() - t0 < 240  # was 37 s for the first alone, then a wrong "file may be damaged"
    assert_usage_error(run_cli("chat", "hi", "--ctx", "8192", "--endpoint", "http://127.0.0.1:9"), "--endpoint")


def test_recommend_min_context():
    assert_one_line_error(run_cli("fit", "--recommend", "--min-context", str(10**12)), "--min-context",
                          "beyond what llama.cpp can hold")


# ---- --budget -----------------------------------------------------------------------------------

def test_budget_needs_a_unit_and_help_says_so():
    assert_one_line_error(run_cli("fit", "--budget", "12"), "no unit", "12GiB")
    assert_one_line_error(run_cli("fit", "--budget", "0GiB"), "no memory")
    help_text = " ".join(run_cli("fit", "--help").stdout.split())
    assert "a bare number is an error" in help_text


# ---- eval: --resume and --limit -----------------------------------------------------------------

def _counting_server(fail_on: int):
    """An OpenAI-style server whose ``fail_on``-th request answers HTTP 500 (like a crash mid-run)."""
    seen = []
    reply = sse_reply('{"ok": true}')

    def respond(h):
        seen.append(1)
        if len(seen) == fail_on:
            h.send_response(500)
            h.end_headers()
            h.wfile.write(b"boom")
            return
        reply(h)
    return respond, seen


def test_eval_resume_continues_what_was_asked():
    from inhouse.evals.tasks import load_suite
    from inhouse.store import Store

    assert_one_line_error(run_cli("eval", "--resume", "nosuchrun"), "no stored eval run 'nosuchrun'")
    expected = [t.id for t in load_suite("core") if t.category == "structured_output"][:3]
    respond, seen = _counting_server(fail_on=2)
    with OneRouteServer(respond) as srv:
        first = run_cli("eval", "--endpoint", srv.url, "-m", "fake", "--category", "structured_output",
                        "--limit", "3")
        line = assert_one_line_error(first, "HTTP 500", "--resume")
        run_id = re.search(r"--resume (\w+) continues", line)[1]
        with Store.open() as store:
            assert [r["task_id"] for r in store.eval_results(run_id)] == expected[:1]
        changed = run_cli("eval", "--resume", run_id, "--limit", "5")
        assert_one_line_error(changed, "was started with --limit 3")
        again = run_cli("eval", "--resume", run_id, "--json")  # no selection options: the stored ones
    assert again.returncode == 0, again.stderr
    data = json.loads(again.stdout)
    assert data["eval_id"] == run_id
    assert sorted(r["task_id"] for r in data["rows"]) == sorted(expected)  # 3 tasks, not the whole suite
    assert data["overall"]["n"] == 3 and len(seen) == 4  # 1 ok + 1 failed, then only the 2 missing


def test_eval_limit_poses_tasks_the_default_model_can_do():
    result = run_cli("eval", "--limit", "1", "--max-tokens", "16", "--json", timeout=600)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["skipped"] == 0 and data["overall"]["n"] == 1
    assert data["rows"][0]["outcome"] != "skipped"
    assert data["overall"]["rate"] in (0.0, 1.0)


def test_eval_help_describes_every_option():
    text = run_cli("eval", "--help").stdout
    for pattern in (r"--api-key TEXT\s+API key", r"--json\s+Print JSON", r"--limit INTEGER RANGE\s+Only"):
        assert re.search(r"^\s+" + pattern, text, re.M), (pattern, text)


# ---- bench --compare without llama_cpp.server's extra -------------------------------------------

def test_bench_compare_names_the_missing_extra(tmp_path):
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "uvicorn.py").write_text('raise ModuleNotFoundError("No module named \'uvicorn\'", name="uvicorn")\n')
    env = {"PYTHONPATH": os.pathsep.join([str(shim), os.environ.get("PYTHONPATH", "")])}
    assert_one_line_error(run_cli("bench", "--compare", "-d", "0", "--reps", "1", env=env), "uvicorn",
                          "pip install 'llama-cpp-python[server]==0.3.36'")


# ---- --gpu-layers without a GPU -----------------------------------------------------------------

def test_gpu_layers_say_when_there_is_no_gpu(monkeypatch):
    from click.testing import CliRunner

    import inhouse.machine.gpu as gpu
    from inhouse.cli import cli
    from inhouse.machine.gpu import GPUInfo

    monkeypatch.setattr(gpu, "gpus", lambda: ([], "no NVIDIA driver"))
    result = CliRunner().invoke(cli, ["fit", "--gpu-layers", "99", "--json"])
    [warning] = json.loads(result.stdout)["warnings"]
    assert "no GPU on this machine (no NVIDIA driver)" in warning
    import llama_cpp

    monkeypatch.setattr(gpu, "gpus", lambda: ([GPUInfo(0, "H100", 80 << 30, 80 << 30, "550")], None))
    result = CliRunner().invoke(cli, ["fit", "--gpu-layers", "99", "--json"])
    warnings = json.loads(result.stdout)["warnings"]
    if llama_cpp.llama_supports_gpu_offload():
        assert warnings == []
    else:  # this build keeps every layer on the CPU whatever the hardware
        assert len(warnings) == 1 and "no GPU backend" in warnings[0]
    assert CliRunner().invoke(cli, ["fit", "--json"]).exit_code == 0
    assert json.loads(CliRunner().invoke(cli, ["fit", "--json"]).stdout)["warnings"] == []


# ---- tables -------------------------------------------------------------------------------------

def test_models_table_keeps_names_whole_at_80_columns():
    names = [m["name"] for m in json.loads(run_cli("models", "--json").stdout)["models"]]
    result = run_cli("models", env={"COLUMNS": "80"})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    for name in names:
        assert any(ln.split()[:1] == [name] for ln in lines), (name, result.stdout)
    assert all(len(ln.rstrip()) <= 80 for ln in lines), result.stdout
    assert_usage_error(run_cli("models", "--dir", "/nonexistent"), "does not exist")


def test_recommend_names_whole_and_catalog_has_headings():
    data = json.loads(run_cli("fit", "--recommend", "--json").stdout)
    text = run_cli("fit", "--recommend").stdout
    for name in {m["name"] for m in data["models"]}:
        assert f" {name} " in text, name
    assert "Coding models for 32k-token context" in text
    catalog = json.loads(run_cli("fit", "--catalog", "--json").stdout)
    text = run_cli("fit", "--catalog").stdout.splitlines()
    head = next(i for i, ln in enumerate(text) if ln.split()[:1] == ["id"])
    assert text[head].split()[:4] == ["id", "params", "max", "ctx"] and "Q4_K_M" in text[head]
    from inhouse.cli._render import fmt_bytes

    first = catalog[0]
    row = next(ln for ln in text if ln.split()[:1] == [first["id"]])
    assert fmt_bytes(first["weights_bytes"]["Q4_K_M"]) in row


# ---- llama.cpp's log ------------------------------------------------------------------------------

def test_gemma_chat_leaves_stderr_clean():
    result = run_cli("chat", "hi", "-m", "gemma-3-270m", "--max-tokens", "4", timeout=600)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # was: llama_kv_cache_iswa: using full-size SWA cache (ref: ...)


# ---- exit codes ---------------------------------------------------------------------------------

def test_exit_codes_usage_error_and_interrupt():
    assert_usage_error(run_cli("fit", "--ctx", "many"), "'many' is not a valid integer")
    assert_one_line_error(run_cli("fit", "no-such-model"), "Unknown model")
    arrived = threading.Event()

    def stall(h):
        arrived.set()
        time.sleep(30)

    with OneRouteServer(stall) as srv:
        proc = subprocess.Popen([sys.executable, "-m", "inhouse", "chat", "hi", "--endpoint", srv.url],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy())
        try:
            assert arrived.wait(120), "the request never reached the server"
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1] == "Interrupted." and "Traceback" not in err


def test_numbers_llama_cpp_cannot_take_are_usage_errors():
    assert_usage_error(run_cli("bench", "-t", "-1", "-d", "0", "--reps", "1"), "'-1' is below 1")
    assert_usage_error(run_cli("bench", "--batch", "0", "-d", "0", "--reps", "1"), "'0' is below 1")
    assert_usage_error(run_cli("fit", "--parallel", "300"), "1<=x<=256")
