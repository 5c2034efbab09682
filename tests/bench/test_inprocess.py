"""The in-process benchmark against independent clocks: a timer around llama-cpp-python's own
token stream, and llama.cpp's perf counters."""

from __future__ import annotations

import time

import pytest

from inhouse.bench.config import BenchConfig, Workload
from inhouse.bench.inprocess import InProcessRunner
from inhouse.bench.run import run_sweep
from inhouse.store import Store

P, G = 64, 48


@pytest.fixture(scope="module")
def sweep(smollm2_path, tmp_path_factory):
    store = Store.open(tmp_path_factory.mktemp("bench") / "inhouse.db")
    config = BenchConfig(model=str(smollm2_path), label="smollm2", threads=1)
    result = run_sweep([config], Workload(depths=(0, 512), prompt_tokens=P, gen_tokens=G, reps=3),
                       store=store, bandwidth=30e9)
    yield result, store
    store.close()


def test_decode_speed_agrees_with_an_independent_timer(smollm2_path):
    """inhouse's repetitions alternated with a plain loop timing llama-cpp-python's own token
    stream at the same position; the median of the paired ratios must be close to 1 (pairs, because
    a shared VM drifts between runs). benchmarks/bench_accuracy.py prints the same figure."""
    import statistics

    from llama_cpp import Llama

    runner = InProcessRunner(BenchConfig(model=str(smollm2_path), label="x", threads=1), n_ctx=0)
    runner.n_ctx = 512
    runner.load()
    llm = Llama(model_path=str(smollm2_path), n_ctx=512, n_threads=1, n_threads_batch=2, verbose=False)
    try:
        runner.fill(0)
        text = b"def parse_config(path):\n    with open(path) as f:\n        return json.load(f)\n" * 16
        # decoding at depth 0 as inhouse now does: one token in, then generate (decoding slows as
        # the context grows, so the independent loop must start at the same position)
        prompt = llm.tokenize(text, add_bos=True)[:1]
        ratios = []
        n_gen = 96
        for i in range(6):
            ours = runner.rep(0, P, n_gen, seed=i + 1).decode_tps
            # two llama.cpp contexts share this process: let one's worker threads stop spinning
            # before the other runs, or each slows the other down
            time.sleep(0.5)
            llm.reset()
            times = []
            for _token in llm.generate(prompt, temp=0.0, reset=True):
                times.append(time.perf_counter())
                if len(times) == n_gen:
                    break
            theirs = (len(times) - 1) / (times[-1] - times[0])
            time.sleep(0.5)
            if i:  # the first pair warms up
                ratios.append(ours / theirs)
    finally:
        llm.close()
        runner.close()
    assert statistics.median(ratios) == pytest.approx(1.0, rel=0.15), ratios


def test_llama_cpp_perf_counters_agree(sweep):
    result, _ = sweep
    for r in result.results:
        assert r.engine_prefill_tps == pytest.approx(r.prefill_tps, rel=0.05)
        assert r.engine_decode_tps == pytest.approx(r.decode_tps, rel=0.05)


def test_every_figure_is_there_and_consistent(sweep, smollm2_path):
    result, store = sweep
    assert [r.depth for r in result.results] == [0, 512]
    for r in result.results:
        assert r.load_s > 0 and r.ttft_cold_s > 0 and r.ttft_warm_s > 0
        assert r.prefill.low <= r.prefill_tps <= r.prefill.high and r.prefill.n == 3
        assert 0 < r.itl_p50_s <= r.itl_p90_s <= r.itl_p99_s
        # the weights are mapped and every page is read while decoding
        assert r.peak_rss_bytes >= 0.9 * smollm2_path.stat().st_size
        assert r.bandwidth_share == pytest.approx(r.bytes_per_token * r.decode_tps / 30e9)
    # the KV cache read per token grows with the depth
    assert result.results[1].bytes_per_token > result.results[0].bytes_per_token
    stored = store.bench_results(result.sweep_id)
    assert [row["depth"] for row in stored] == [0, 512]
    assert store.runs("bench")[-1]["status"] == "ok"


def test_each_repetition_starts_from_exactly_the_depth(smollm2_path):
    """Prefill and decode are two tests at depth d, as llama-bench's pp and tg at -d d: the
    decode starts with exactly d tokens cached, not after the timed prompt."""
    import llama_cpp

    runner = InProcessRunner(BenchConfig(model=str(smollm2_path), label="x", threads=1), n_ctx=0)
    runner.n_ctx = 1024
    runner.load()
    seen = []
    real_eval = runner.llm.eval

    def spy(tokens):
        seen.append((runner.llm.n_tokens, len(tokens)))
        return real_eval(tokens)

    runner.llm.eval = spy
    try:
        runner.fill(256)
        for seed in (1, 2):
            seen.clear()
            rep = runner.rep(256, 32, 8, seed=seed)
            assert rep.engine_prefill_n == 32  # only the new prompt was evaluated, not the depth
            assert rep.engine_decode_n == 8 and len(rep.token_times) == 8
            assert rep.decode_position == 256
            # the prompt is evaluated on top of 256 tokens; decoding starts on top of 256 again
            assert seen[0] == (256, 32)
            assert seen[1:] == [(256 + i, 1) for i in range(8)]
            ctx = runner.llm._ctx.ctx
            mem = llama_cpp.llama_get_memory(ctx)
            assert llama_cpp.llama_memory_seq_pos_max(mem, 0) == 256 + 8 - 1  # the prompt's cells are gone
        assert len(rep.itls) == 8 and rep.decode_tps == pytest.approx(8 / (rep.token_times[-1] - rep.t_decode_start))
    finally:
        runner.close()


def test_ctrl_c_keeps_every_finished_result(smollm2_path, tmp_path):
    from inhouse.bench.run import Sweep

    workload = Workload(depths=(0, 256), prompt_tokens=16, gen_tokens=4, reps=1, warmup=0)
    calls = []

    def progress(n):
        calls.append(n)
        if len(calls) == 2:  # the first repetition at depth 256: the user presses Ctrl-C
            raise KeyboardInterrupt

    sweep = Sweep()
    with Store.open(tmp_path / "s.db") as store:
        with pytest.raises(KeyboardInterrupt):
            run_sweep([BenchConfig(model=str(smollm2_path), label="x", threads=1)], workload, store=store,
                      progress=progress, sweep=sweep)
        assert [r.depth for r in sweep.results] == [0] and sweep.interrupted
        assert [row["depth"] for row in store.bench_results(sweep.sweep_id)] == [0]
        assert store.runs("bench")[-1]["status"] == "interrupted"
