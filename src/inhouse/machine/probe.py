"""``probe_machine``: everything inhouse needs to know about this machine, in one record.

The bandwidth measurement takes a few seconds, so it is cached in the store per machine
(fingerprint: host name, CPU model, core count and total RAM) with the spread of its passes and
how busy the machine was, and re-measured on request (``--refresh``) or by ``inhouse bench``
when a decode speed would need more bandwidth than the stored figure (``remeasure_bandwidth``).
"""

from __future__ import annotations

import hashlib
import platform
import socket
from dataclasses import dataclass, field
from typing import Any

from .bandwidth import BandwidthResult, measure_when_quiet
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
    bandwidth_details: dict[str, Any] = field(default_factory=dict)  # spread, busy CPU, quiet
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
                "age_s": self.bandwidth_age_s,
                "cached": self.bandwidth_cached,
                **{k: self.bandwidth_details.get(k) for k in BANDWIDTH_DETAILS},
            },
            "apps": [a.to_dict() for a in self.apps],
            "docker": self.docker.to_dict() if self.docker else None,
        }


    @property
    def bandwidth_age_s(self) -> float | None:
        """Seconds since the bandwidth figure was measured."""
        if not self.bandwidth_measured_at:
            return None
        import datetime as dt

        then = dt.datetime.fromisoformat(self.bandwidth_measured_at)
        return max(0.0, (dt.datetime.now(dt.timezone.utc) - then).total_seconds())


BANDWIDTH_DETAILS = ("min_bytes_per_s", "median_bytes_per_s", "max_bytes_per_s", "passes", "buffer_bytes",
                     "threads", "busy_cpu_percent", "quiet", "waited_s")


def _details(result: BandwidthResult) -> dict[str, Any]:
    d = result.to_dict()
    return {k: d[k] for k in BANDWIDTH_DETAILS}


def _buffer_bytes(available: int) -> int:
    # A buffer far beyond any cache, but never more than an eighth of free memory.
    return int(min(512 * 1024 * 1024, max(64 * 1024 * 1024, available // 8)))


def fingerprint(hostname: str, cpu: str, logical: int, total_ram: int) -> str:
    key = f"{hostname}|{cpu}|{logical}|{total_ram // (1 << 30)}"
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def probe_machine(
    store=None, *, bandwidth: bool = True, refresh_bandwidth: bool = False, usage: bool = True,
    quiet_wait_s: float = 5.0,
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
        cached = None if (refresh_bandwidth or store is None) else store.machine_bandwidth_details(info.fingerprint)
        if cached is not None:
            info.bandwidth_bytes_per_s, info.bandwidth_measured_at = cached["bytes_per_s"], cached["measured_at"]
            info.bandwidth_details = {k: cached.get(k) for k in BANDWIDTH_DETAILS}
            info.bandwidth_cached = True
        else:
            result = measure_when_quiet(_buffer_bytes(mem.available_bytes), max_wait_s=quiet_wait_s)
            info.bandwidth_bytes_per_s = result.bytes_per_s
            info.bandwidth_details = _details(result)
    if usage:
        info.apps = top_apps()
        info.docker = docker_usage()
    if store is not None:
        data = info.to_dict()
        data.pop("apps")
        data.pop("docker")
        fresh = not info.bandwidth_cached and info.bandwidth_bytes_per_s is not None
        store.save_machine(info.fingerprint, data, info.bandwidth_bytes_per_s if fresh else None,
                           info.bandwidth_details if fresh else None)
        if fresh:
            stored = store.machine_bandwidth_details(info.fingerprint)
            if stored:
                info.bandwidth_measured_at = stored["measured_at"]
    return info


def remeasure_bandwidth(store, info: MachineInfo, *, quiet_wait_s: float = 5.0) -> float | None:
    """Measure the bandwidth again (``inhouse bench`` calls this when a decode speed would need
    more than the stored figure). The higher of the old and new figures is kept, and stored
    when the new one is higher: a busy machine measures too low, never too high. Returns the
    figure now in ``info``."""
    result = measure_when_quiet(_buffer_bytes(memory_info().available_bytes), max_wait_s=quiet_wait_s)
    if info.bandwidth_bytes_per_s is None or result.bytes_per_s > info.bandwidth_bytes_per_s:
        info.bandwidth_bytes_per_s = result.bytes_per_s
        info.bandwidth_details = _details(result)
        info.bandwidth_cached = False
        if store is not None:
            store.save_machine(info.fingerprint, {k: v for k, v in info.to_dict().items() if k not in ("apps", "docker")},
                               result.bytes_per_s, info.bandwidth_details)
            stored = store.machine_bandwidth_details(info.fingerprint)
            info.bandwidth_measured_at = stored["measured_at"] if stored else None
    return info.bandwidth_bytes_per_s
