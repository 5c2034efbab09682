"""Are inhouse bench's speed figures true? Two independent clocks, one run.

1. A plain loop outside inhouse's code times llama-cpp-python's own token stream
   (``Llama.generate``) for the default model; inhouse's decode tokens/s is compared with it.
2. llama.cpp's own perf counters (prompt eval and eval times) for the same repetitions as
   inhouse's timers.

    python benchmarks/bench_accuracy.py [--reps 5] [--gen-tokens 128] [--threads N]

Prints each figure and the ratios; the targets are within 5%.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

from inhouse.bench.config import BenchConfig, Workload
from inhouse.bench.run import run_sweep
from inhouse.machine.cpu import default_threads
from inhouse.models.defaults import DEFAULT_MODEL, PYPI_MODELS


class Independent:
    """llama-cpp-python's own token stream, timed by a plain loop outside inhouse's code."""

    def __init__(self, path: str, threads: int, n_prompt: int) -> None:
        from llama_cpp import Llama

        self.llm = Llama(model_path=path, n_ctx=1024, n_threads=threads, n_threads_batch=threads, verbose=False)
        text = b"def parse_config(path):\n    with open(path) as f:\n        return json.load(f)\n" * 64
        # decode at the same position as inhouse's workload (speed falls as the context grows):
        # inhouse decodes at depth 0 as llama-bench's tg does, so one token in, then generate
        self.prompt = self.llm.tokenize(text, add_bos=True)[:max(1, n_prompt)]

    def decode_tps(self, n_gen: int) -> float:
        self.llm.reset()
        times = []
        for _token in self.llm.generate(self.prompt, temp=0.0, reset=True):
            times.append(time.perf_counter())
            if len(times) == n_gen:
                break
        return (len(times) - 1) / (times[-1] - times[0])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--gen-tokens", type=int, default=128)
    ap.add_argument("--threads", type=int, default=default_threads())
    args = ap.parse_args(argv)
    path = str(PYPI_MODELS[DEFAULT_MODEL].locate())
    config = BenchConfig(model=path, label=DEFAULT_MODEL, threads=args.threads)
    workload = Workload(depths=(0,), prompt_tokens=512, gen_tokens=args.gen_tokens, reps=args.reps)
    # 1. inhouse's repetitions and the independent loop, alternated one by one, so the machine's
    #    drift (a shared 2-core VM moves by 10%) hits both alike.
    from inhouse.bench.inprocess import InProcessRunner

    runner = InProcessRunner(config, n_ctx=1024)
    runner.load()
    runner.fill(0)
    independent = Independent(path, args.threads, 1)
    ours, theirs = [], []
    for i in range(args.reps + 1):
        rep = runner.rep(0, 512, args.gen_tokens, seed=i + 1)
        time.sleep(0.5)  # two contexts in one process: let one's worker threads stop spinning first
        other = independent.decode_tps(args.gen_tokens)
        time.sleep(0.5)
        if i:  # the first pair warms up
            ours.append(rep.decode_tps)
            theirs.append(other)
    runner.close()
    independent.llm.close()
    # 2. a whole `inhouse bench` run, for its figures beside llama.cpp's counters
    result = run_sweep([config], workload).results[0]
    ratio = statistics.median(a / b for a, b in zip(ours, theirs))  # paired: each pair ran back to back
    print(f"model {DEFAULT_MODEL}, {args.threads} threads, {args.reps} repetitions of {args.gen_tokens} tokens")
    print(f"decode t/s  inhouse {statistics.median(ours):8.2f}   independent timer {statistics.median(theirs):8.2f}"
          f"   ratio {ratio:.3f} (median of paired ratios; alternated: inhouse {min(ours):.1f}-{max(ours):.1f}, independent "
          f"{min(theirs):.1f}-{max(theirs):.1f})")
    print(f"decode t/s  inhouse {result.decode_tps:8.2f}   llama.cpp counters {result.engine_decode_tps:8.2f}   "
          f"ratio {result.decode_tps / result.engine_decode_tps:.3f}")
    print(f"prefill t/s inhouse {result.prefill_tps:8.2f}   llama.cpp counters {result.engine_prefill_tps:8.2f}   "
          f"ratio {result.prefill_tps / result.engine_prefill_tps:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
