"""Local llama.cpp servers that inhouse starts, waits for and stops: ``ServerProcess`` (any server
that answers ``GET /v1/models`` on 127.0.0.1) and ``LlamaServer``, the ``python -m llama_cpp.server``
of ``inhouse bench --compare`` (the same model and settings as in-process, behind HTTP). The gateway's
supervised ``LocalServer`` builds on ``ServerProcess`` too."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ..errors import ServerUnreachable
from ..plan.settings import CACHE_TYPES
from .config import BenchConfig


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def require_server() -> None:
    """``llama_cpp.server`` needs llama-cpp-python's ``server`` extra (uvicorn, fastapi...): inhouse
    depends on it, but a hand-made environment may lack it; say so in one line before starting."""
    import importlib

    for module in ("uvicorn", "fastapi", "sse_starlette", "starlette_context", "pydantic_settings"):
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise ServerUnreachable(
                f"llama_cpp.server needs {exc.name or module} (not installed): "
                "pip install 'llama-cpp-python[server]==0.3.36', then run it again."
            ) from None


class ServerProcess:
    """A server process on 127.0.0.1: ``start()`` runs ``command()`` and waits until
    ``GET /v1/models`` answers 200 (a start that fails, or Ctrl-C while waiting, stops the process
    again); ``stop()`` terminates it (kills it after 10 s). ``with`` starts and stops it."""

    label = "llama_cpp.server"

    def __init__(self, timeout: float = 180, port: int | None = None) -> None:
        self.timeout = timeout
        self.port = port or free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.load_s: float | None = None
        self._log = None

    def command(self) -> list[str]:
        raise NotImplementedError

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> "ServerProcess":
        if self.running:
            return self
        self._close_log()
        self._log = tempfile.NamedTemporaryFile(prefix="inhouse-llama-server-", suffix=".log", delete=False)
        t0 = time.perf_counter()
        self.load_s = None
        self.proc = subprocess.Popen(self.command(), stdout=self._log, stderr=subprocess.STDOUT,
                                     env={**os.environ, "PYTHONUNBUFFERED": "1"})
        try:
            return self._wait_ready(t0)
        except BaseException:
            self.stop()  # a failed start (or Ctrl-C while waiting) must not leave the server running
            raise

    def _wait_ready(self, t0: float) -> "ServerProcess":
        import httpx

        while time.perf_counter() - t0 < self.timeout:
            if self.proc.poll() is not None:
                raise ServerUnreachable(f"{self.label} exited with code {self.proc.returncode} while starting: "
                                        f"{self.tail()}")
            try:
                if httpx.get(f"{self.endpoint}/v1/models", timeout=1).status_code == 200:
                    self.load_s = time.perf_counter() - t0
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise ServerUnreachable(f"{self.label} did not answer within {self.timeout:.0f} s: {self.tail()}")

    def tail(self, lines: int = 3) -> str:
        """The last lines the server wrote, joined on one line."""
        if self._log is None:
            return "no output"
        try:
            text = Path(self._log.name).read_text(errors="replace")
        except OSError:
            return "no output"
        found = [ln for ln in text.splitlines() if ln.strip()]
        return " | ".join(found[-lines:]) or "no output"

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            Path(self._log.name).unlink(missing_ok=True)
            self._log = None

    def __enter__(self) -> "ServerProcess":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class LlamaServer(ServerProcess):
    """``with LlamaServer(config, n_ctx) as server: server.endpoint, server.pid, server.load_s``"""

    def __init__(self, config: BenchConfig, n_ctx: int, threads: int, timeout: float = 180,
                 extra_args: list[str] | None = None) -> None:
        """``extra_args``: more llama_cpp.server flags, e.g. ``["--chat_format", "chatml-function-calling"]``."""
        super().__init__(timeout)
        self.config, self.n_ctx, self.threads = config, n_ctx, threads
        self.extra_args = list(extra_args or [])

    def command(self) -> list[str]:
        require_server()
        c = self.config
        return [sys.executable, "-m", "llama_cpp.server", "--model", c.model, "--model_alias", "bench",
                "--host", "127.0.0.1", "--port", str(self.port), "--n_ctx", str(self.n_ctx),
                "--n_threads", str(self.threads), "--n_threads_batch", str(self.threads),
                "--n_batch", str(c.n_batch), "--n_ubatch", str(c.n_ubatch),
                "--type_k", str(CACHE_TYPES[c.type_k][2]), "--type_v", str(CACHE_TYPES[c.type_v][2]),
                "--flash_attn", str(c.flash_attn), "--n_gpu_layers", str(c.n_gpu_layers), *self.extra_args]
