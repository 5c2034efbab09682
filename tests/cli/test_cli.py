"""The command line as a user meets it: real commands, one-line errors, non-zero exits."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

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


# ---- inhouse fit -------------------------------------------------------------------------------

BREAKDOWN = {"weights_bytes", "repack_bytes", "kv_bytes", "state_bytes", "output_bytes", "compute_bytes"}


def test_fit_json_has_total_and_breakdown():
    result = run("fit", "--ctx", "4096", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data["breakdown"]) == BREAKDOWN
    assert data["total_bytes"] == sum(data["breakdown"].values())
    # SmolLM2: 30 layers x 3 KV heads x 64 dims x (K+V) x f16 x 4096 cells
    assert data["breakdown"]["kv_bytes"] == 30 * 3 * 64 * 2 * 2 * 4096
    assert data["settings"]["n_ubatch"] == 512 and data["settings"]["flash_attn"] is False


def test_fit_verify_puts_llama_cpp_beside_the_estimate():
    result = run("fit", "gemma-3-270m", "--ctx", "8192", "--no-swa-full", "--verify", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    actual = data["llama_cpp"]
    assert set(actual["breakdown"]) == BREAKDOWN
    assert abs(data["total_bytes"] - actual["total_bytes"]) <= 0.03 * actual["total_bytes"]
    assert data["breakdown"]["kv_bytes"] == pytest.approx(actual["breakdown"]["kv_bytes"], abs=0.01 * 2**20)
    text = run("fit", "smollm2-135m-instruct", "--ctx", "2048", "--verify")
    assert "llama.cpp" in text.output and "diff" in text.output


def test_fit_catalog_model_without_download():
    result = run("fit", "qwen3-coder-30b-a3b", "--quant", "Q4_K_M", "--ctx", "32768", "--flash-attn", "on",
                 "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["kind"] == "catalog"
    assert 17 * 2**30 < data["breakdown"]["weights_bytes"] < 18 * 2**30
    assert data["breakdown"]["kv_bytes"] == 48 * 4 * 128 * 2 * 2 * 32768


def test_fit_budget_finds_the_largest_context():
    result = run("fit", "qwen2.5-coder-7b", "--budget", "8GiB", "--json")
    assert result.exit_code == 0, result.output
    fits = json.loads(result.output)["fits"]
    assert [f["type_k"] for f in fits] == ["f16", "q8_0", "q4_0"]
    assert 0 < fits[0]["n_ctx"] < fits[1]["n_ctx"]
    assert all(f["estimate"]["ram_bytes"] <= 8 * 2**30 for f in fits if f["n_ctx"])


def test_fit_budget_auto_explains_what_it_subtracted():
    result = run("fit", "--budget", "auto", "--headroom", "1GiB")
    assert result.exit_code == 0, result.output
    assert "Budget from this machine" in result.output
    assert "RAM in total" in result.output and "headroom" in result.output
    assert "largest context that fits" in result.output


def test_fit_recommend_json_ranks_with_reasons():
    result = run("fit", "--recommend", "--json", "--min-context", "16384")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["budget"]["source"] == "machine" and data["min_context"] == 16384
    assert len({m["model_id"] for m in data["models"]}) >= 25
    assert all(m["reason"] for m in data["models"])
    text = run("fit", "--recommend")
    assert "fits" in text.output and "tok/s" in text.output


def test_fit_bad_inputs_are_one_line_errors(tmp_path):
    assert_one_line_error(run_process("fit", "no-such-model"), "Unknown model")
    assert_one_line_error(run_process("fit", "--budget", "12XB"), "as a size")
    assert_one_line_error(run_process("fit", "--cache-type-v", "q8_0"), "needs flash attention")
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"GGUF" + b"\xff" * 64)
    assert_one_line_error(run_process("fit", str(bad)), "GGUF")
    cfg = tmp_path / "config.json"
    cfg.write_text('{"model_type": "bert"}')
    assert_one_line_error(run_process("fit", str(cfg)), "model_type 'bert'")


# ---- inhouse bench -----------------------------------------------------------------------------

BENCH_KEYS = {"depth", "decode_tps", "prefill_tps", "ttft_cold_s", "ttft_warm_s", "itl_p50_s", "itl_p99_s",
              "peak_rss_bytes", "bandwidth_share", "settings"}


def test_bench_json_rows_and_store():
    result = run("bench", "-d", "0,256", "--prompt-tokens", "32", "--gen-tokens", "16", "--reps", "2", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    rows = data["results"]
    assert [r["depth"] for r in rows] == [0, 256]
    for r in rows:
        assert BENCH_KEYS <= set(r)
        assert r["decode_tps"] > 0 and r["peak_rss_bytes"] > 0 and 0 < r["bandwidth_share"] < 1
        assert r["settings"]["type_k"] == "f16" and r["settings"]["threads"] >= 1
    from inhouse.store import Store

    with Store.open() as store:
        assert len(store.bench_results(data["sweep_id"])) == 2


def test_bench_sweep_csv_and_text():
    result = run("bench", "-d", "0", "--prompt-tokens", "16", "--gen-tokens", "8", "--reps", "1",
                 "--cache-type", "f16", "--cache-type", "q8_0", "--flash-attn", "on", "--csv")
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[0].startswith("label,engine,depth") and len(lines) == 3
    assert "[f16]" in lines[1] and "[q8_0]" in lines[2]
    text = run("bench", "-d", "0", "--prompt-tokens", "16", "--gen-tokens", "8", "--reps", "1")
    # one repetition has no interval: none is printed (not "95% CI 305.0-305.0")
    assert "llama.cpp's counters" in text.output and "CI" not in text.output


def test_bench_compare_runs_both_sides():
    result = run("bench", "-d", "0", "--prompt-tokens", "32", "--gen-tokens", "16", "--reps", "2", "--compare")
    assert result.exit_code == 0, result.output
    assert "(server)" in result.output and "In-process vs. llama.cpp server" in result.output


def test_bench_bad_inputs_are_one_line_errors():
    port = free_port()
    assert_one_line_error(run_process("bench", "--endpoint", f"http://127.0.0.1:{port}", "--model", "x",
                                      "-d", "0", "--reps", "1"), "Cannot reach")
    assert_one_line_error(run_process("bench", "no-such-model"), "Unknown model")
    assert_one_line_error(run_process("bench", "-d", "1000000", "--reps", "1"), "no depth fits")
