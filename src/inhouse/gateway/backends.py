"""Backends' health and the local server inhouse runs.

- ``BackendState``: up/down, the last error, and a circuit breaker: ``max_failures`` consecutive
  failures cool the backend for ``cooldown_s``; a ``Retry-After`` (429, 503) cools it at once for
  as long as the server asks (at most an hour). After the cooldown one request may try again
  (half-open): a success closes the breaker, one more failure cools it again.
- ``plan_local``: the context and KV-cache types for a GGUF that ``inhouse fit``'s estimate says
  fit this machine's free memory (or a one-line error saying what would fit).
- ``LocalServer``: that GGUF behind ``python -m llama_cpp.server`` (or llama.cpp's ``llama-server``
  when it is on PATH) on 127.0.0.1; started, waited for, restarted when it dies (``supervise``) and
  stopped on ``stop()`` or at interpreter exit.
"""

from __future__ import annotations

import asyncio
import atexit
import email.utils
import shutil
import sys
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable, Mapping

from ..bench.server import ServerProcess
from ..errors import ConfigError, ServerUnreachable
from ..plan.settings import CACHE_TYPES

MAX_RETRY_AFTER_S = 3600.0
GIB = 1 << 30


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value: delay-seconds or an HTTP date (RFC 9110).
    None when absent or unreadable; never negative; capped at an hour."""
    if value is None or not str(value).strip():
        return None
    text = str(value).strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if when is None or when.tzinfo is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if seconds != seconds:  # NaN
        return None
    return min(max(0.0, seconds), MAX_RETRY_AFTER_S)


def retry_after_from_headers(headers: Mapping[str, str]) -> float | None:
    """``retry-after-ms`` (OpenAI) or ``retry-after``, from response headers (any case)."""
    lower = {k.lower(): v for k, v in headers.items()}
    ms = lower.get("retry-after-ms")
    if ms is not None:
        try:
            value = float(ms) / 1000
        except ValueError:
            value = None
        if value is not None and value == value:
            return min(max(0.0, value), MAX_RETRY_AFTER_S)
    return parse_retry_after(lower.get("retry-after"))


class BackendState:
    """One backend's health and circuit breaker. ``now`` arguments are ``clock()`` readings
    (monotonic seconds by default); the wall-clock times are for display."""

    def __init__(self, name: str, *, max_failures: int = 3, cooldown_s: float = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if max_failures < 1 or cooldown_s < 0:
            raise ConfigError(f"backend {name!r}: max_failures must be >= 1 and cooldown_s >= 0")
        self.name = name
        self.max_failures = max_failures
        self.cooldown_s = cooldown_s
        self.clock = clock
        self.status = "unknown"  # "unknown" (not tried yet), "up" or "down"
        self.last_error: str | None = None
        self.consecutive_failures = 0
        self.cooldown_until = 0.0
        self.successes = 0
        self.failures = 0
        self.last_ok_at: float | None = None  # wall clock
        self.last_error_at: float | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_config(cls, backend, clock: Callable[[], float] = time.monotonic) -> "BackendState":
        """From a ``config.BackendConfig``."""
        return cls(backend.name, max_failures=backend.max_failures, cooldown_s=backend.cooldown_s, clock=clock)

    def record_success(self, now: float | None = None) -> None:
        with self._lock:
            self.status = "up"
            self.consecutive_failures = 0
            self.cooldown_until = 0.0
            self.successes += 1
            self.last_ok_at = time.time()

    def record_failure(self, error: str, *, retry_after_s: float | None = None, now: float | None = None) -> None:
        """A failed request or probe. ``retry_after_s`` (from the server's Retry-After) cools the
        backend at once for that long; otherwise ``max_failures`` in a row cool it ``cooldown_s``."""
        now = self.clock() if now is None else now
        with self._lock:
            self.status = "down"
            self.last_error = error
            self.last_error_at = time.time()
            self.consecutive_failures += 1
            self.failures += 1
            until = self.cooldown_until
            if retry_after_s is not None:
                until = max(until, now + min(max(0.0, retry_after_s), MAX_RETRY_AFTER_S))
            if self.consecutive_failures >= self.max_failures:
                until = max(until, now + self.cooldown_s)
            self.cooldown_until = until

    def cooldown_left(self, now: float | None = None) -> float:
        now = self.clock() if now is None else now
        return max(0.0, self.cooldown_until - now)

    def available(self, now: float | None = None) -> bool:
        """False while cooling down; a backend that is down but not cooled may still be tried."""
        return self.cooldown_left(now) == 0.0

    def to_dict(self, now: float | None = None) -> dict:
        left = self.cooldown_left(now)
        return {
            "name": self.name,
            "state": "cooling" if left else self.status,
            "available": left == 0.0,
            "cooldown_s_left": round(left, 3),
            "consecutive_failures": self.consecutive_failures,
            "successes": self.successes,
            "failures": self.failures,
            "last_error": self.last_error,
            "last_ok_at": self.last_ok_at,
            "last_error_at": self.last_error_at,
        }


# --- what fits ---------------------------------------------------------------------------------

_UNQUANTIZED = ("f16", "f32", "bf16")


@dataclass(frozen=True)
class LocalPlan:
    path: Path
    model_name: str
    n_ctx: int
    type_k: str
    type_v: str
    flash_attn: bool
    needs_bytes: int  # the estimate (weights once, KV cache, compute, output) for these settings
    budget_bytes: int  # free RAM less the headroom for the user's other work
    why: str  # how n_ctx and the KV types were chosen


def _settings(n_ctx: int, type_k: str, type_v: str):
    from ..plan.settings import LoadSettings

    return LoadSettings(n_ctx=n_ctx, type_k=type_k, type_v=type_v, flash_attn=type_v not in _UNQUANTIZED)


def machine_ram_budget() -> int:
    """Free RAM now less ``inhouse fit``'s default headroom (10% of RAM, at least 1 GiB)."""
    from ..machine.memory import memory_info
    from ..plan.budget import default_headroom

    mem = memory_info()
    return max(0, mem.available_bytes - default_headroom(mem.total_bytes))


def _locate(ref: str | None) -> tuple[Path, str]:
    """A GGUF's path and name: a built-in model, a path, or a name ``inhouse models`` lists."""
    from ..models.defaults import DEFAULT_MODEL, PYPI_MODELS
    from ..models.discover import resolve_model

    ref = ref or DEFAULT_MODEL
    if ref in PYPI_MODELS:
        return PYPI_MODELS[ref].locate(), ref
    path = Path(ref).expanduser()
    if ref.endswith(".gguf") and path.is_file():
        return path, path.stem
    info = resolve_model(ref)  # discovery (Ollama, LM Studio, HF cache, model folders), with its errors
    return Path(info.path), info.name


def _stamp(path: Path) -> tuple[int, int]:
    from ..errors import ModelNotFound

    try:
        st = path.stat()
    except OSError as exc:
        raise ModelNotFound(f"No model file at {path}. Check the path, or run `inhouse models`.") from exc
    return st.st_size, st.st_mtime_ns


@lru_cache(maxsize=8)
def _spec(path: str, size: int, mtime_ns: int):
    """The ModelSpec of a GGUF, read once per file version (reading a header takes seconds)."""
    from ..models.gguf_header import read_header
    from ..plan.spec import ModelSpec

    return ModelSpec.from_header(read_header(path))


def plan_local(gguf: str | None = None, ctx: int | None = None, cache_type_k: str | None = None,
               cache_type_v: str | None = None, *, budget_bytes: int | None = None, max_ctx: int = 32768,
               min_ctx: int = 1024, name: str = "local") -> LocalPlan:
    """Settings for a GGUF (a path or a model name ``inhouse models`` knows; None: the default)
    that fit ``budget_bytes`` (default: this machine's, as ``inhouse fit --budget auto``).

    With ``ctx``, that context is checked and refused with the largest that would fit. Without,
    the largest context up to ``max_ctx`` (and the model's trained context) is taken, trying
    f16, then q8_0, then q4_0 KV caches unless the types are given."""
    from ..plan.estimate import estimate
    from ..plan.search import KV_LADDER, max_context

    for label, t in (("cache_type_k", cache_type_k), ("cache_type_v", cache_type_v)):
        if t is not None and t not in CACHE_TYPES:
            raise ConfigError(f"backend \"{name}\": {label} must be one of {', '.join(CACHE_TYPES)}, not {t!r}")
    path, model_name = _locate(gguf)
    spec = _spec(str(path), *_stamp(path))
    budget = machine_ram_budget() if budget_bytes is None else budget_bytes
    fit_hint = f"see `inhouse fit {model_name} --budget auto`"

    if ctx is not None:
        k, v = cache_type_k or "f16", cache_type_v or "f16"
        s = _settings(ctx, k, v)
        need = estimate(spec, s).ram_bytes
        if need > budget:
            best = max_context(spec, s, budget, ceiling=ctx)
            lower = (f"lower ctx to {best.n_ctx}" if best.n_ctx else "no context fits with these cache types")
            quant = "" if v != "f16" else ", or use cache_type_k/cache_type_v = \"q8_0\""
            raise ConfigError(f"backend \"{name}\": {model_name} with ctx {ctx} (K {k} / V {v}) needs "
                              f"{need / GIB:.2f} GiB but {budget / GIB:.2f} GiB of RAM is free to use here; "
                              f"{lower}{quant} ({fit_hint})")
        return LocalPlan(path, model_name, ctx, k, v, s.flash_attn, need, budget, "as configured")

    ceiling = min(max_ctx, spec.n_ctx_train or max_ctx)
    ladder = [(cache_type_k or "f16", cache_type_v or "f16")] if (cache_type_k or cache_type_v) else list(KV_LADDER)
    fits = [max_context(spec, _settings(256, k, v), budget, ceiling=ceiling) for k, v in ladder]
    full = [f for f in fits if f.capped_by_model]
    best = full[0] if full else max(fits, key=lambda f: f.n_ctx)
    if best.n_ctx == 0 or best.estimate is None:
        k, v = ladder[-1]
        least = estimate(spec, _settings(256, k, v)).ram_bytes
        raise ConfigError(f"backend \"{name}\": {model_name} does not fit: it needs {least / GIB:.2f} GiB even with "
                          f"256 tokens of context (K {k} / V {v}) but {budget / GIB:.2f} GiB of RAM is free to use "
                          f"here; close other programs or pick a smaller model ({fit_hint})")
    if best.n_ctx < min(min_ctx, ceiling):
        raise ConfigError(f"backend \"{name}\": {model_name} fits only {best.n_ctx} tokens of context in the "
                          f"{budget / GIB:.2f} GiB of RAM free to use here (at least {min(min_ctx, ceiling)} wanted); "
                          f"close other programs, pick a smaller model or set ctx ({fit_hint})")
    why = (f"the largest context up to {ceiling} that fits {budget / GIB:.2f} GiB"
           + ("" if best.capped_by_model else " (memory-bound)"))
    return LocalPlan(path, model_name, best.n_ctx, best.type_k, best.type_v, best.flash_attn,
                     best.estimate.ram_bytes, budget, why)


# --- the server --------------------------------------------------------------------------------

_LIVE: set["LocalServer"] = set()  # started and not stopped: stopped at interpreter exit


@atexit.register
def _stop_all() -> None:
    for server in list(_LIVE):
        server.stop()


class LocalServer(ServerProcess):
    """A GGUF served on 127.0.0.1 under the settings ``plan_local`` chose (or a ConfigError before
    anything starts). ``start()`` waits until it answers; ``supervise()`` restarts it when it died
    on its own; ``stop()`` ends it. The served model name is ``alias`` (default: the model's)."""

    def __init__(self, gguf: str | Path | None = None, ctx: int | None = None, cache_type_k: str | None = None,
                 cache_type_v: str | None = None, *, name: str = "local", alias: str | None = None,
                 threads: int | None = None, timeout: float = 180, budget_bytes: int | None = None,
                 max_ctx: int = 32768, llama_server: str | None | bool = None, extra_args: list[str] | None = None,
                 max_restarts: int = 3, restart_window_s: float = 300.0) -> None:
        """``llama_server``: None looks for ``llama-server`` on PATH, False never uses it, a path uses that."""
        from ..machine.cpu import default_threads

        self.plan = plan_local(None if gguf is None else str(gguf), ctx, cache_type_k, cache_type_v,
                               budget_bytes=budget_bytes, max_ctx=max_ctx, name=name)
        super().__init__(timeout)
        self.name = name
        self.alias = alias or self.plan.model_name
        self.threads = threads or default_threads()
        self.llama_server = shutil.which("llama-server") if llama_server is None else (llama_server or None)
        self.label = "llama-server" if self.llama_server else "llama_cpp.server"
        self.extra_args = list(extra_args or [])
        self.max_restarts = max_restarts
        self.restart_window_s = restart_window_s
        self.restarts: list[float] = []  # monotonic times of restarts after a crash
        self.last_exit: str | None = None  # how the server last died on its own
        self._stopped = True
        self._lock = threading.Lock()

    def command(self) -> list[str]:
        p = self.plan
        if self.llama_server:
            return [self.llama_server, "--model", str(p.path), "--alias", self.alias, "--host", "127.0.0.1",
                    "--port", str(self.port), "--ctx-size", str(p.n_ctx), "--threads", str(self.threads),
                    "--cache-type-k", p.type_k, "--cache-type-v", p.type_v,
                    "--flash-attn", "on" if p.flash_attn else "off", "--jinja", *self.extra_args]
        return [sys.executable, "-m", "llama_cpp.server", "--model", str(p.path), "--model_alias", self.alias,
                "--host", "127.0.0.1", "--port", str(self.port), "--n_ctx", str(p.n_ctx),
                "--n_threads", str(self.threads), "--n_threads_batch", str(self.threads),
                "--type_k", str(CACHE_TYPES[p.type_k][2]), "--type_v", str(CACHE_TYPES[p.type_v][2]),
                "--flash_attn", str(p.flash_attn), *self.extra_args]

    def start(self) -> "LocalServer":
        with self._lock:
            self._stopped = False
            _LIVE.add(self)
            try:
                super().start()
            except BaseException:
                self._stopped = True
                _LIVE.discard(self)
                raise
            return self

    def stop(self) -> None:
        self._stopped = True
        _LIVE.discard(self)
        super().stop()

    def supervise(self, now: float | None = None) -> bool:
        """If the server died on its own, start it again (same port); True when it did. More than
        ``max_restarts`` crashes within ``restart_window_s`` raise ServerUnreachable instead."""
        with self._lock:
            if self._stopped or self.proc is None or self.proc.poll() is None:
                return False
            now = time.monotonic() if now is None else now
            self.last_exit = f"{self.label} exited with code {self.proc.returncode}: {self.tail()}"
            self.restarts = [t for t in self.restarts if now - t < self.restart_window_s]
            if len(self.restarts) >= self.max_restarts:
                self._stopped = True
                _LIVE.discard(self)
                super().stop()
                raise ServerUnreachable(
                    f"backend \"{self.name}\": the local server crashed {len(self.restarts) + 1} times in "
                    f"{self.restart_window_s:.0f} s and is not restarted again; last: {self.last_exit}")
            self.restarts.append(now)
            super().start()
            return True

    async def astart(self) -> "LocalServer":
        """``start()`` off the event loop."""
        return await asyncio.to_thread(self.start)

    async def asupervise(self) -> bool:
        return await asyncio.to_thread(self.supervise)

    def to_dict(self) -> dict:
        p = self.plan
        return {"endpoint": self.endpoint, "pid": self.pid, "running": self.running, "server": self.label,
                "model": p.model_name, "gguf": str(p.path), "alias": self.alias, "n_ctx": p.n_ctx,
                "type_k": p.type_k, "type_v": p.type_v, "flash_attn": p.flash_attn,
                "needs_bytes": p.needs_bytes, "budget_bytes": p.budget_bytes, "why": p.why,
                "load_s": self.load_s, "restarts": len(self.restarts), "last_exit": self.last_exit}


def local_server_for(backend, **kwargs) -> LocalServer:
    """The LocalServer a managed local ``config.BackendConfig`` describes."""
    if not backend.managed:
        raise ConfigError(f"backend \"{backend.name}\" is not a local server inhouse starts (it has a url)")
    return LocalServer(backend.gguf, backend.ctx, backend.cache_type_k, backend.cache_type_v,
                       name=backend.name, alias=backend.model, **kwargs)
