"""Benchmarking through a real llama.cpp server on 127.0.0.1, and a server that dies mid-run."""

from __future__ import annotations

import json

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
    for r in sweep.results:
        # llama_cpp.server's replies carry neither timings nor a cached-token count: unchecked, and said so
        assert r.depth_checked is False and r.depth_cached is None
        assert any("depth not checked" in n for n in r.notes)
        # a generation over HTTP follows its prompt: decoding starts past the depth and the prompt
        # ... from the depth text's real size in tokens (sized in words, so near the depth asked)
        assert r.depth_tokens == 0 if r.depth == 0 else 0.6 * r.depth <= r.depth_tokens <= 1.4 * r.depth
        assert r.decode_position >= r.depth_tokens + 40
        assert r.itl_unit in ("token", "chunk")


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


def _sse(chunks):
    return "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"


def _llama_server(cache_n: int | None, tokens_per_chunk: int, n_gen: int = 8):
    """Replies shaped like llama.cpp's llama-server: usage in the last chunk, timings with
    prompt_n (tokens evaluated) and, in newer builds, cache_n."""
    import httpx

    def handler(request):
        body = json.loads(request.content)
        n_prompt = 300  # 256 of depth and 44 of prompt
        if not body["stream"]:
            return httpx.Response(200, json={"choices": [{"text": "x"}], "usage": {
                "prompt_tokens": n_prompt, "completion_tokens": 1}})
        chunks = [{"choices": [{"text": "ab"[: tokens_per_chunk], "finish_reason": None}]}
                  for _ in range(n_gen // tokens_per_chunk)]
        timings = {"prompt_n": n_prompt - 256, "prompt_ms": 50.0, "predicted_n": n_gen, "predicted_per_token_ms": 10.0}
        if cache_n is not None:
            timings["cache_n"] = cache_n
        chunks.append({"choices": [{"text": "", "finish_reason": "length"}],
                       "usage": {"prompt_tokens": n_prompt, "completion_tokens": n_gen}, "timings": timings})
        return httpx.Response(200, text=_sse(chunks), headers={"content-type": "text/event-stream"})

    return handler


@pytest.mark.parametrize("cache_n, per_chunk, unit", [(256, 1, "token"), (None, 1, "token"), (250, 2, "chunk")])
def test_the_depth_the_server_had_is_read_from_its_reply(cache_n, per_chunk, unit):
    import httpx

    from inhouse.bench.http import HTTPRunner

    runner = HTTPRunner(BenchConfig(model="m", label="m", engine="http", endpoint="http://192.0.2.1:1"))
    runner._client = httpx.Client(base_url=runner.base_url, transport=httpx.MockTransport(_llama_server(cache_n, per_chunk)))
    runner._depth_tokens = 256
    runner._depth_text = "depth "
    rep = runner.rep(256, 44, 8, seed=1)
    runner.close()
    # cache_n when the server gives it, else prompt_tokens - prompt_n (tokens it evaluated)
    assert rep.depth_cached == (cache_n if cache_n is not None else 300 - (300 - 256))
    assert rep.prompt_tokens == 300 - rep.depth_cached
    assert rep.decode_position == 300
    assert rep.itl_unit == unit and len(rep.itls) == 8 // per_chunk - 1


def test_cached_tokens_from_openai_usage_details():
    from inhouse.bench.http import HTTPRunner

    usage = {"prompt_tokens": 500, "completion_tokens": 8, "prompt_tokens_details": {"cached_tokens": 448}}
    assert HTTPRunner.cached_tokens(usage, None) == 448
    assert HTTPRunner.cached_tokens({"prompt_tokens": 500}, None) is None
    assert HTTPRunner.cached_tokens({"prompt_tokens": 500}, {"prompt_n": 52}) == 448
