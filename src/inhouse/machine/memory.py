"""RAM, swap and the container (cgroup) memory limit.

Inside a container ``/proc/meminfo`` shows the host's RAM, not what this process may use; the
cgroup limit and usage are the truth there, so ``available`` is capped by ``limit - usage``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

_UNLIMITED = 1 << 60  # cgroup v1 writes "no limit" as a huge number


@dataclass(frozen=True)
class MemoryInfo:
    total_bytes: int
    available_bytes: int
    swap_total_bytes: int
    swap_free_bytes: int
    cgroup_limit_bytes: int | None
    cgroup_usage_bytes: int | None

    def to_dict(self) -> dict:
        return asdict(self)


def _read_int(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    if text == "max":
        return None
    try:
        value = int(text)
    except ValueError:
        return None
    return None if value >= _UNLIMITED else value


def cgroup_memory(
    root: Path = Path("/sys/fs/cgroup"), self_cgroup: Path = Path("/proc/self/cgroup")
) -> tuple[int | None, int | None]:
    """(limit, usage) of this process's memory cgroup; (None, None) outside one."""
    rel = "/"
    try:
        for line in self_cgroup.read_text().splitlines():
            parts = line.split(":", 2)
            if len(parts) == 3 and parts[0] == "0":  # cgroup v2 unified hierarchy
                rel = parts[2] or "/"
    except OSError:
        pass
    for base in (root / rel.lstrip("/"), root):
        limit = _read_int(base / "memory.max")
        if limit is not None:
            return limit, _read_int(base / "memory.current")
    limit = _read_int(root / "memory" / "memory.limit_in_bytes")  # cgroup v1
    if limit is not None:
        return limit, _read_int(root / "memory" / "memory.usage_in_bytes")
    return None, None


def memory_info() -> MemoryInfo:
    import psutil

    vm = psutil.virtual_memory()
    sw = psutil.swap_memory()
    limit, usage = cgroup_memory()
    total, available = int(vm.total), int(vm.available)
    if limit is not None and limit < total:
        total = limit
        if usage is not None:
            available = max(0, min(available, limit - usage))
    return MemoryInfo(
        total_bytes=total,
        available_bytes=min(available, total),
        swap_total_bytes=int(sw.total),
        swap_free_bytes=int(sw.free),
        cgroup_limit_bytes=limit,
        cgroup_usage_bytes=usage,
    )
