"""The gateway's TOML config (``inhouse serve --config FILE``), checked key by key.

    [server]                      # all optional
    host = "127.0.0.1"
    port = 8765
    api_key_env = "INHOUSE_API_KEY"

    [[backend]]                   # a local GGUF that inhouse starts, stops and supervises
    name = "local"
    kind = "local"
    gguf = "smollm2-135m-instruct"   # a path or a model `inhouse models` lists
    ctx = 8192                       # optional: the largest context that fits, up to 32768
    cache_type_k = "q8_0"            # optional: KV cache types (f16 unless memory is short)
    cache_type_v = "q8_0"

    [[backend]]                   # any server speaking a protocol: Ollama, LM Studio, vLLM, the cloud
    name = "cloud"
    kind = "anthropic"               # or "openai"; a local server at a url is kind "local"
    url = "https://api.anthropic.com"
    api_key_env = "ANTHROPIC_API_KEY"  # the NAME of the variable; the key is never in the file
    timeout_s = 600
    first_byte_timeout_s = 60

    [[route]]                     # first match on the model name the client asks for
    match = "claude-*"
    chain = ["local", "cloud"]

    [prices."my-model*"]          # USD per million tokens, above the shipped table
    input_per_mtok = 1.0
    output_per_mtok = 2.0

    [policy]                      # kept as it is, for the routing policy (issue 12)

Every error is one line that names the file, the line and the key
(``config.toml:12: backend "cloud": api_key_env must be ...``). A file with no ``[[backend]]``
gets the default local backend; with no ``[[route]]``, one route ``*`` over all backends in order.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import re
import sys
import time
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit

from ..errors import ConfigError
from ..models.defaults import DEFAULT_MODEL
from ..plan.settings import CACHE_TYPES
from .prices import Price, PriceTable

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

KINDS = ("local", "openai", "anthropic")
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
DEFAULT_API_KEY_ENV = "INHOUSE_API_KEY"
DEFAULT_URLS = {"openai": "https://api.openai.com", "anthropic": "https://api.anthropic.com"}
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_BACKEND_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*\Z")


@dataclass(frozen=True)
class ServerConfig:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    api_key_env: str = DEFAULT_API_KEY_ENV


@dataclass(frozen=True)
class BackendConfig:
    name: str
    kind: str  # "local", "openai" or "anthropic"
    url: str | None = None  # base URL without /v1; None: a local server inhouse starts
    model: str | None = None  # the model name sent to the backend (None: the client's)
    gguf: str | None = None  # managed local only: a path or a built-in model name
    ctx: int | None = None
    cache_type_k: str | None = None
    cache_type_v: str | None = None
    api_key_env: str | None = None
    timeout_s: float = 600.0
    first_byte_timeout_s: float = 60.0
    max_failures: int = 3  # consecutive failures before the backend is cooled
    cooldown_s: float = 30.0

    @property
    def managed(self) -> bool:
        """A local server that inhouse starts and supervises."""
        return self.kind == "local" and self.url is None

    @property
    def is_local(self) -> bool:
        return self.kind == "local"

    @property
    def protocol(self) -> str:
        """The API the backend speaks: local servers speak OpenAI's."""
        return "anthropic" if self.kind == "anthropic" else "openai"

    def api_key(self) -> str | None:
        """The key from the environment variable the config names (None when none is named or set)."""
        return (os.environ.get(self.api_key_env) or None) if self.api_key_env else None


@dataclass(frozen=True)
class RouteConfig:
    match: str  # a glob on the requested model name
    chain: tuple[str, ...]  # backend names, tried in order

    def matches(self, model: str) -> bool:
        return fnmatchcase((model or "").lower(), self.match.lower())


@dataclass(frozen=True)
class GatewayConfig:
    server: ServerConfig = field(default_factory=ServerConfig)
    backends: tuple[BackendConfig, ...] = ()
    routes: tuple[RouteConfig, ...] = ()
    prices: dict[str, Price] = field(default_factory=dict)  # the config's layer over the shipped table
    policy: dict = field(default_factory=dict)
    path: Path | None = None

    def backend(self, name: str) -> BackendConfig:
        for b in self.backends:
            if b.name == name:
                return b
        raise ConfigError(f"no backend named {name!r}; configured: {', '.join(b.name for b in self.backends)}")

    def route_for(self, model: str) -> RouteConfig | None:
        """The first route whose glob matches ``model`` (case-insensitive), or None."""
        return next((r for r in self.routes if r.matches(model)), None)

    def price_table(self) -> PriceTable:
        return PriceTable.shipped().with_overrides(self.prices)


def default_config() -> GatewayConfig:
    """The embedded default model as the only backend, every model name routed to it."""
    local = BackendConfig(name="local", kind="local", gguf=DEFAULT_MODEL)
    return GatewayConfig(backends=(local,), routes=(RouteConfig("*", ("local",)),))


def backend_changes(old: GatewayConfig, new: GatewayConfig) -> tuple[list[str], list[str], list[str]]:
    """Backend names (added, removed, changed) from ``old`` to ``new``, in ``new``'s / ``old``'s order:
    what a reload must start, stop, or restart."""
    before = {b.name: b for b in old.backends}
    after = {b.name: b for b in new.backends}
    added = [n for n in after if n not in before]
    removed = [n for n in before if n not in after]
    changed = [n for n in after if n in before and after[n] != before[n]]
    return added, removed, changed


# --- where a key is written -------------------------------------------------------------------

_ARRAY_HEADER = re.compile(r"\s*\[\[(.+)\]\]\s*(?:#.*)?$")
_TABLE_HEADER = re.compile(r"\s*\[([^\[].*)\]\s*(?:#.*)?$")
_KEY_PART = r"(?:[A-Za-z0-9_-]+|\"(?:[^\"\\]|\\.)*\"|'[^']*')"
_KEY_LINE = re.compile(rf"\s*({_KEY_PART}(?:\s*\.\s*{_KEY_PART})*)\s*=")


def _dotted(key_text: str) -> tuple[str, ...] | None:
    """``prices."claude-*"`` -> ("prices", "claude-*"), by TOML's own rules."""
    try:
        d: Any = tomllib.loads(f"{key_text} = 0")
    except tomllib.TOMLDecodeError:
        return None
    path = []
    while isinstance(d, dict) and len(d) == 1:
        (k, d), = d.items()
        path.append(k)
    return tuple(path)


def _key_lines(text: str) -> dict[tuple, int]:
    """Key path -> the line (1-based) that writes it; array-of-table elements count from 0."""
    lines: dict[tuple, int] = {}
    counts: dict[tuple, int] = {}
    table: tuple = ()
    for no, line in enumerate(text.splitlines(), 1):
        m = _ARRAY_HEADER.match(line)
        if m and (name := _dotted(m[1])):
            index = counts.get(name, 0)
            counts[name] = index + 1
            table = name + (index,)
            lines.setdefault(name, no)
            lines.setdefault(table, no)
            continue
        m = _TABLE_HEADER.match(line)
        if m and (name := _dotted(m[1])):
            table = name
            lines.setdefault(table, no)
            continue
        m = _KEY_LINE.match(line)
        if m and (key := _dotted(m[1])):
            lines.setdefault(table + key, no)
    return lines


class _Bad(Exception):
    """A value's problem, without the where (the loader adds file, line and context)."""


class _Loader:
    def __init__(self, text: str, name: str) -> None:
        self.name = name
        self.lines = _key_lines(text)

    def error(self, keypath: tuple, context: str, problem: str) -> ConfigError:
        line = None
        for n in range(len(keypath), 0, -1):
            line = self.lines.get(keypath[:n])
            if line:
                break
        where = f"{self.name}:{line}" if line else self.name
        return ConfigError(f"{where}: {context + ': ' if context else ''}{problem}")

    def table(self, data: Any, keypath: tuple, context: str, known: dict[str, Callable]) -> dict:
        """Check a table's keys against ``known`` (key -> converter) and convert its values."""
        if not isinstance(data, dict):
            raise self.error(keypath, context, "must be a table")
        out = {}
        for key, value in data.items():
            if key == "api_key":
                raise self.error(keypath + (key,), context, "never write a key in the config: put it in an "
                                 "environment variable and name that variable in api_key_env")
            if key not in known:
                raise self.error(keypath + (key,), context,
                                 f"unknown key {key!r}; known keys: {', '.join(known)}")
            try:
                out[key] = known[key](value)
            except _Bad as exc:
                raise self.error(keypath + (key,), context, f"{key} {exc}") from None
        return out


def _string(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _Bad(f"must be a non-empty string, not {value!r}")
    return value


def _env_name(value: Any) -> str:
    if not isinstance(value, str) or not _ENV_NAME.match(value):
        raise _Bad(f"must be the name of an environment variable (like ANTHROPIC_API_KEY), not {value!r}")
    return value


def _int(low: int, high: int | None = None) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < low or (high and value > high):
            span = f"from {low} to {high}" if high else f">= {low}"
            raise _Bad(f"must be a whole number {span}, not {value!r}")
        return value
    return check


def _seconds(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < float("inf"):
        raise _Bad(f"must be a number of seconds above 0, not {value!r}")
    return float(value)


def _cache_type(value: Any) -> str:
    if value not in CACHE_TYPES:
        raise _Bad(f"must be one of {', '.join(CACHE_TYPES)}, not {value!r}")
    return value


def _kind(value: Any) -> str:
    if value not in KINDS:
        raise _Bad(f"must be one of {', '.join(repr(k) for k in KINDS)}, not {value!r}")
    return value


def _url(value: Any) -> str:
    if not isinstance(value, str):
        raise _Bad(f"must be a string such as \"http://127.0.0.1:11434\", not {value!r}")
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _Bad(f"must be an http:// or https:// address with a host, not {value!r}")
    try:
        parts.port  # noqa: B018 (raises on a port out of range)
    except ValueError:
        raise _Bad(f"has a bad port: {value!r}") from None
    base = value.strip().rstrip("/")
    return base[: -len("/v1")] if base.endswith("/v1") else base  # the client library adds /v1


def _name(value: Any) -> str:
    if not isinstance(value, str) or not _BACKEND_NAME.match(value):
        raise _Bad(f"must be letters, digits, '.', '_' or '-' (like \"local\" or \"cloud\"), not {value!r}")
    return value


def _chain(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise _Bad(f"must be a non-empty list of backend names, like [\"local\", \"cloud\"], not {value!r}")
    return tuple(value)


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < float("inf"):
        raise _Bad(f"must be a number >= 0 (USD per million tokens), not {value!r}")
    return float(value)


SERVER_KEYS = {"host": _string, "port": _int(0, 65535), "api_key_env": _env_name}
BACKEND_KEYS = {"name": _name, "kind": _kind, "url": _url, "model": _string, "gguf": _string, "ctx": _int(256),
                "cache_type_k": _cache_type, "cache_type_v": _cache_type, "api_key_env": _env_name,
                "timeout_s": _seconds, "first_byte_timeout_s": _seconds, "max_failures": _int(1),
                "cooldown_s": _seconds}
MANAGED_ONLY = ("gguf", "ctx", "cache_type_k", "cache_type_v")
ROUTE_KEYS = {"match": _string, "chain": _chain}
PRICE_KEYS = {"input_per_mtok": _number, "output_per_mtok": _number}
TOP_KEYS = ("server", "backend", "route", "prices", "policy")


def _syntax_error(exc: tomllib.TOMLDecodeError, name: str) -> ConfigError:
    msg = str(exc)
    m = re.search(r"\s*\(at line (\d+), column (\d+)\)$", msg)
    if m:
        return ConfigError(f"{name}:{m[1]}: invalid TOML at column {m[2]}: {msg[: m.start()]}; fix the syntax")
    return ConfigError(f"{name}: invalid TOML: {msg}; fix the syntax")


def parse_config(text: str, name: str = "config.toml", path: Path | None = None) -> GatewayConfig:
    """A GatewayConfig from TOML text; ``name`` is how errors call the file."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _syntax_error(exc, name) from None
    ld = _Loader(text, name)
    for key in data:
        if key not in TOP_KEYS:
            hint = " (write [[backend]], singular)" if key == "backends" else \
                   " (write [[route]], singular)" if key == "routes" else ""
            raise ld.error((key,), "", f"unknown table {key!r}{hint}; known: {', '.join(TOP_KEYS)}")

    server = ServerConfig(**ld.table(data.get("server", {}), ("server",), "[server]", SERVER_KEYS))

    raw_backends = data.get("backend", [])
    if not isinstance(raw_backends, list):
        raise ld.error(("backend",), "", "write each backend as [[backend]] (an array of tables), not [backend]")
    backends: list[BackendConfig] = []
    for i, raw in enumerate(raw_backends):
        label = raw.get("name") if isinstance(raw, dict) else None
        context = f"backend {label!r}".replace("'", '"') if isinstance(label, str) else f"backend #{i + 1}"
        values = ld.table(raw, ("backend", i), context, BACKEND_KEYS)
        backends.append(_backend(ld, values, ("backend", i), context, [b.name for b in backends]))

    raw_routes = data.get("route", [])
    if not isinstance(raw_routes, list):
        raise ld.error(("route",), "", "write each route as [[route]] (an array of tables), not [route]")
    if not backends:
        backends = list(default_config().backends)
    names = [b.name for b in backends]
    routes = []
    for i, raw in enumerate(raw_routes):
        context = f"route #{i + 1}"
        values = ld.table(raw, ("route", i), context, ROUTE_KEYS)
        for key in ROUTE_KEYS:
            if key not in values:
                raise ld.error(("route", i), context, f"{key} is missing")
        for b in values["chain"]:
            if b not in names:
                raise ld.error(("route", i, "chain"), context,
                               f"chain names backend {b!r}, which is not configured; backends: {', '.join(names)}")
        if len(set(values["chain"])) != len(values["chain"]):
            raise ld.error(("route", i, "chain"), context, "chain names a backend twice")
        routes.append(RouteConfig(values["match"], values["chain"]))
    if not routes:
        routes = [RouteConfig("*", tuple(names))]

    prices = {}
    raw_prices = data.get("prices", {})
    if not isinstance(raw_prices, dict):
        raise ld.error(("prices",), "", "must be a table of model globs: [prices.\"claude-*\"]")
    for glob, raw in raw_prices.items():
        context = f"prices {glob!r}".replace("'", '"')
        values = ld.table(raw, ("prices", glob), context, PRICE_KEYS)
        for key in PRICE_KEYS:
            if key not in values:
                raise ld.error(("prices", glob), context, f"{key} is missing")
        prices[glob] = Price(values["input_per_mtok"], values["output_per_mtok"], "config")

    policy = data.get("policy", {})
    if not isinstance(policy, dict):
        raise ld.error(("policy",), "", "[policy] must be a table")
    from .policy import parse_policy

    parse_policy(policy, backends, ld.error)  # checked here for the line; the gateway parses it again
    return GatewayConfig(server, tuple(backends), tuple(routes), prices, policy, path)


def _backend(ld: _Loader, v: dict, keypath: tuple, context: str, taken: list[str]) -> BackendConfig:
    for key in ("name", "kind"):
        if key not in v:
            raise ld.error(keypath, context, f"{key} is missing")
    if v["name"] in taken:
        raise ld.error(keypath + ("name",), context, "another backend has this name; names must differ")
    kind = v["kind"]
    if kind != "local" or "url" in v:
        extra = [k for k in MANAGED_ONLY if k in v]
        if extra:
            why = "a backend at a url" if "url" in v else f"an {kind} backend"
            raise ld.error(keypath + (extra[0],), context, f"{extra[0]} applies only to a local backend that "
                           f"inhouse starts (kind \"local\" without url), not to {why}")
    if kind == "local" and "url" not in v:
        if "api_key_env" in v:
            raise ld.error(keypath + ("api_key_env",), context,
                           "a local backend that inhouse starts needs no key; remove api_key_env")
        v.setdefault("gguf", DEFAULT_MODEL)
    if kind in DEFAULT_URLS:
        v.setdefault("url", DEFAULT_URLS[kind])
    b = BackendConfig(**v)
    if b.first_byte_timeout_s > b.timeout_s:
        raise ld.error(keypath + ("first_byte_timeout_s",), context,
                       f"first_byte_timeout_s ({b.first_byte_timeout_s:g}) is longer than timeout_s ({b.timeout_s:g})")
    return b


def load_config(path: str | Path) -> GatewayConfig:
    """Read and check a config file; every problem is a one-line ConfigError naming file and line."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file; check the path given to --config") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config file ({exc.strerror})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start}); save the config as UTF-8") from None
    return parse_config(text, str(path), path.resolve())


class ConfigWatcher:
    """Polls a config file and reloads it when it changes (mtime, size or inode).

    A file that fails to load keeps ``config`` at the last good one and sets ``error`` to the
    one-line message; the next good version clears it. ``on_change(config)`` (sync or async) is
    called after each good reload.
    """

    def __init__(self, path: str | Path, on_change: Callable[[GatewayConfig], Any] | None = None, *,
                 interval_s: float = 1.0, config: GatewayConfig | None = None) -> None:
        self.path = Path(path)
        self.on_change = on_change
        self.interval_s = interval_s
        self.error: str | None = None
        self.reloads = 0
        self.checked_at: float | None = None
        self._stamp = self._stat()
        self.config = config if config is not None else load_config(self.path)
        self._task: asyncio.Task | None = None

    def _stat(self) -> tuple | None:
        try:
            st = self.path.stat()
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    async def check(self) -> bool:
        """Reload if the file changed; True when a new good config was taken."""
        self.checked_at = time.time()
        stamp = self._stat()
        if stamp == self._stamp:
            return False
        self._stamp = stamp
        try:
            config = load_config(self.path)
        except ConfigError as exc:
            self.error = str(exc)
            return False
        self.config, self.error = config, None
        self.reloads += 1
        if self.on_change is not None:
            try:
                result = self.on_change(config)
                if inspect.isawaitable(result):
                    await result
            except Exception as exc:  # the watcher outlives a failed apply; the error is shown on /health
                self.error = f"{self.path}: reloaded, but applying it failed: {exc}"
        return True

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            await self.check()

    def start(self) -> asyncio.Task:
        """Start polling on the running event loop."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="inhouse-config-watcher")
        return self._task

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
