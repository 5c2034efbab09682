"""The default model on the whole core suite: pass@1 per category with 95% intervals.

    python benchmarks/eval_core.py [--samples 1] [--max-tokens 512] [--model NAME]
"""

from __future__ import annotations

import argparse
import sys
import time

from inhouse.engines import open_engine
from inhouse.evals.run import run_eval
from inhouse.evals.stats import summarize
from inhouse.evals.tasks import load_suite


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=1)
    ap.add_argument("--max-tokens", type=int, default=512)
    ap.add_argument("--model", default=None)
    args = ap.parse_args(argv)
    tasks = load_suite("core")
    t0 = time.perf_counter()
    with open_engine(args.model) as engine:
        run = run_eval(engine, tasks, model=engine.model_name, suite="core", samples=args.samples,
                       max_tokens=args.max_tokens)
        name = engine.model_name
    s = summarize(run.rows)
    o = s["overall"]
    print(f"{name} on core ({len(tasks)} tasks x {args.samples} sample(s), {time.perf_counter() - t0:.0f} s): "
          f"pass@1 {o['rate'] * 100:.1f}% [95% CI {o['low'] * 100:.1f}-{o['high'] * 100:.1f}] ({o['passed']}/{o['n']})")
    for cat, r in s["categories"].items():
        print(f"  {cat:<18} {r['rate'] * 100:5.1f}% [{r['low'] * 100:5.1f}-{r['high'] * 100:5.1f}] ({r['passed']}/{r['n']})")
    print("  outcomes: " + ", ".join(f"{k} {v}" for k, v in sorted(s["outcomes"].items(), key=lambda kv: -kv[1])))
    if s["skipped"]:
        print(f"  skipped {s['skipped']}: the engine could not pose them (no tools in the chat template)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
