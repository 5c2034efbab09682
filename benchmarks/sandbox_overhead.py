"""What does the sandbox cost per execution?

Runs a trivial Python program N times in the sandbox and N times as a plain subprocess
(``python -I prog.py``), interleaved, and prints the medians and their difference: the overhead
of namespaces, mounts, limits and cleanup. Target: at most 50 ms at the median.

    python benchmarks/sandbox_overhead.py [-n 40]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from inhouse.sandbox import SandboxLimits, isolation_report, run_program


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=40)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        prog = Path(tmp) / "hello.py"
        prog.write_text("print('hello')\n")
        limits = SandboxLimits()
        run_program(prog, limits)  # warm the bwrap probe and the speed calibration
        boxed, plain = [], []
        for _ in range(args.n):
            t0 = time.perf_counter()
            result = run_program(prog, limits)
            boxed.append(time.perf_counter() - t0)
            assert result.status == "ok", result
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-I", str(prog)], capture_output=True, check=True)
            plain.append(time.perf_counter() - t0)
    iso = isolation_report()
    mb, mp = statistics.median(boxed), statistics.median(plain)
    print(f"isolation: {iso['isolation']}" + (f" ({iso['warning']})" if iso["warning"] else ""))
    print(f"{args.n} runs: sandboxed median {mb * 1000:.1f} ms, plain subprocess median {mp * 1000:.1f} ms")
    print(f"overhead per execution: {(mb - mp) * 1000:.1f} ms at the median (target <= 50 ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
