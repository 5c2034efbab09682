"""``probe_machine``: everything inhouse needs to know about this machine, in one record.

The bandwidth measurement takes a few seconds, so it is cached in the store per machine
(fingerprint: host name, CPU model, core count and total RAM) and re-measured on request.
"""

from __future__ import annotations

import hashlib
import platform
import socket
from dataclasses import dataclass, field
from typing import Any

from .bandwidth import measure_read_bandwidth
from .contention import AppUsage, DockerUsage, docker_usage, top_apps
from .cpu import core_counts, cpu_model, default_threads, isa_flags
from .gpu import GPUInfo, gpus
from .memory import MemoryInfo, memory_info


@dataclass
class MachineInfo:
    fingerprint: str
    hostname: str
    os: str
    arch: str
    cpu_model: str
    physical_cores: int
    logical_threads: int
    default_threads: int
    isa: list[str]
    memory: MemoryInfo
    gpus: list[GPUInfo]
    gpu_note: str | None
    bandwidth_bytes_per_s: float | None = None
    bandwidth_measured_at: str | None = None
    bandwidth_cached: bool = False
    apps: list[AppUsage] = field(default_factory=list)
    docker: DockerUsage | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "fingerprint": self.fingerprint,
            "hostname": self.hostname,
            "os": self.os,
            "arch": self.arch,
            "cpu": {
                "model": self.cpu_model,
                "physical_cores": self.physical_cores,
                "logical_threads": self.logical_threads,
                "default_threads": self.default_threads,
                "isa": self.isa,
            },
            "memory": self.memory.to_dict(),
            "gpus": [g.to_dict() for g in self.gpus],
            "gpu_note": self.gpu_note,
            "bandwidth": {
                "read_bytes_per_s": self.bandwidth_bytes_per_s,
                "measured_at": self.bandwidth_measured_at,
                "cached": self.bandwidth_cached,
            },
            "apps": [a.to_dict() for a in self.apps],
            "docker": self.docker.to_dict() if self.docker else None,
        }


def fingerprint(hostname: str, cpu: str, logical: int, total_ram: int) -> str:
    key = f"{hostname}|{cpu}|{logical}|{total_ram // (1 << 30)}"
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def probe_machine(
    store=None, *, bandwidth: bool = True, refresh_bandwidth: bool = False, usage: bool = True
) -> MachineInfo:
    """Probe this machine. With a ``store``, the bandwidth figure is read from / saved to it."""
    physical, logical = core_counts()
    mem = memory_info()
    cpu = cpu_model()
    host = socket.gethostname()
    found, note = gpus()
    info = MachineInfo(
        fingerprint=fingerprint(host, cpu, logical, mem.total_bytes),
        hostname=host,
        os=f"{platform.system()} {platform.release()}",
        arch=platform.machine(),
        cpu_model=cpu,
        physical_cores=physical,
        logical_threads=logical,
        default_threads=default_threads(),
        isa=isa_flags(),
        memory=mem,
        gpus=found,
        gpu_note=note,
    )
    if bandwidth:
        cached = None if (refresh_bandwidth or store is None) else store.machine_bandwidth(info.fingerprint)
        if cached is not None:
            info.bandwidth_bytes_per_s, info.bandwidth_measured_at = cached
            info.bandwidth_cached = True
        else:
            # A buffer far beyond any cache, but never more than an eighth of free memory.
            size = int(min(512 * 1024 * 1024, max(64 * 1024 * 1024, mem.available_bytes // 8)))
            info.bandwidth_bytes_per_s = measure_read_bandwidth(buffer_bytes=size).bytes_per_s
    if usage:
        info.apps = top_apps()
        info.docker = docker_usage()
    if store is not None:
        data = info.to_dict()
        data.pop("apps")
        data.pop("docker")
        store.save_machine(
            info.fingerprint, data, None if info.bandwidth_cached else info.bandwidth_bytes_per_s
        )
        if not info.bandwidth_cached and info.bandwidth_bytes_per_s is not None:
            cached = store.machine_bandwidth(info.fingerprint)
            if cached:
                info.bandwidth_measured_at = cached[1]
    return info
