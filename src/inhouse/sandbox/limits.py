"""Resource limits for one sandboxed execution, and the machine-speed factor for its wall clock."""

from __future__ import annotations

import functools
import time
from dataclasses import asdict, dataclass

REFERENCE_LOOP_S = 0.06  # a 1M-iteration pure-Python loop on a recent laptop core


@dataclass(frozen=True)
class SandboxLimits:
    wall_s: float = 10.0  # before scaling by machine speed
    cpu_s: int = 10
    memory_bytes: int = 1 << 30  # address space (RLIMIT_AS)
    file_bytes: int = 64 << 20  # largest file it may write (RLIMIT_FSIZE)
    open_files: int = 256
    processes: int = 64
    output_bytes: int = 64 << 10  # of stdout and of stderr returned
    kill_output_bytes: int = 16 << 20  # more output than this and the program is killed
    scale_wall_clock: bool = True

    def to_dict(self) -> dict:
        return asdict(self)


@functools.lru_cache(maxsize=1)
def speed_factor() -> float:
    """How much slower than the reference machine this one runs Python (>= 1, at most 10):
    time limits stretch by it, so a slow CI box does not turn passing code into timeouts."""
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        n = 0
        for i in range(1_000_000):
            n += i
        best = min(best, time.perf_counter() - t0)
    return max(1.0, min(10.0, best / REFERENCE_LOOP_S))
