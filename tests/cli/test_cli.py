"""The command line as a user meets it: real commands, one-line errors, non-zero exits."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from click.testing import CliRunner

from inhouse.cli import cli
from tests.helpers import OneRouteServer, free_port


def run(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def run_process(*args, timeout=120):
    """The installed console entry point in a real process (no click test harness)."""
    return subprocess.run([sys.executable, "-m", "inhouse", *args], capture_output=True, text=True,
                          timeout=timeout, env=os.environ.copy())


def assert_one_line_error(result, needle):
    assert result.returncode == 1, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ") and needle in lines[0]
    assert "Traceback" not in result.stderr


def test_models_json_lists_both_pypi_models_with_true_sizes():
    result = run("models", "--json")
    assert result.exit_code == 0
    data = json.loads(result.output)
    by_name = {m["name"]: m for m in data["models"]}
    for name in ("smollm2-135m-instruct", "gemma-3-270m"):
        m = by_name[name]
        assert m["size_bytes"] == os.path.getsize(m["path"])
        assert m["parameters"] > 100_000_000
    assert by_name["smollm2-135m-instruct"]["architecture"] == "llama"
    assert by_name["gemma-3-270m"]["architecture"] == "gemma3"


def test_machine_json_is_sane():
    result = run("machine", "--json")
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert 0 < data["memory"]["available_bytes"] <= data["memory"]["total_bytes"]
    assert data["bandwidth"]["read_bytes_per_s"] > 0
    assert data["cpu"]["physical_cores"] >= 1 and data["cpu"]["logical_threads"] >= 1
    assert data["docker"]["note"].startswith("Docker:")


def test_chat_streams_from_the_default_model():
    result = run_process("chat", "Write a Python function that adds two numbers.", "--max-tokens", "48", "--stats")
    assert result.returncode == 0, result.stderr
    assert "def " in result.stdout
    assert "reply tokens" in result.stderr


def test_chat_against_a_server_that_is_down():
    assert_one_line_error(run_process("chat", "hi", "--endpoint", f"http://127.0.0.1:{free_port()}"),
                          "Cannot reach")


def test_chat_against_a_server_answering_500():
    def respond(h):
        h.send_response(500)
        h.end_headers()
        h.wfile.write(b"internal error")

    with OneRouteServer(respond) as srv:
        assert_one_line_error(run_process("chat", "hi", "--endpoint", srv.url), "HTTP 500")


def test_chat_against_a_malformed_stream():
    def respond(h):
        h.send_response(200)
        h.send_header("Content-Type", "text/event-stream")
        h.end_headers()
        h.wfile.write(b"data: {broken\n\n")

    with OneRouteServer(respond) as srv:
        assert_one_line_error(run_process("chat", "hi", "--endpoint", srv.url), "malformed")


def test_chat_with_bad_model_files(tmp_path):
    assert_one_line_error(run_process("chat", "hi", "-m", str(tmp_path / "missing.gguf")), "No model file")
    text = tmp_path / "text.gguf"
    text.write_text("hello " * 100)
    assert_one_line_error(run_process("chat", "hi", "-m", str(text)), "not a GGUF model")
    assert_one_line_error(run_process("chat", "hi", "-m", "no-such-model"), "Unknown model")


def test_chat_through_the_real_server(llama_server):
    result = run_process("chat", "Say hello.", "--endpoint", llama_server["url"], "-m", llama_server["model"],
                         "--max-tokens", "16")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()
