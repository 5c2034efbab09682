"""Do bench's and eval's figures mean what they say? Prints, for the default model and this machine:

1. decode speed at depth 0 measured as llama-bench's tg128 at -d 0 (decoding starts with an
   empty cache) beside decoding after a 512-token prompt (what "depth 0" measured before), with
   llama.cpp's own counters for both; alternated so the machine's drift hits both alike;
2. the memory bandwidth figure with the spread of its passes and how busy the machine was;
3. the stated coverage of bench's median intervals beside their coverage by simulation;
4. eval --compare's interval coverage by simulation with 10 tasks (and a plain t interval's).

    python benchmarks/bench_figures.py [--reps 5] [--gen-tokens 128] [--threads N] [--skip-model]

Timing figures on a shared machine are noisy; the coverage figures are exact or simulated.
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys


def decode_positions(reps: int, gen: int, threads: int) -> None:
    from inhouse.bench.config import BenchConfig
    from inhouse.bench.inprocess import InProcessRunner
    from inhouse.models.defaults import DEFAULT_MODEL, PYPI_MODELS

    path = str(PYPI_MODELS[DEFAULT_MODEL].locate())
    runner = InProcessRunner(BenchConfig(model=path, label=DEFAULT_MODEL, threads=threads), n_ctx=0)
    runner.n_ctx = 1024
    runner.load()
    at0, at512, eng0, eng512 = [], [], [], []
    try:
        for i in range(reps + 1):
            runner.fill(0)
            a = runner.rep(0, 512, gen, seed=i + 1)
            runner.fill(512)  # the position the old "depth 0" decode started at: after the 512-token prompt
            b = runner.rep(512, 16, gen, seed=i + 1)
            if i:  # the first pair warms up
                at0.append(a.decode_tps)
                at512.append(b.decode_tps)
                eng0.append(a.engine_decode_n / a.engine_decode_s)
                eng512.append(b.engine_decode_n / b.engine_decode_s)
    finally:
        runner.close()
    m0, m512 = statistics.median(at0), statistics.median(at512)
    print(f"1. {DEFAULT_MODEL}, {threads} threads, {reps} alternated repetitions of tg{gen}")
    print(f"   decode at depth 0 (as llama-bench tg{gen} -d 0)   {m0:7.1f} t/s   llama.cpp counters "
          f"{statistics.median(eng0):7.1f} t/s")
    print(f"   decode from position 512 (the old 'depth 0')     {m512:7.1f} t/s   llama.cpp counters "
          f"{statistics.median(eng512):7.1f} t/s")
    print(f"   depth 0 is {100 * (m0 / m512 - 1):+.1f}% faster than the old figure")


def bandwidth() -> None:
    from inhouse.machine.bandwidth import measure_when_quiet

    r = measure_when_quiet(256 * 1024 * 1024, max_wait_s=5)
    print(f"2. memory bandwidth {r.bytes_per_s / 1e9:.1f} GB/s (best of {r.passes}); passes "
          f"{r.min_bytes_per_s / 1e9:.1f} / {r.median_bytes_per_s / 1e9:.1f} / {r.max_bytes_per_s / 1e9:.1f} GB/s "
          f"min / median / max; CPU {r.busy_cpu_percent:.0f}% busy before measuring "
          f"({'quiet' if r.quiet else 'NOT quiet: the figure may be low'}, waited {r.waited_s:.1f} s)")


def median_coverage(sims: int = 20000) -> None:
    from inhouse.bench.stats import median_ci

    rng = random.Random(1)
    print("3. median interval of n repetitions (lognormal timings): stated coverage vs simulated")
    for n in (1, 2, 3, 5, 6, 10):
        hits, stated = 0, None
        for _ in range(sims):
            est = median_ci([rng.lognormvariate(0, 0.5) for _ in range(n)])
            stated = est.coverage
            hits += est.coverage is not None and est.low <= 1.0 <= est.high
        label = "no interval" if stated is None else f"{stated * 100:5.1f}% CI"
        print(f"   n={n:<3} {label:<12} simulated {hits / sims * 100:5.1f}%")


def compare_coverage(sims: int = 4000) -> None:
    from inhouse.evals.stats import compare, t_quantile

    rng = random.Random(2)
    print("4. eval --compare, 10 tasks, one sample each: coverage of the true difference (95% asked)")
    for cells in [(0.35, 0.10, 0.20, 0.35), (0.40, 0.0, 0.10, 0.50), (0.25, 0.25, 0.25, 0.25)]:
        truth = cells[2] - cells[1]
        ours = plain = 0
        for _ in range(sims):
            a, b = [], []
            for t in range(10):
                x = rng.random()
                pa, pb = (1, 1) if x < cells[0] else (1, 0) if x < sum(cells[:2]) else \
                    (0, 1) if x < sum(cells[:3]) else (0, 0)
                a.append({"task_id": t, "outcome": "passed" if pa else "wrong_answer"})
                b.append({"task_id": t, "outcome": "passed" if pb else "wrong_answer"})
            r = compare(a, b)
            ours += r["low"] - 1e-12 <= truth <= r["high"] + 1e-12
            d = [int(y["outcome"] == "passed") - int(x["outcome"] == "passed") for x, y in zip(a, b)]
            m = sum(d) / 10
            half = t_quantile(0.95, 9) * math.sqrt(sum((v - m) ** 2 for v in d) / 9 / 10)
            plain += m - half - 1e-12 <= truth <= m + half + 1e-12
        print(f"   both/A only/B only/neither {cells}: inhouse {ours / sims * 100:5.1f}%   "
              f"plain t interval {plain / sims * 100:5.1f}%")


def main(argv: list[str] | None = None) -> int:
    from inhouse.machine.cpu import default_threads

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--gen-tokens", type=int, default=128)
    ap.add_argument("--threads", type=int, default=default_threads())
    ap.add_argument("--skip-model", action="store_true", help="leave out the decode timing (1.)")
    args = ap.parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)  # each figure as soon as it is measured
    if not args.skip_model:
        decode_positions(args.reps, args.gen_tokens, args.threads)
    bandwidth()
    median_coverage()
    compare_coverage()
    return 0


if __name__ == "__main__":
    sys.exit(main())
