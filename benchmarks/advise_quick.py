"""Time `inhouse advise --quick` as a whole process, then measure its recommended settings against
llama-cpp-python's defaults on the same model, side by side (alternated rounds), and print both.

    python benchmarks/advise_quick.py                  # the embedded default model, 3 rounds
    python benchmarks/advise_quick.py --rounds 5 --model gemma-3-270m
    python benchmarks/advise_quick.py --advise-json result.json   # skip the timed run, reuse its result

Figures are noisy on a shared machine: rerun when it is quiet. Exit status 1 when advise took 5
minutes or more, or the recommended settings were slower than the defaults (median turn time).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def timed_advise(model: str, out: Path) -> tuple[float, dict]:
    cmd = [sys.executable, "-m", "inhouse", "advise", "--quick", "--json", "-m", model, "--out", str(out)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"advise failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")
    return wall, json.loads(proc.stdout)


def measure(path: str, s: dict, label: str, workload) -> tuple[float, float]:
    from inhouse.bench.config import BenchConfig
    from inhouse.bench.run import run_config

    config = BenchConfig(model=path, label=label, threads=s["threads"], n_ubatch=s["n_ubatch"],
                         type_k=s["cache_type"], type_v=s["cache_type"], flash_attn=s["flash_attn"])
    r = next(iter(run_config(config, workload)))
    return r.prefill_tps, r.decode_tps


def main() -> int:
    from inhouse.advise.tuning import TURN_GEN, TURN_PROMPT, llama_cpp_python_defaults, turn_seconds
    from inhouse.bench.config import Workload

    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="smollm2-135m-instruct")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--advise-json", type=Path, help="A saved `inhouse advise --json` result: skip the timed run.")
    args = ap.parse_args()

    if args.advise_json:
        wall, result = None, json.loads(args.advise_json.read_text())
    else:
        with tempfile.TemporaryDirectory() as tmp:
            wall, result = timed_advise(args.model, Path(tmp) / "report")
        print(f"inhouse advise --quick -m {args.model}: {wall:.1f} s wall "
              f"({'under' if wall < 300 else 'NOT under'} 5 minutes); advise id {result['advise_id']}")
    rec = result["recommendation"]
    defaults = llama_cpp_python_defaults().to_dict()
    chosen = {k: rec[k] for k in defaults}
    print(f"recommended: {chosen}\nllama-cpp-python defaults: {defaults}")
    workload = Workload(depths=(0,), prompt_tokens=512, gen_tokens=64, reps=3, warmup=1)
    figures: dict[str, list[tuple[float, float]]] = {"recommended": [], "defaults": []}
    for i in range(args.rounds):
        order = ("recommended", "defaults") if i % 2 == 0 else ("defaults", "recommended")
        for name in order:
            figures[name].append(measure(rec["path"], chosen if name == "recommended" else defaults, name, workload))
    print(f"{args.rounds} alternated rounds, depth 0, prompt {workload.prompt_tokens}, generated {workload.gen_tokens}, "
          f"{workload.reps} reps each (medians of the rounds' medians):")
    med = {}
    for name, rows in figures.items():
        pre = statistics.median(r[0] for r in rows)
        dec = statistics.median(r[1] for r in rows)
        med[name] = (pre, dec, turn_seconds(pre, dec))
        print(f"  {name:<12} prefill {pre:8.1f} tok/s  decode {dec:7.1f} tok/s  "
              f"turn ({TURN_PROMPT} prompt + {TURN_GEN} generated) {med[name][2]:.2f} s")
    r, d = med["recommended"], med["defaults"]
    print(f"  recommended / defaults: prefill x{r[0] / d[0]:.2f}, decode x{r[1] / d[1]:.2f}, turn time x{r[2] / d[2]:.2f}")
    ok = (wall is None or wall < 300) and r[2] <= d[2]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
