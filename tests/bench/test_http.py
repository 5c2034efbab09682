"""Benchmarking through a real llama.cpp server on 127.0.0.1, and a server that dies mid-run."""

from __future__ import annotations

import pytest

from inhouse.bench.config import BenchConfig, Workload
from inhouse.bench.run import Sweep, run_sweep
from inhouse.bench.server import LlamaServer
from inhouse.errors import ServerUnreachable
from inhouse.store import Store


def test_all_figures_come_out_over_http(llama_server, smollm2_path, tmp_path):
    config = BenchConfig(model=llama_server["model"], label="smollm2 @ server", engine="http",
                         endpoint=llama_server["url"])
    with Store.open(tmp_path / "s.db") as store:
        sweep = run_sweep([config], Workload(depths=(0, 256), prompt_tokens=48, gen_tokens=16, reps=2),
                          store=store, bandwidth=30e9)
        assert len(store.bench_results(sweep.sweep_id)) == 2
    for r in sweep.results:
        assert r.engine == "http"
        assert r.ttft_cold_s > 0 and r.ttft_warm_s > 0 and r.prefill_tps > 0 and r.decode_tps > 0
        assert 0 < r.itl_p50_s <= r.itl_p99_s
        assert r.peak_rss_bytes >= 0.9 * smollm2_path.stat().st_size  # the server's process, found by port
        assert r.bytes_per_token and r.bandwidth_share  # the server's GGUF, found on its command line
    # the depth text was cached: each repetition evaluated only its own prompt, not the depth again
    assert sweep.results[1].prefill_tps > 0.3 * sweep.results[0].prefill_tps


def test_a_server_dying_mid_run_keeps_finished_results(smollm2_path, tmp_path):
    base = BenchConfig(model=str(smollm2_path), label="x", threads=2)
    workload = Workload(depths=(0, 256), prompt_tokens=32, gen_tokens=8, reps=2, warmup=0)
    with LlamaServer(base, n_ctx=1024, threads=2) as server, Store.open(tmp_path / "s.db") as store:
        config = BenchConfig(model="bench", label="dies", engine="http", endpoint=server.endpoint)
        done = []

        def progress(n):
            done.append(n)
            if len(done) == workload.reps:  # the last repetition of depth 0: kill the server
                server.proc.kill()
                server.proc.wait()

        sweep = Sweep()
        with pytest.raises(ServerUnreachable, match="Cannot reach|broke"):
            run_sweep([config], workload, store=store, progress=progress, sweep=sweep)
        assert [r.depth for r in sweep.results] == [0]
        assert [row["depth"] for row in store.bench_results(sweep.sweep_id)] == [0]
        run = store.runs("bench")[-1]
        assert run["status"] == "failed"


def test_a_failed_start_leaves_no_server_behind(smollm2_path, monkeypatch):
    """Anything that goes wrong while waiting for the server (here: the health check itself
    breaking, as a broken httpx install once did) stops the process it started."""
    import httpx

    def broken(*args, **kwargs):
        raise RuntimeError("health check broke")

    monkeypatch.setattr(httpx, "get", broken)
    server = LlamaServer(BenchConfig(model=str(smollm2_path), label="x"), n_ctx=512, threads=1)
    with pytest.raises(RuntimeError, match="health check broke"):
        server.__enter__()
    assert server.proc is not None and server.proc.poll() is not None  # started, and stopped again
