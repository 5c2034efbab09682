"""A local llama.cpp server (``python -m llama_cpp.server``) that inhouse starts and stops, for
``inhouse bench --compare``: the same model and settings as in-process, behind HTTP."""

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
    """``llama_cpp.server`` needs llama-cpp-python's ``server`` extra (uvicorn, fastapi...), which a
    plain install does not bring: say so in one line before starting anything."""
    import importlib

    for module in ("uvicorn", "fastapi", "sse_starlette", "starlette_context", "pydantic_settings"):
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise ServerUnreachable(
                f"--compare starts llama_cpp.server, which needs {exc.name or module} (not installed): "
                "pip install 'llama-cpp-python[server]==0.3.36', then run it again."
            ) from None


class LlamaServer:
    """``with LlamaServer(config, n_ctx) as server: server.endpoint, server.pid, server.load_s``"""

    def __init__(self, config: BenchConfig, n_ctx: int, threads: int, timeout: float = 180,
                 extra_args: list[str] | None = None) -> None:
        """``extra_args``: more llama_cpp.server flags, e.g. ``["--chat_format", "chatml-function-calling"]``."""
        self.config, self.n_ctx, self.threads, self.timeout = config, n_ctx, threads, timeout
        self.extra_args = list(extra_args or [])
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.load_s: float | None = None
        self._log = tempfile.NamedTemporaryFile(prefix="inhouse-llama-server-", suffix=".log", delete=False)

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def __enter__(self) -> "LlamaServer":
        c = self.config
        cmd = [sys.executable, "-m", "llama_cpp.server", "--model", c.model, "--model_alias", "bench",
               "--host", "127.0.0.1", "--port", str(self.port), "--n_ctx", str(self.n_ctx),
               "--n_threads", str(self.threads), "--n_threads_batch", str(self.threads),
               "--n_batch", str(c.n_batch), "--n_ubatch", str(c.n_ubatch),
               "--type_k", str(CACHE_TYPES[c.type_k][2]), "--type_v", str(CACHE_TYPES[c.type_v][2]),
               "--flash_attn", str(c.flash_attn), "--n_gpu_layers", str(c.n_gpu_layers), *self.extra_args]
        require_server()
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, env=os.environ.copy())
        try:
            return self._wait_ready(t0)
        except BaseException:
            self.__exit__()  # a failed start (or Ctrl-C while waiting) must not leave the server running
            raise

    def _wait_ready(self, t0: float) -> "LlamaServer":
        import httpx

        while time.perf_counter() - t0 < self.timeout:
            if self.proc.poll() is not None:
                raise ServerUnreachable(f"llama_cpp.server exited with code {self.proc.returncode} while starting: "
                                        f"{self._tail()}")
            try:
                if httpx.get(f"{self.endpoint}/v1/models", timeout=1).status_code == 200:
                    self.load_s = time.perf_counter() - t0
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise ServerUnreachable(f"llama_cpp.server did not answer within {self.timeout:.0f} s: {self._tail()}")

    def _tail(self) -> str:
        lines = [ln for ln in Path(self._log.name).read_text(errors="replace").splitlines() if ln.strip()]
        return " | ".join(lines[-3:]) or "no output"

    def __exit__(self, *exc: object) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        Path(self._log.name).unlink(missing_ok=True)
