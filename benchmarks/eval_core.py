"""The default model on the whole core suite: pass@1 per category with 95% intervals.

    python benchmarks/eval_core.py [--samples 1] [--max-tokens 512] [--model NAME] [--category C ...]
    python benchmarks/eval_core.py --server [--chat-format chatml-function-calling]

In-process, a model whose chat template has no tools section cannot be offered tools, so its
tool-calling and agentic tasks are reported as skipped. ``--server`` starts a real
``python -m llama_cpp.server`` on 127.0.0.1 for the same model (with ``--chat-format``, default
chatml-function-calling: llama-cpp-python's own tool prompt for ChatML models such as SmolLM2)
and sends every task through the OpenAI API, tools included.
"""

from __future__ import annotations

import argparse
import sys
import time
from contextlib import ExitStack

from inhouse.engines import open_engine
from inhouse.evals.run import run_eval
from inhouse.evals.stats import summarize
from inhouse.evals.tasks import load_suite


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=1)
    ap.add_argument("--max-tokens", type=int, default=512)
    ap.add_argument("--model", default=None)
    ap.add_argument("--category", action="append")
    ap.add_argument("--server", action="store_true", help="through a real llama_cpp.server on 127.0.0.1")
    ap.add_argument("--chat-format", default="chatml-function-calling")
    ap.add_argument("--ctx", type=int, default=4096)
    args = ap.parse_args(argv)
    tasks = [t for t in load_suite("core") if not args.category or t.category in args.category]
    t0 = time.perf_counter()
    with ExitStack() as stack:
        if args.server:
            from inhouse.bench.config import BenchConfig
            from inhouse.bench.server import LlamaServer
            from inhouse.machine.cpu import default_threads
            from inhouse.models.discover import resolve_model

            path = str(resolve_model(args.model).path)
            server = stack.enter_context(LlamaServer(BenchConfig(model=path, label="eval"), n_ctx=args.ctx,
                                                     threads=default_threads(),
                                                     extra_args=["--chat_format", args.chat_format]))
            engine = stack.enter_context(open_engine(model="bench", endpoint=server.endpoint))
            name = f"{path.rsplit('/', 1)[-1]} via llama_cpp.server ({args.chat_format})"
        else:
            engine = stack.enter_context(open_engine(args.model))
            name = engine.model_name
        run = run_eval(engine, tasks, model=name, suite="core", samples=args.samples, max_tokens=args.max_tokens)
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
