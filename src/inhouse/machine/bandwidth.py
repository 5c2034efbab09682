"""Measure this machine's memory read bandwidth.

Decoding one token reads every active weight once, so decode speed is bounded by read bandwidth;
bench reports what share of it a model reaches. The measurement sums a buffer much larger than
the CPU caches with one thread per usable CPU (numpy releases the GIL in reductions), and keeps
the best of several passes as the figure (the repeatable peak, not a noisy average) with the
spread of all passes. Anything else running (a build, another benchmark) takes bandwidth away,
so the machine's CPU use is checked first: ``wait_until_quiet`` waits a little for it to settle
and says how busy it still was.
"""

from __future__ import annotations

import statistics
import threading
import time
from dataclasses import asdict, dataclass
from typing import Callable

from .cpu import usable_cpus

QUIET_CPU_PERCENT = 20.0  # the whole machine's CPU use below which it counts as quiet


@dataclass(frozen=True)
class BandwidthResult:
    bytes_per_s: float  # the best pass: the figure
    buffer_bytes: int
    threads: int
    passes: int
    min_bytes_per_s: float = 0.0
    median_bytes_per_s: float = 0.0
    max_bytes_per_s: float = 0.0
    busy_cpu_percent: float | None = None  # the machine's CPU use just before measuring
    quiet: bool | None = None  # busy_cpu_percent below QUIET_CPU_PERCENT; None when not checked
    waited_s: float = 0.0  # spent waiting for the machine to settle

    def to_dict(self) -> dict:
        return asdict(self)


def cpu_busy_percent(window_s: float = 0.5) -> float:
    """The whole machine's CPU use over ``window_s`` seconds, 0-100."""
    import psutil

    return float(psutil.cpu_percent(interval=window_s))


def wait_until_quiet(max_wait_s: float = 5.0, *, threshold: float = QUIET_CPU_PERCENT, window_s: float = 0.5,
                     sample: Callable[[float], float] | None = None) -> tuple[float, bool, float]:
    """Sample the CPU use until it is below ``threshold`` or ``max_wait_s`` has passed; returns
    (the last CPU use in percent, whether it was quiet, seconds waited)."""
    sample = sample or cpu_busy_percent
    t0 = time.monotonic()
    while True:
        busy = sample(window_s)
        waited = time.monotonic() - t0
        if busy < threshold:
            return busy, True, waited
        if waited >= max_wait_s:
            return busy, False, waited


def measure_read_bandwidth(
    buffer_bytes: int = 512 * 1024 * 1024, passes: int = 5, threads: int | None = None
) -> BandwidthResult:
    """Best-of-``passes`` read bandwidth over a ``buffer_bytes`` buffer, in bytes per second,
    with the min / median / max of the passes."""
    import numpy as np

    threads = threads or usable_cpus()
    data = np.ones(buffer_bytes // 8, dtype=np.float64)  # ones, so the pages are really backed
    chunks = np.array_split(data, threads)
    rates: list[float] = []
    for i in range(passes + 1):  # the first pass warms page tables and caches; not counted
        barrier = threading.Barrier(threads + 1)

        def work(chunk: "np.ndarray") -> None:
            barrier.wait()
            chunk.sum()

        pool = [threading.Thread(target=work, args=(c,)) for c in chunks]
        for th in pool:
            th.start()
        barrier.wait()
        t0 = time.perf_counter()
        for th in pool:
            th.join()
        elapsed = time.perf_counter() - t0
        if i and elapsed > 0:
            rates.append(data.nbytes / elapsed)
    return BandwidthResult(bytes_per_s=max(rates), buffer_bytes=int(data.nbytes), threads=threads, passes=passes,
                           min_bytes_per_s=min(rates), median_bytes_per_s=statistics.median(rates),
                           max_bytes_per_s=max(rates))


def measure_when_quiet(buffer_bytes: int, *, passes: int = 5, max_wait_s: float = 5.0,
                       sample: Callable[[float], float] | None = None) -> BandwidthResult:
    """Wait (briefly) for the machine to be quiet, then measure; the result says how busy it was."""
    from dataclasses import replace

    busy, quiet, waited = wait_until_quiet(max_wait_s, sample=sample)
    result = measure_read_bandwidth(buffer_bytes=buffer_bytes, passes=passes)
    return replace(result, busy_cpu_percent=busy, quiet=quiet, waited_s=waited)
