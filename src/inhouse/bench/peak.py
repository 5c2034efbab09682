"""Peak resident memory of a process, and which local process serves a port.

On Linux the kernel keeps each process's peak RSS (``VmHWM``) and lets it be reset by writing 5
to ``/proc/PID/clear_refs``, so the peak of one measured stretch is exact. Elsewhere (or without
permission to reset) a thread samples RSS every 20 ms and keeps the maximum.
"""

from __future__ import annotations

import threading
from pathlib import Path

import psutil


def _vm_hwm(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _reset_hwm(pid: int) -> bool:
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        return True
    except OSError:
        return False


class PeakRSS:
    """``with PeakRSS(pid) as peak: ...`` then ``peak.bytes``."""

    def __init__(self, pid: int | None = None, interval: float = 0.02) -> None:
        self.pid = pid or psutil.Process().pid
        self.interval = interval
        self.bytes = 0
        self.method = "sampled"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._exact = False

    def __enter__(self) -> "PeakRSS":
        self._exact = _reset_hwm(self.pid) and _vm_hwm(self.pid) is not None
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        try:
            proc = psutil.Process(self.pid)
            while not self._stop.is_set():
                self.bytes = max(self.bytes, proc.memory_info().rss)
                self._stop.wait(self.interval)
        except psutil.Error:
            pass

    def so_far(self) -> int:
        """The peak since ``__enter__``, without stopping."""
        if self._exact:
            hwm = _vm_hwm(self.pid)
            if hwm is not None:
                self.method = "VmHWM"
                return max(self.bytes, hwm)
        return self.bytes

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()
        if self._exact:
            hwm = _vm_hwm(self.pid)
            if hwm is not None:
                self.bytes, self.method = max(self.bytes, hwm), "VmHWM"


def pid_listening_on(port: int) -> int | None:
    """The local process listening on TCP ``port``, if this user may see it."""
    try:
        for conn in psutil.net_connections(kind="tcp"):
            if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port and conn.pid:
                return conn.pid
    except (psutil.AccessDenied, OSError):
        pass
    for proc in psutil.process_iter(["pid"]):  # net_connections needs privileges on some systems
        try:
            for conn in proc.net_connections(kind="tcp"):
                if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port:
                    return proc.pid
        except (psutil.Error, OSError):
            continue
    return None


def gguf_of_process(pid: int) -> str | None:
    """A .gguf path on the process's command line (llama-server -m X.gguf, llama_cpp.server
    --model X.gguf), if any."""
    try:
        for arg in psutil.Process(pid).cmdline():
            if arg.endswith(".gguf") and Path(arg).exists():
                return arg
    except psutil.Error:
        return None
    return None
