"""CPU model, core counts, ISA flags and the thread count inhouse gives llama.cpp by default.

llama-cpp-python defaults to ``cpu_count() // 2`` threads, which on a 2-core VM is one thread and
on a hybrid laptop counts efficiency cores. Decoding is memory-bound and prefill compute-bound;
one thread per *physical* core this process may run on is the usual best setting (llama.cpp's own
default too), capped by the CPUs the scheduler lets us use.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path

# ISA extensions that change llama.cpp's kernels, as /proc/cpuinfo spells them -> display names.
X86_FLAGS = {
    "sse3": "SSE3", "ssse3": "SSSE3", "avx": "AVX", "avx2": "AVX2", "fma": "FMA", "f16c": "F16C",
    "avx512f": "AVX512F", "avx512bw": "AVX512BW", "avx512vl": "AVX512VL",
    "avx512_vnni": "AVX512_VNNI", "avx512_bf16": "AVX512_BF16", "avx_vnni": "AVX_VNNI",
    "amx_tile": "AMX_TILE", "amx_int8": "AMX_INT8", "amx_bf16": "AMX_BF16",
}
ARM_FLAGS = {
    "asimd": "NEON", "asimddp": "DOTPROD", "i8mm": "I8MM", "sve": "SVE", "sve2": "SVE2",
    "fphp": "FP16", "bf16": "BF16", "sme": "SME",
}


def _cpuinfo() -> str:
    try:
        return Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def cpu_model() -> str:
    for line in _cpuinfo().splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("model name", "Model", "Hardware") and value.strip():
            return value.strip()
    if platform.system() == "Darwin":
        import subprocess

        try:
            return subprocess.run(
                ["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True, text=True, timeout=5
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            pass
    return platform.processor() or platform.machine() or "unknown"


def isa_flags() -> list[str]:
    """The llama.cpp-relevant instruction set extensions this CPU reports."""
    flags: set[str] = set()
    for line in _cpuinfo().splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            flags.update(value.split())
            break
    if platform.machine().lower() in ("arm64", "aarch64") and not flags:
        flags.add("asimd")  # NEON is mandatory on ARMv8-A (e.g. Apple silicon, no /proc/cpuinfo)
    table = {**X86_FLAGS, **ARM_FLAGS}
    return [name for key, name in table.items() if key in flags]


def usable_cpus() -> int:
    """CPUs this process may run on (affinity and, on Linux, the cgroup CPU quota)."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:
        n = os.cpu_count() or 1
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()
        if quota != "max":
            n = min(n, max(1, int(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return max(1, n)


def core_counts() -> tuple[int, int]:
    """(physical cores, logical threads)."""
    import psutil

    logical = psutil.cpu_count(logical=True) or os.cpu_count() or 1
    physical = psutil.cpu_count(logical=False) or logical
    return physical, logical


def default_threads() -> int:
    """Threads for llama.cpp: one per physical core we may use."""
    physical, logical = core_counts()
    usable = usable_cpus()
    # When affinity/quota leaves fewer CPUs than logical threads, scale physical cores alike.
    share = usable / logical if logical else 1.0
    return max(1, min(usable, round(physical * share) or 1))
