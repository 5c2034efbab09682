"""How fast does Ctrl-C stop inhouse? Seconds from SIGINT to the process's exit, per moment.

Each moment is found from the process itself: a llama.cpp log line (the launcher shows the
``inhouse.llama_cpp`` logger on a copy of stderr), or the first result row in the store. Every
run must exit 130; the figure is the wall time from ``kill(SIGINT)`` to ``waitpid``. Also prints
what a Python abort check would cost per decoded token if it stayed on while decoding (the
reason it is switched on only for prompt evaluations).

    python benchmarks/interrupt_latency.py [--runs 3]
"""

from __future__ import annotations

import argparse
import ctypes
import os
import re
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

LAUNCHER = """
import logging, os, sys
err = os.fdopen(os.dup(2), "w", buffering=1)
h = logging.StreamHandler(err)
h.setFormatter(logging.Formatter("llama.cpp| %(message)s"))
logging.getLogger("inhouse.llama_cpp").addHandler(h)
logging.getLogger("inhouse.llama_cpp").setLevel(logging.DEBUG)
from inhouse.cli import main
sys.argv[0] = "inhouse"
main()
"""

LOAD = ["fit", "--ctx", "8192", "--verify"]
DEPTH = ["bench", "-d", "0", "-d", "4096", "--batch", "4096", "--reps", "1", "--warmup", "0", "--prompt-tokens",
         "16", "--gen-tokens", "4", "--json"]
MOMENTS = [
    ("fit --verify, reading the model's metadata", LOAD, r"llama_model_loader: loaded meta data"),
    ("fit --verify, loading tensors", LOAD, r"load_tensors: loading model tensors"),
    ("fit --verify, creating the context", LOAD, r"llama_context: constructing llama_context"),
    ("chat, loading tensors", ["chat", "hi"], r"load_tensors: loading model tensors"),
    ("bench, filling depth 4096 in one llama_decode", DEPTH, "row"),
]


def one(args: list[str], moment: str, home: Path) -> tuple[int, float]:
    env = {**os.environ, "INHOUSE_HOME": str(home)}
    proc = subprocess.Popen([sys.executable, "-c", LAUNCHER, *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, env=env, text=True)
    seen = threading.Event()

    def read() -> None:
        for line in proc.stderr:
            if moment != "row" and re.search(moment, line):
                seen.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    db = home / "inhouse.db"
    while not seen.is_set():
        if moment == "row" and db.exists():
            try:
                with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
                    if conn.execute("SELECT count(*) FROM bench_results").fetchone()[0]:
                        time.sleep(0.2)
                        break
            except sqlite3.OperationalError:
                pass
        if proc.poll() is not None:
            raise SystemExit(f"{args} exited before the moment")
        time.sleep(0.02)
    t0 = time.monotonic()
    proc.send_signal(signal.SIGINT)
    proc.wait()
    elapsed = time.monotonic() - t0
    reader.join()
    proc.stderr.close()
    return proc.returncode, elapsed


def callback_cost_us() -> float:
    """Microseconds per call of a trivial Python function called from C through ctypes."""
    compare = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)(lambda a, b: 0)
    count = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)(lambda a, b: calls.append(1) or 0)
    calls: list[int] = []
    items = (ctypes.c_int * 100_000)()
    libc = ctypes.CDLL(None)
    libc.qsort(items, len(items), 4, count)
    best = min(_timed(lambda: libc.qsort(items, len(items), 4, compare)) for _ in range(5))
    return best / len(calls) * 1e6


def nodes_per_token() -> int:
    """Abort checks llama.cpp makes for one decoded token of the default model."""
    import llama_cpp
    from llama_cpp import Llama

    from inhouse.models.defaults import DEFAULT_MODEL, PYPI_MODELS

    llm = Llama(model_path=str(PYPI_MODELS[DEFAULT_MODEL].locate()), n_ctx=256, verbose=False)
    calls: list[int] = []
    check = llama_cpp.ggml_abort_callback(lambda _: calls.append(1) or False)
    llm.eval(llm.tokenize(b"def add(a, b):"))
    llama_cpp.llama_set_abort_callback(llm._ctx.ctx, check, None)
    llm.eval([llm.token_bos()])
    llama_cpp.llama_set_abort_callback(llm._ctx.ctx, llama_cpp.ggml_abort_callback(), None)
    llm.close()
    return len(calls)


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    opts = ap.parse_args()
    print(f"seconds from SIGINT to exit ({opts.runs} runs each; target: at most 2 s, exit code 130)")
    for label, args, moment in MOMENTS:
        results = []
        for _ in range(opts.runs):
            with tempfile.TemporaryDirectory(prefix="inhouse-interrupt-") as home:
                results.append(one(args, moment, Path(home)))
        codes = sorted({rc for rc, _ in results})
        times = [t for _, t in results]
        print(f"  {label:<48} median {statistics.median(times):5.2f}  max {max(times):5.2f}  exit {codes}")
    us, nodes = callback_cost_us(), nodes_per_token()
    print(f"a Python callback called from C costs {us:.2f} µs; llama.cpp calls the abort check {nodes} times "
          f"per decoded token of the default model: {us * nodes / 1000:.2f} ms per token if it stayed on")


if __name__ == "__main__":
    main()
