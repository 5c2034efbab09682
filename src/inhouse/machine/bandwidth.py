"""Measure this machine's memory read bandwidth.

Decoding one token reads every active weight once, so decode speed is bounded by read bandwidth;
bench reports what share of it a model reaches. The measurement sums a buffer much larger than
the CPU caches with one thread per usable CPU (numpy releases the GIL in reductions), and keeps
the best of several passes: the repeatable peak, not a noisy average.
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass

from .cpu import usable_cpus


@dataclass(frozen=True)
class BandwidthResult:
    bytes_per_s: float
    buffer_bytes: int
    threads: int
    passes: int

    def to_dict(self) -> dict:
        return asdict(self)


def measure_read_bandwidth(
    buffer_bytes: int = 512 * 1024 * 1024, passes: int = 5, threads: int | None = None
) -> BandwidthResult:
    """Best-of-``passes`` read bandwidth over a ``buffer_bytes`` buffer, in bytes per second."""
    import numpy as np

    threads = threads or usable_cpus()
    data = np.ones(buffer_bytes // 8, dtype=np.float64)  # ones, so the pages are really backed
    chunks = np.array_split(data, threads)
    best = 0.0
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
            best = max(best, data.nbytes / elapsed)
    return BandwidthResult(bytes_per_s=best, buffer_bytes=int(data.nbytes), threads=threads, passes=passes)
