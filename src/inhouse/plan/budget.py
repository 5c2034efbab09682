"""How much memory a model may take on this machine, and why.

What the operating system calls *available* already leaves out what running programs hold; the
budget is that, minus a headroom for the rest of the user's work (default: 10% of RAM, at least
1 GiB). The explanation itemizes what is in use (total minus available) by application group, so
"Docker 3.1 GiB, IDEs 1.2 GiB" is visible, with the rest (other processes, the kernel) as one
line; the items add up to what is in use.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

from ..errors import ConfigError

GIB = 1 << 30
_UNITS = {"b": 1, "k": 1 << 10, "kb": 1000, "kib": 1 << 10, "m": 1 << 20, "mb": 1000**2,
          "mib": 1 << 20, "g": GIB, "gb": 1000**3, "gib": GIB, "t": 1 << 40, "tb": 1000**4, "tib": 1 << 40}


def parse_size(text: str) -> int:
    """'12GiB', '12G', '12 GB', '800MiB', '1.5g' -> bytes. G/M/K are binary units (as llama.cpp
    and `free -h` print them), GB/MB decimal, B bytes. A bare number is an error: "12" meant 12
    bytes here once, and users mean GiB or GB, which differ by 7%."""
    example = "write e.g. 12GiB, 800MiB or 16GB"
    m = re.fullmatch(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([a-zA-Z]*)\s*", text or "")
    if not m or m[2].lower() not in _UNITS:
        if m and not m[2]:
            raise ConfigError(f"{text.strip()!r} has no unit; {example} (a bare number could mean bytes, GiB or GB).")
        raise ConfigError(f"cannot read {text!r} as a size; {example}.")
    value = int(float(m[1]) * _UNITS[m[2].lower()])
    if value <= 0:
        raise ConfigError(f"{text.strip()!r} is no memory at all; {example}.")
    return value


@dataclass
class BudgetLine:
    label: str
    bytes: int
    note: str = ""


@dataclass
class Budget:
    ram_bytes: int
    vram_bytes: int = 0
    source: str = "given"  # "given" or "machine"
    total_ram_bytes: int = 0
    headroom_bytes: int = 0
    in_use: list[BudgetLine] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def default_headroom(total_bytes: int) -> int:
    return max(GIB, total_bytes // 10)


def machine_budget(info, headroom_bytes: int | None = None) -> Budget:
    """The budget from a probed machine (``machine.probe.MachineInfo`` with apps and docker)."""
    mem = info.memory
    headroom = default_headroom(mem.total_bytes) if headroom_bytes is None else headroom_bytes
    in_use_total = max(0, mem.total_bytes - mem.available_bytes)
    lines: list[BudgetLine] = []
    listed = 0
    for app in info.apps:
        if app.bytes < 64 << 20 or listed + app.bytes > in_use_total:
            continue
        note = f"{app.processes} process(es), {app.measure.upper()}"
        lines.append(BudgetLine(app.name, app.bytes, note))
        listed += app.bytes
    lines.append(BudgetLine("other processes, kernel and unreclaimable caches", in_use_total - listed))
    notes = []
    if mem.cgroup_limit_bytes is not None and mem.cgroup_limit_bytes <= mem.total_bytes:
        notes.append(f"this process runs under a memory limit (cgroup) of {mem.cgroup_limit_bytes} bytes: "
                     "that limit is the total here")
    docker = getattr(info, "docker", None)
    if docker is not None:
        if docker.containers:
            names = ", ".join(f"{c['name']} {c['memory_bytes'] / GIB:.1f} GiB" for c in docker.containers[:5])
            notes.append(f"Docker containers hold {docker.total_bytes / GIB:.1f} GiB ({names}); "
                         "they are counted in the lines above")
        else:
            notes.append(docker.note)
    vram = 0
    if info.gpus:
        vram = max(0, max(g.free_bytes for g in info.gpus) - min(headroom, GIB // 2))
        notes.append("VRAM budget: the freest GPU's free memory minus 0.5 GiB")
    return Budget(
        ram_bytes=max(0, mem.available_bytes - headroom),
        vram_bytes=vram,
        source="machine",
        total_ram_bytes=mem.total_bytes,
        headroom_bytes=headroom,
        in_use=lines,
        notes=notes,
    )
