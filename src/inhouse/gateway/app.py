"""The gateway's ASGI app (Starlette): OpenAI and Anthropic endpoints in front of the configured
backends, with fallback before the first byte, translation, tool-call repair and a ledger row per
request. ``Gateway(config)`` holds the state; ``Gateway.app`` is what uvicorn serves.

Order of one chat request: read and check the body (size, content type, JSON depth, fields) ->
``router.decide`` -> for each backend of the route: build its body (same protocol: the client's
body with the model name replaced; otherwise translated) and ``Upstream.open`` it; a failure
before the first byte moves on to the next backend -> relay the reply (translated, repaired) ->
write the ledger row, whatever happened.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hmac
import html
import json
import time
import os
import sys
from collections import deque
from datetime import datetime, timezone
from typing import Any, AsyncIterator

from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route as HttpRoute

from . import translate
from .ledger_writer import LedgerWriter
from .relay import StreamRelay, Usage, convert_response
from .router import NoRoute, ParsedRequest, StickySessions, decide, session_key
from .upstream import Opened, Upstream, UpstreamFailure, auth_headers, endpoint

MAX_BODY_BYTES = 16 * 1024 * 1024
MAX_JSON_DEPTH = 64
INLINE_SCAN_BYTES = 2048  # smaller bodies are scanned on the event loop (well under a millisecond)
LOOPBACK = {"127.0.0.1", "::1", "localhost"}


class BadRequest(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def json_depth(value: Any, limit: int) -> int:
    """Nesting depth of a parsed JSON value, stopping early once past ``limit`` (iterative)."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > deepest:
            deepest = depth
            if deepest > limit:
                return deepest
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values() if isinstance(v, (dict, list)))
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item if isinstance(v, (dict, list)))
    return deepest


def backend_protocol(kind: str) -> str:
    return "anthropic" if kind == "anthropic" else "openai"


class Gateway:
    """State of one running gateway: config, backend states and URLs, sessions, ledger."""

    def __init__(self, config: Any, *, api_key: str | None = None, ledger: Any = None,
                 backend_urls: dict[str, str] | None = None, max_body_bytes: int = MAX_BODY_BYTES,
                 local_models: dict[str, str] | None = None, local_paths: dict[str, str] | None = None,
                 watcher: Any = None, local_servers: dict[str, Any] | None = None,
                 probe_interval_s: float = 10.0, store: Any = None,
                 scanner_factory: Any = None) -> None:
        from .backends import BackendState

        self.config = config
        self.api_key = api_key
        self.ledger = ledger
        self.writer = LedgerWriter(ledger, convert=to_ledger_row) if ledger is not None else None
        self.max_body_bytes = max_body_bytes
        self.probe_interval_s = probe_interval_s
        self.urls: dict[str, str] = dict(backend_urls or {})
        self.local_models: dict[str, str] = dict(local_models or {})  # managed backend -> its model alias
        self.local_paths: dict[str, str] = dict(local_paths or {})  # managed backend -> its GGUF (tokenizer)
        self.watcher = watcher
        self.local_servers: dict[str, Any] = dict(local_servers or {})
        self.states = {b.name: BackendState.from_config(b) for b in config.backends}
        self.store = store  # eval figures for capability rules are read from it at start and on reload
        self.scanner_factory = scanner_factory
        self.local_ctx: dict[str, int] = {name: int(s.plan.n_ctx) for name, s in (local_servers or {}).items()
                                          if getattr(getattr(s, "plan", None), "n_ctx", None)}
        self._apply_policy(config)
        self.down_reason: dict[str, str] = {}  # why a backend last failed (probes only clear unreachable ones)
        self.start_failures: dict[str, tuple[str, int, float]] = {}  # managed backend -> (error, tries, next try)
        self._servers_lock = asyncio.Lock()  # reloads and start retries: one at a time
        self.sticky = StickySessions()
        self.upstream = Upstream()
        self.recent: deque[dict[str, Any]] = deque(maxlen=20)
        self._prices: tuple[Any, Any] = (None, None)  # (config, its PriceTable)
        self.ledger_errors = 0
        self.started = time.time()
        self._tasks: list[asyncio.Task] = []
        self._pending: set[asyncio.Task] = set()  # rows being finished in the background (token counts)
        self.starlette = Starlette(routes=[
            HttpRoute("/v1/chat/completions", self.openai_chat, methods=["POST"]),
            HttpRoute("/v1/messages", self.anthropic_messages, methods=["POST"]),
            HttpRoute("/v1/messages/count_tokens", self.count_tokens, methods=["POST"]),
            HttpRoute("/v1/models", self.models, methods=["GET"]),
            HttpRoute("/health", self.health, methods=["GET"]),
            HttpRoute("/", self.status_page, methods=["GET"]),
        ], lifespan=self._lifespan)
        self.app = self.asgi

    async def asgi(self, scope: dict, receive: Any, send: Any) -> None:
        """What uvicorn serves. The two chat endpoints are handled here, in plain ASGI: they are
        the hot path, and Starlette's routing, middleware and StreamingResponse (a task group per
        response to watch for a disconnect) cost more per request than the rest of the gateway.
        Everything else goes to the Starlette app."""
        protocol = _CHAT_PATHS.get(scope.get("path")) if scope["type"] == "http" else None
        if protocol is None or scope["method"] != "POST":
            await self.starlette(scope, receive, send)
            return
        try:
            response = await self._chat(_Incoming(scope, receive), protocol)
        except Exception as exc:  # noqa: BLE001 - a bug: one line in the client's protocol, the gateway stays up
            message = f"internal error in the gateway: {type(exc).__name__}: {exc}"[:500]
            response = self._error(protocol, 500, message)
        await response(scope, receive, send)  # a failure mid-stream ends in an error event (Gateway._stream)

    # ---- config and backends -------------------------------------------------------------
    def backend(self, name: str) -> Any:
        for b in self.config.backends:
            if b.name == name:
                return b
        raise KeyError(name)

    def set_config(self, config: Any) -> None:
        """Swap in a reloaded config: a backend keeps its state while its name and settings stay;
        a new or changed one starts afresh."""
        from .backends import BackendState

        self._apply_policy(config)  # a bad policy raises before anything is swapped
        before = {b.name: b for b in self.config.backends}
        self.config = config
        self.states = {b.name: self.states[b.name] if before.get(b.name) == b and b.name in self.states
                       else BackendState.from_config(b) for b in config.backends}

    async def apply_config(self, config: Any) -> None:
        """Take a reloaded config, starting and stopping managed local servers to match it.

        Servers of removed or changed backends are stopped first (freeing their memory), then the
        added or changed managed backends get theirs (each sized by ``inhouse fit``). A server that
        cannot start leaves its backend down (skipped by routing, the error on ``/health``) and
        raises ConfigError once the rest of the config is in place."""
        async with self._servers_lock:
            await self._apply_config(config)

    async def _apply_config(self, config: Any) -> None:
        from ..errors import ConfigError
        from .backends import local_server_for
        from .config import backend_changes

        added, removed, changed = backend_changes(self.config, config)
        wanted = {b.name: b for b in config.backends}
        for name in removed + changed:
            server = self.local_servers.pop(name, None)
            for held in (self.urls, self.local_models, self.local_paths):
                held.pop(name, None)
            if server is not None:
                await asyncio.to_thread(server.stop)
        failed: dict[str, str] = {}
        for name in added + changed:
            backend = wanted[name]
            if not backend.managed:
                continue
            try:
                server = await asyncio.to_thread(lambda b=backend: local_server_for(b).start())
            except Exception as exc:  # noqa: BLE001 - reported below, once the config is in place
                failed[name] = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                continue
            self._register(name, server)
        await self._warm_file_hashes()
        self.set_config(config)
        self.start_failures = {n: f for n, f in self.start_failures.items() if n in wanted and n not in self.local_servers}
        for name, error in failed.items():
            self.states[name].record_failure(error, now=time.monotonic())
            self.down_reason[name] = "start-failed"
            self.start_failures[name] = (error, 1, time.monotonic() + self.probe_interval_s)
        if failed:
            raise ConfigError("; ".join(f'backend "{n}": local server did not start: {e}' for n, e in failed.items()))

    def _register(self, name: str, server: Any) -> None:
        """A started local server serves backend ``name``: its URL, model alias and GGUF."""
        self.local_servers[name] = server
        self.urls[name] = server.endpoint
        self.local_models[name] = server.alias
        self.local_paths[name] = str(server.plan.path)

    async def _warm_file_hashes(self, paths: list[str] | None = None) -> None:
        """Hash the managed backends' GGUFs (or ``paths``) in a thread (a first hash of a multi-GB
        file takes seconds), so ``_apply_policy`` on the event loop finds them in the store's cache."""
        paths = list(self.local_paths.values()) if paths is None else paths
        if self.store is None or not paths or not getattr(self.store, "path", None):
            return

        def warm(paths: list[str], db: Any) -> None:
            from ..models.file_hash import file_sha256
            from ..store import Store

            store = Store.open(db)  # its own connection: sqlite connections stay in their thread
            try:
                for path in paths:
                    try:
                        file_sha256(path, store)
                    except Exception:  # noqa: BLE001 - _apply_policy says what it could not hash
                        pass
            finally:
                store.close()

        await asyncio.to_thread(warm, paths, self.store.path)

    async def _retry_failed_starts(self) -> None:
        """Managed backends whose server did not start are tried again, after the probe interval,
        then twice as long each time (at most 5 minutes); one that starts serves from then on."""
        from .backends import local_server_for

        now = time.monotonic()
        for name, (error, tries, next_at) in list(self.start_failures.items()):
            if now < next_at:
                continue
            async with self._servers_lock:  # not while a reload starts or stops servers
                await self._retry_start(name, tries)

    async def _retry_start(self, name: str, tries: int) -> None:
        from .backends import local_server_for

        backend = next((b for b in self.config.backends if b.name == name), None)
        if backend is None or name in self.local_servers or name not in self.start_failures:
            self.start_failures.pop(name, None)
            return
        try:
            server = await asyncio.to_thread(lambda b=backend: local_server_for(b).start())
        except Exception as exc:  # noqa: BLE001 - still down; /health says why
            error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            if name in self.states:
                self.states[name].record_failure(error, now=time.monotonic())
            wait = min(300.0, self.probe_interval_s * 2 ** tries)
            self.start_failures[name] = (error, tries + 1, time.monotonic() + wait)
            return
        if next((b for b in self.config.backends if b.name == name), None) is not backend:
            await asyncio.to_thread(server.stop)  # the backend changed meanwhile: not this server
            return
        await self._warm_file_hashes([str(server.plan.path)])
        # from here to the end nothing awaits: /health never sees the server half registered
        self._register(name, server)
        self.start_failures.pop(name, None)
        self.down_reason.pop(name, None)
        self.states[name].record_success(time.monotonic())
        self._apply_policy(self.config)  # its eval figures, now that its file is known
        if not self.start_failures and self.watcher is not None \
                and "local server did not start" in str(getattr(self.watcher, "error", "") or ""):
            self.watcher.error = None  # that was the config's only problem

    def _apply_policy(self, config: Any) -> None:
        """Parse the config's ``[policy]``, make its scanner and read the eval figures its rules use."""
        from .policy import load_eval_figures, parse_policy
        from .scanning import make_scanner

        policy = parse_policy(getattr(config, "policy", None) or {}, config.backends)
        scanner = make_scanner(policy, self.scanner_factory) if policy.privacy_enabled else None
        figures = {}
        if policy.rules:
            identities = {b.name: self._identities(b) for b in config.backends}
            if self.store is not None:
                figures = load_eval_figures(self.store, policy, identities, files=self.local_paths)
        self.policy, self.scanner, self.figures = policy, scanner, figures

    def _identities(self, b: Any) -> list[str]:
        """The model names ``inhouse eval`` may have stored this backend's runs under."""
        from pathlib import Path

        names: list[str] = []
        if getattr(b, "managed", False):
            for n in (self.local_models.get(b.name), getattr(b, "gguf", None), self.local_paths.get(b.name)):
                if n:
                    names += [n, Path(n).stem, Path(n).name]
        elif getattr(b, "model", None):
            url = self.url_of(b) or ""
            names += [b.model, f"{b.model} @ {url}", f"{b.model} @ {url.rstrip('/')}/v1"]
        return list(dict.fromkeys(names))

    async def _policy_input(self, parsed: ParsedRequest, headers: Any, raw_len: int) -> Any:
        """Everything the policy decides on: the privacy scan (in a thread, with a timeout; a
        failure or timeout counts as private), each local backend's context and prompt count."""
        from .policy import BackendFacts, classify
        from .router import PolicyInput
        from .scanning import scan_request

        scan = None
        if self.scanner is not None:
            # the scanner keeps its own deadline; this one also covers a scan stuck inside one regex
            scan = await scan_request(self.scanner, parsed.protocol, parsed.body, self.policy.scan_timeout_s + 0.5,
                                      inline=raw_len <= INLINE_SCAN_BYTES)
        facts = {}
        counted: int | None = None
        for b in self.config.backends:
            ctx = self.policy.contexts.get(b.name) or self.local_ctx.get(b.name)
            tokens = None
            # a token covers at least a byte of the body's text, so a body under half the context fits
            needs_count = b.name in self.local_paths and (
                (ctx and raw_len > ctx // 2) or any(r.when.min_prompt_tokens is not None
                                                    or r.when.max_prompt_tokens is not None
                                                    for r in self.policy.rules))
            if needs_count:
                tokens = await self._count_prompt(parsed, b)
                counted = tokens if counted is None else counted
            facts[b.name] = BackendFacts(b.name, b.kind == "local", ctx, tokens)
        # the client's choice: the header, or a model name that names a backend (unless a route names it)
        explicit = headers.get("x-inhouse-backend") or (
            parsed.model if any(b.name == parsed.model for b in self.config.backends)
            and not any(r.match == parsed.model for r in self.config.routes) else None)
        return PolicyInput(self.policy, facts, classify(parsed.protocol, parsed.body, counted), scan, explicit,
                           self.figures)

    async def _count_prompt(self, parsed: ParsedRequest, backend: Any) -> int | None:
        from .tokens import counter_for

        try:
            body = self._backend_body(parsed, backend, "openai")
            counter = await asyncio.to_thread(counter_for, self.local_paths[backend.name])
            return await asyncio.to_thread(counter.count_prompt, body.get("messages") or [], body.get("tools"))
        except Exception:  # noqa: BLE001 - no count: the context rule cannot fire, the server will say
            return None

    def url_of(self, backend: Any) -> str | None:
        return getattr(backend, "url", None) or self.urls.get(backend.name)

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        self._tasks.append(asyncio.create_task(self._probe_loop()))
        if self.watcher is not None:
            self.watcher.on_change = self.apply_config
            self.watcher.start()
        try:
            yield
        finally:
            if self.watcher is not None:
                await self.watcher.stop()
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, *self._pending, return_exceptions=True)
            await self.upstream.aclose()
            if self.writer is not None:
                await asyncio.to_thread(self.writer.close)  # every queued ledger row is written

    async def _probe_loop(self) -> None:
        """Background health probes: a backend that is down is probed until it answers again."""
        while True:
            await asyncio.sleep(self.probe_interval_s)
            try:
                await self._retry_failed_starts()
            except Exception as exc:  # noqa: BLE001 - the probes must go on; /health keeps the error
                self.start_failures = {n: (f"retry failed: {type(exc).__name__}: {exc}"[:300], t, time.monotonic()
                                           + self.probe_interval_s) for n, (_, t, _) in self.start_failures.items()}
            for name, server in list(self.local_servers.items()):
                try:
                    await server.asupervise()  # restarts a local server that died on its own
                except Exception as exc:  # noqa: BLE001 - it stays down; /health says why
                    self.states[name].record_failure(str(exc), now=time.monotonic())
            for b in list(self.config.backends):
                state = self.states.get(b.name)
                url = self.url_of(b)
                if state is None or url is None or state.available(time.monotonic()) \
                        or self.down_reason.get(b.name) not in ("refused", "offline", "timeout"):
                    continue  # a rate-limited or erroring backend waits out its cooldown / Retry-After
                base = url.rstrip("/")
                base = base if base.endswith("/v1") else base + "/v1"
                try:
                    r = await self.upstream.get(b.name, base + "/models",
                                                auth_headers(b.kind, getattr(b, "api_key_env", None)))
                    if r.status_code < 500 and r.status_code != 429:
                        state.record_success(time.monotonic())
                except Exception:  # noqa: BLE001 - a probe that fails changes nothing
                    pass

    # ---- auth and input -------------------------------------------------------------------
    def _authorized(self, request: Request) -> bool:
        if not self.api_key:
            return True
        given = request.headers.get("x-api-key") or ""
        auth = request.headers.get("authorization") or ""
        if auth.lower().startswith("bearer "):
            given = given or auth[7:].strip()
        return hmac.compare_digest(given.encode(), self.api_key.encode())

    async def _read_json(self, request: Request) -> dict[str, Any]:
        ctype = request.headers.get("content-type", "")
        if ctype.split(";")[0].strip().lower() != "application/json":
            raise BadRequest(415, f"content type must be application/json, not {ctype or 'none'!r}")
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self.max_body_bytes:
            raise BadRequest(413, f"request body of {int(declared)} bytes is over the "
                                  f"{self.max_body_bytes} byte limit")
        parts, size = [], 0
        try:
            async for chunk in request.stream():
                size += len(chunk)
                if size > self.max_body_bytes:
                    raise BadRequest(413, f"request body is over the {self.max_body_bytes} byte limit")
                parts.append(chunk)
        except (ClientGone, ClientDisconnect):
            raise BadRequest(400, "the client closed the connection while sending the request") from None
        raw = b"".join(parts)
        request.body_bytes = len(raw)
        try:
            body = json.loads(raw)
        except RecursionError:
            raise BadRequest(400, f"JSON nested deeper than {MAX_JSON_DEPTH} levels") from None
        except ValueError as exc:
            raise BadRequest(400, f"malformed JSON: {exc}") from None
        if not isinstance(body, dict):
            raise BadRequest(400, "the request body must be a JSON object")
        if json_depth(body, MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
            raise BadRequest(400, f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
        return body

    @staticmethod
    def _check_fields(protocol: str, body: dict[str, Any]) -> None:
        if not isinstance(body.get("model"), str) or not body["model"]:
            raise BadRequest(400, "missing field: model (a string)")
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise BadRequest(400, "missing field: messages (a non-empty list)")
        if not all(isinstance(m, dict) and isinstance(m.get("role"), str) for m in messages):
            raise BadRequest(400, "every message must be an object with a role")
        if protocol == "anthropic" and (not isinstance(body.get("max_tokens"), int)
                                        or isinstance(body.get("max_tokens"), bool) or body["max_tokens"] < 1):
            raise BadRequest(400, "missing field: max_tokens (a whole number >= 1)")
        for key in ("tools", "stop_sequences"):
            if key in body and body[key] is not None and not isinstance(body[key], list):
                raise BadRequest(400, f"{key} must be a list")

    def _error(self, protocol: str, status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
        return JSONResponse(translate.error_body(protocol, status, message), status_code=status, headers=headers)

    # ---- endpoints ------------------------------------------------------------------------
    async def openai_chat(self, request: Request) -> Response:
        return await self._chat(request, "openai")

    async def anthropic_messages(self, request: Request) -> Response:
        return await self._chat(request, "anthropic")

    async def _chat(self, request: Request, protocol: str) -> Response:
        t0 = time.perf_counter()
        row: dict[str, Any] = {"id": os.urandom(16).hex(), "created_at": datetime.now(timezone.utc).isoformat(),
                               "client_protocol": protocol, "fallbacks": [], "tool_repairs": 0}
        if not self._authorized(request):
            return self._finish_error(row, t0, protocol, 401, "missing or wrong API key (x-api-key or "
                                                              "Authorization: Bearer)")
        try:
            body = await self._read_json(request)
            row["requested_model"] = body.get("model") if isinstance(body.get("model"), str) else None
            self._check_fields(protocol, body)
        except BadRequest as exc:
            return self._finish_error(row, t0, protocol, exc.status, str(exc))
        parsed = ParsedRequest(protocol, body["model"], body, session_key(protocol, body, request.headers),
                               bool(body.get("stream")))
        row["session"] = parsed.session
        policy_input = await self._policy_input(parsed, request.headers, getattr(request, "body_bytes", 0))
        now = time.monotonic()
        try:
            route = decide(parsed, self.config.routes,
                           available={n: s.available(now) for n, s in self.states.items()},
                           sticky=self.sticky.get(parsed.session), policy=policy_input)
        except NoRoute as exc:
            return self._finish_error(row, t0, protocol, 404, str(exc))
        row["route"], row["reasons"] = route.name, list(route.reasons)
        if route.refusal:
            return self._finish_error(row, t0, protocol, route.status or 503, route.refusal)
        restorer = None

        last: UpstreamFailure | None = None
        for name in route.chain:
            try:
                backend = self.backend(name)
            except KeyError:
                row["fallbacks"].append({"backend": name, "reason": "not in the config"})
                continue
            url = self.url_of(backend)
            if url is None:
                row["fallbacks"].append({"backend": name, "reason": "local server not started"})
                continue
            bproto = backend_protocol(backend.kind)
            sent = parsed
            if route.private and backend.kind != "local":
                if not route.redact:  # never reached (the policy leaves only local backends): belt and braces
                    row["fallbacks"].append({"backend": name, "reason": "private request; not sent to the cloud"})
                    continue
                from .scanning import redact

                try:
                    redacted, restorer = redact(self.scanner, parsed.protocol, parsed.body, policy_input.scan)
                except Exception as exc:  # noqa: BLE001 - fail closed: no redaction, no cloud
                    row["fallbacks"].append({"backend": name, "reason": f"redaction failed ({type(exc).__name__}); "
                                                                        "not sent to the cloud"})
                    continue
                sent = dataclasses.replace(parsed, body=redacted)
            try:
                upstream_body = self._backend_body(sent, backend, bproto)
            except Exception as exc:  # noqa: BLE001 - a request translation cannot express
                return self._finish_error(row, t0, protocol, 400, f"cannot translate the request: {exc}")
            try:
                opened = await self.upstream.open(
                    name, endpoint(url, bproto), upstream_body,
                    auth_headers(backend.kind, getattr(backend, "api_key_env", None), dict(request.headers)),
                    timeout_s=float(getattr(backend, "timeout_s", None) or 600),
                    first_byte_timeout_s=float(getattr(backend, "first_byte_timeout_s", None) or 60))
            except UpstreamFailure as exc:
                last = exc
                self.down_reason[name] = exc.reason
                self.states[name].record_failure(str(exc), retry_after_s=exc.retry_after, now=time.monotonic())
                row["fallbacks"].append({"backend": name, "reason": exc.reason, "status": exc.status,
                                         "retry_after": exc.retry_after, "error": str(exc)})
                continue
            row["backend"], row["backend_model"] = name, upstream_body.get("model")
            row["_messages"], row["_tools"] = upstream_body.get("messages"), upstream_body.get("tools")
            row["kind"] = "local" if backend.kind == "local" else "cloud"
            try:
                return await self._relay(request, row, t0, parsed, backend, bproto, opened,
                                         restorer if backend.kind != "local" else None)
            except Exception as exc:  # noqa: BLE001 - a bug on the way to the client: no leak, one row
                await opened.aclose()
                return self._finish_error(row, t0, protocol, 502, f"the gateway could not relay backend "
                                          f"{name}'s answer: {type(exc).__name__}: {exc}"[:500])
        if route.private and not route.redact:
            tried = "; ".join(f"{f['backend']}: {f.get('error') or f['reason']}" for f in row["fallbacks"]) or "none"
            return self._finish_error(row, t0, protocol, 503, f"the request is private and no local backend could "
                                      f"serve it ({tried}); it was not sent to the cloud")
        status = 429 if last is not None and last.status == 429 and all(
            f.get("status") == 429 for f in row["fallbacks"]) else 503
        headers = None
        if status == 429 and last is not None and last.retry_after is not None:
            headers = {"retry-after": str(int(last.retry_after + 0.999))}
        tried = "; ".join(f"{f['backend']}: {f.get('error') or f['reason']}" for f in row["fallbacks"]) or "none"
        return self._finish_error(row, t0, protocol, status, f"no backend could serve the request ({tried})",
                                  headers)

    def _backend_body(self, parsed: ParsedRequest, backend: Any, bproto: str) -> dict[str, Any]:
        model = getattr(backend, "model", None) or self.local_models.get(backend.name) or parsed.model
        if bproto == parsed.protocol:
            body = dict(parsed.body)
        elif parsed.protocol == "anthropic":
            body = translate.anthropic_to_openai_request(parsed.body)
        else:
            body = translate.openai_to_anthropic_request(parsed.body)
        body["model"] = model
        if backend.kind == "local":
            body["messages"] = [_plain_content(m) for m in body.get("messages") or []]
        return body

    async def _relay(self, request: Request, row: dict[str, Any], t0: float, parsed: ParsedRequest,
                     backend: Any, bproto: str, opened: Opened, restorer: Any = None) -> Response:
        name = backend.name
        client = parsed.protocol
        repair = backend.kind == "local"
        tools = translate_tools(parsed)
        if opened.status >= 400:  # a 4xx other than 429: the request's own fault, passed back
            raw = await _read_rest(opened)
            self.states[name].record_success(time.monotonic())
            message = _error_message(raw) or f"backend {name} answered HTTP {opened.status}"
            return self._finish_error(row, t0, client, opened.status, f"backend {name}: {message}")
        self.states[name].record_success(time.monotonic())
        self.sticky.set(parsed.session, name)
        is_stream = "text/event-stream" in opened.headers.get("content-type", "")
        if not is_stream:
            try:
                raw = await opened.read_all()
            except Exception as exc:  # noqa: BLE001
                await opened.aclose()
                self.states[name].record_failure(str(exc), now=time.monotonic())
                return self._finish_error(row, t0, client, 502, f"backend {name} failed while answering: {exc}")
            await opened.aclose()
            try:
                data = json.loads(raw)
                out, usage, repairs = convert_response(data, client=client, backend=bproto,
                                                       model=row["backend_model"], tools=tools, repair=repair)
            except Exception as exc:  # noqa: BLE001
                return self._finish_error(row, t0, client, 502, f"backend {name} sent a reply that is not "
                                                               f"{bproto} JSON: {exc}")
            row["tool_repairs"] = repairs
            row["ttft_s"] = time.perf_counter() - t0
            if restorer is not None:
                from .scanning import restore_json

                out = restore_json(out, restorer)
            self._finish(row, t0, "fallback-ok" if row["fallbacks"] else "ok", 200, usage)
            return JSONResponse(out)
        relay = StreamRelay(client, bproto, row["backend_model"], tools, repair,
                            keep_text=backend.name in self.local_paths)
        stream = self._stream(row, t0, relay, opened, backend)
        if restorer is not None:
            from .scanning import restore_stream

            stream = restore_stream(stream, client, restorer)
        return EventStream(stream)

    async def _stream(self, row: dict[str, Any], t0: float, relay: StreamRelay, opened: Opened,
                      backend: Any) -> AsyncIterator[bytes]:
        status, error = "fallback-ok" if row["fallbacks"] else "ok", None
        try:
            next_piece = opened.next_piece
            try:
                chunk = opened.first
                while chunk:
                    out = relay.feed(chunk)
                    if out:
                        if "ttft_s" not in row:
                            row["ttft_s"] = time.perf_counter() - t0
                        yield out
                    chunk = await next_piece()
            except Exception as exc:  # noqa: BLE001 - the backend failed (or sent what is not SSE) mid-stream
                error = f"backend {backend.name} failed mid-stream: {type(exc).__name__}: {exc}".rstrip(": ")
            if error is None and not relay.complete:
                error = f"backend {backend.name} ended the stream before its end marker"
            if error is None:
                tail = relay.finish()
                if tail:
                    yield tail
            else:
                status = "error"
                self.states[backend.name].record_failure(error, now=time.monotonic())
                yield translate.stream_error_event(relay.client, error)
        except (asyncio.CancelledError, GeneratorExit):
            if not relay.complete:  # a client that leaves once the end marker reached it was served
                status, error = "client-closed", "the client closed the connection"
            raise
        finally:
            try:
                await opened.aclose()
            finally:  # whatever happened above, the request has its row
                row["tool_repairs"] = relay.repaired
                row["error"] = error
                if status != "client-closed" and relay.usage.completion_tokens is None \
                        and backend.name in self.local_paths:
                    # counted with the local tokenizer after the response has ended (the client
                    # does not wait for it, and may hang up meanwhile); then the row is written
                    self._background(self._count_then_finish(row, t0, status, backend.name,
                                                             "".join(relay.streamed_text)))
                else:
                    self._finish(row, t0, status, 200, relay.usage)

    async def _count_then_finish(self, row: dict[str, Any], t0: float, status: str, name: str, text: str) -> None:
        duration = time.perf_counter() - t0
        usage = await self._count_locally(name, row.get("_messages"), text, row.get("_tools"))
        self._finish(row, t0, status, 200, usage, duration_s=duration)

    def _background(self, coro: Any) -> None:
        """Run ``coro`` beside the requests; the gateway waits for it at shutdown (ledger rows)."""
        task = asyncio.ensure_future(coro)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _count_locally(self, name: str, messages: Any, text: str, tools: Any) -> Usage:
        """Counts with the local model's own tokenizer when its server sent no usage."""
        from .tokens import count_usage

        try:
            counts = await asyncio.to_thread(count_usage, self.local_paths[name], messages, text, tools=tools)
        except Exception:  # noqa: BLE001 - no count rather than a wrong one
            return Usage()
        return Usage(counts.prompt_tokens, counts.completion_tokens, counts.reasoning_tokens,
                     counted_by=counts.tokens_counted or "backend")

    async def count_tokens(self, request: Request) -> Response:
        """Anthropic ``count_tokens``: forwarded to an Anthropic backend; otherwise the exact prompt
        token count an OpenAI-protocol backend reports for the translated request (max_tokens 1)."""
        if not self._authorized(request):
            return self._error("anthropic", 401, "missing or wrong API key")
        try:
            body = await self._read_json(request)
            self._check_fields("anthropic", {"max_tokens": 1, **body})
        except BadRequest as exc:
            return self._error("anthropic", exc.status, str(exc))
        parsed = ParsedRequest("anthropic", body["model"], body, session_key("anthropic", body, request.headers))
        now = time.monotonic()
        try:
            route = decide(parsed, self.config.routes,
                           available={n: s.available(now) for n, s in self.states.items()},
                           sticky=self.sticky.get(parsed.session))
        except NoRoute as exc:
            return self._error("anthropic", 404, str(exc))
        errors = []
        for name in route.chain:
            backend = self.backend(name)
            url = self.url_of(backend)
            if url is None:
                continue
            bproto = backend_protocol(backend.kind)
            model = getattr(backend, "model", None) or self.local_models.get(name) or parsed.model
            if bproto == "anthropic":
                target, payload = endpoint(url, bproto, "/count_tokens"), {**body, "model": model}
            else:
                payload = translate.anthropic_to_openai_request({**body, "max_tokens": 1})
                payload.update(model=model, max_tokens=1, stream=False)
                payload.pop("stream_options", None)
                target = endpoint(url, bproto)
            try:
                opened = await self.upstream.open(
                    name, target, payload,
                    auth_headers(backend.kind, getattr(backend, "api_key_env", None), dict(request.headers)),
                    timeout_s=float(getattr(backend, "timeout_s", None) or 600),
                    first_byte_timeout_s=float(getattr(backend, "first_byte_timeout_s", None) or 60))
                raw = await opened.read_all()
                await opened.aclose()
            except (UpstreamFailure, Exception) as exc:  # noqa: BLE001
                errors.append(f"{name}: {exc}")
                continue
            if opened.status >= 400:
                return self._error("anthropic", opened.status, f"backend {name}: {_error_message(raw)}")
            try:
                data = json.loads(raw)
                n = data["input_tokens"] if bproto == "anthropic" else data["usage"]["prompt_tokens"]
            except (ValueError, KeyError, TypeError):
                errors.append(f"{name}: no token count in its reply")
                continue
            return JSONResponse({"input_tokens": int(n)})
        return self._error("anthropic", 503, "no backend could count the tokens (" + "; ".join(errors) + ")")

    async def models(self, request: Request) -> Response:
        if not self._authorized(request):
            return self._error("openai", 401, "missing or wrong API key")
        names: list[str] = []
        for route in self.config.routes:
            if not any(c in route.match for c in "*?["):
                names.append(route.match)
        for b in self.config.backends:
            for n in (b.name, getattr(b, "model", None)):
                if n and n not in names:
                    names.append(n)
        if "anthropic-version" in request.headers:
            created = datetime.fromtimestamp(self.started, timezone.utc).isoformat().replace("+00:00", "Z")
            data = [{"type": "model", "id": n, "display_name": n, "created_at": created} for n in names]
            return JSONResponse({"data": data, "has_more": False, "first_id": names[0] if names else None,
                                 "last_id": names[-1] if names else None})
        return JSONResponse({"object": "list", "data": [
            {"id": n, "object": "model", "created": int(self.started), "owned_by": "inhouse"} for n in names]})

    def health_data(self) -> dict[str, Any]:
        now = time.monotonic()
        backends = {}
        for b in self.config.backends:
            state = self.states[b.name]
            backends[b.name] = {"kind": b.kind, "url": self.url_of(b), "model": getattr(b, "model", None),
                                "available": state.available(now), **_state_dict(state, now)}
            server = self.local_servers.get(b.name)
            if server is not None:
                backends[b.name]["server"] = {"pid": server.pid, "running": server.running}
            elif b.name in self.start_failures:
                error, _, next_at = self.start_failures[b.name]
                backends[b.name]["server"] = {"pid": None, "running": False, "error": error,
                                              "next_try_in_s": round(max(0.0, next_at - now), 1)}
        config_error = getattr(self.watcher, "error", None) if self.watcher is not None else None
        return {"status": "ok", "backends": backends, "config_error": config_error,
                "ledger_errors": self.ledger_errors + (self.writer.errors if self.writer else 0),
                "ledger_pending": (self.writer.pending if self.writer else 0) + len(self._pending),
                "uptime_s": round(time.time() - self.started, 3)}

    async def health(self, request: Request) -> Response:
        return JSONResponse(self.health_data())

    async def status_page(self, request: Request) -> Response:
        if not self._authorized(request):
            return self._error("openai", 401, "missing or wrong API key")
        data = self.health_data()
        rows = "".join(
            f"<tr><td>{html.escape(n)}</td><td>{html.escape(str(b['kind']))}</td>"
            f"<td>{'up' if b['available'] else 'cooling down'}</td><td>{html.escape(str(b['url']))}</td></tr>"
            for n, b in data["backends"].items())
        recent = "".join(
            f"<tr><td>{html.escape(str(r.get('created_at', ''))[:19])}</td>"
            f"<td>{html.escape(str(r.get('requested_model')))}</td><td>{html.escape(str(r.get('backend')))}</td>"
            f"<td>{html.escape(str(r.get('status')))}</td><td>{r.get('duration_s', 0):.3f} s</td></tr>"
            for r in reversed(self.recent))
        saved = self._saved_today()
        saved_text = f"${saved:.4f}" if saved is not None else "n/a (no ledger)"
        page = (f"<!doctype html><title>inhouse serve</title><h1>inhouse serve</h1>"
                f"<h2>Backends</h2><table><tr><th>name</th><th>kind</th><th>state</th><th>url</th></tr>{rows}"
                f"</table><h2>Last requests</h2><table><tr><th>time (UTC)</th><th>model</th><th>backend</th>"
                f"<th>status</th><th>duration</th></tr>{recent}</table>"
                f"<h2>Saved today</h2><p>{saved_text}</p>")
        return HTMLResponse(page)

    def _saved_today(self) -> float | None:
        if self.ledger is None:
            return None
        try:
            since = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
            return float(self.ledger.summary(since).get("saved_usd") or 0.0)
        except Exception:  # noqa: BLE001 - the status page shows what it can
            return None

    # ---- ledger ---------------------------------------------------------------------------
    def _finish_error(self, row: dict[str, Any], t0: float, protocol: str, status: int, message: str,
                      headers: dict[str, str] | None = None) -> JSONResponse:
        row["error"] = message
        self._finish(row, t0, "rejected" if status < 500 and status != 429 else "error", status, Usage())
        return self._error(protocol, status, message, headers)

    def _finish(self, row: dict[str, Any], t0: float, status: str, http_status: int, usage: Usage,
                duration_s: float | None = None) -> None:
        row.update(status=status, http_status=http_status,
                   duration_s=time.perf_counter() - t0 if duration_s is None else duration_s,
                   prompt_tokens=usage.prompt_tokens, completion_tokens=usage.completion_tokens,
                   reasoning_tokens=usage.reasoning_tokens,
                   tokens_counted=usage.counted_by if any(
                       v is not None for v in (usage.prompt_tokens, usage.completion_tokens,
                                               usage.reasoning_tokens)) else None)
        row["cost_usd"], row["saved_usd"] = self._cost(row)
        for private in ("_messages", "_tools"):  # content never leaves this function
            row.pop(private, None)
        self.recent.append(row)
        if self.writer is not None:
            self.writer.put(row)  # written off the event loop; a failure is counted, never raised

    def _cost(self, row: dict[str, Any]) -> tuple[float | None, float | None]:
        from .prices import PriceTable, cost

        prompt, completion = row.get("prompt_tokens"), row.get("completion_tokens")
        model = row.get("requested_model")
        if not model or prompt is None or completion is None or row.get("backend") is None:
            return None, None
        held, table = self._prices
        if held is not self.config:
            table = PriceTable.shipped().with_overrides(getattr(self.config, "prices", None) or {})
            self._prices = (self.config, table)
        usd = cost(model, prompt, completion, table)
        return usd, (usd if row.get("kind") == "local" else (0.0 if usd is not None else None))


_CHAT_PATHS = {"/v1/chat/completions": "openai", "/v1/messages": "anthropic"}


class ClientGone(Exception):
    """The client closed the connection while sending its request."""


class _Incoming:
    """The little of a request the chat handler reads: headers, the body as it arrives, its size."""

    __slots__ = ("headers", "_receive", "body_bytes")

    def __init__(self, scope: dict, receive: Any) -> None:
        self.headers = Headers(scope=scope)
        self._receive = receive
        self.body_bytes = 0

    async def stream(self) -> AsyncIterator[bytes]:
        while True:
            message = await self._receive()
            if message["type"] != "http.request":
                raise ClientGone("the client closed the connection while sending the request")
            body = message.get("body", b"")
            if body:
                yield body
            if not message.get("more_body", False):
                return


class EventStream:
    """An SSE response (an ASGI app) that relays ``body`` and stops it when the client goes away.

    The client's disconnect is watched by one ``receive()`` left pending (it answers
    ``http.disconnect``); when it comes, the task relaying the stream is cancelled, so a relay
    waiting on a slow backend stops at once and the backend's connection is closed."""

    def __init__(self, body: AsyncIterator[bytes]) -> None:
        self.body = body

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": _SSE_HEADERS})
        task = asyncio.current_task()
        gone = False

        def on_disconnect(watch: asyncio.Future) -> None:
            nonlocal gone
            if not watch.cancelled() and task is not None:
                gone = True
                task.cancel()

        watch = asyncio.ensure_future(receive())
        watch.add_done_callback(on_disconnect)
        try:
            async for chunk in self.body:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        except asyncio.CancelledError:
            if not gone:
                raise
            uncancel = getattr(task, "uncancel", None)  # Python 3.11+: this cancel is handled
            if uncancel is not None:
                uncancel()
            return
        finally:
            watch.remove_done_callback(on_disconnect)
            watch.cancel()
            close = getattr(self.body, "aclose", None)
            if close is not None:  # left early (a cancel during send): its ledger row is written now
                await close()
        await send({"type": "http.response.body", "body": b"", "more_body": False})


_SSE_HEADERS = [(b"content-type", b"text/event-stream; charset=utf-8"), (b"cache-control", b"no-cache")]


def _plain_content(message: Any) -> Any:
    """For local servers, whose chat templates concatenate ``content`` as a string: None becomes ""
    and a list of text parts one string (other parts are left for the server to judge)."""
    if not isinstance(message, dict):
        return message
    content = message.get("content")
    if content is None:
        return {**message, "content": ""}
    if isinstance(content, list) and all(isinstance(p, dict) and p.get("type") == "text" for p in content):
        return {**message, "content": "".join(str(p.get("text", "")) for p in content)}
    return message


def translate_tools(parsed: ParsedRequest) -> list[dict] | None:
    """The request's tools in OpenAI form (what tool-call repair matches names against)."""
    tools = parsed.body.get("tools")
    if not isinstance(tools, list) or not tools:
        return None
    if parsed.protocol == "openai":
        return tools
    return [{"type": "function", "function": {"name": t.get("name"), "parameters": t.get("input_schema") or {}}}
            for t in tools if isinstance(t, dict) and t.get("name")]


def _state_dict(state: Any, now: float) -> dict[str, Any]:
    for attr in ("as_dict", "to_dict", "snapshot"):
        fn = getattr(state, attr, None)
        if callable(fn):
            try:
                return dict(fn(now))
            except TypeError:
                return dict(fn())
    return {}


def to_ledger_row(row: dict[str, Any]) -> Any:
    from .ledger import LedgerRow

    values = {**row, "reasons": list(row.get("reasons") or []), "fallbacks": list(row.get("fallbacks") or [])}
    names = {f.name for f in dataclasses.fields(LedgerRow)}
    return LedgerRow(**{k: v for k, v in values.items() if k in names})


async def _read_rest(opened: Opened) -> bytes:
    try:
        return (await opened.read_all())[:65536]
    except Exception:  # noqa: BLE001
        return opened.first
    finally:
        await opened.aclose()


def _error_message(raw: bytes) -> str:
    try:
        data = json.loads(raw)
    except ValueError:
        return raw[:300].decode("utf-8", "replace").strip()
    if isinstance(data, dict):
        err = data.get("error")
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])
        if isinstance(err, str):
            return err
        if isinstance(data.get("detail"), (str, list)):
            return str(data["detail"])[:300]
    return json.dumps(data)[:300]


def check_bind(host: str, api_key: str | None) -> None:
    """A non-loopback bind needs an API key; raise ConfigError (one line) otherwise."""
    from ..errors import ConfigError

    if host not in LOOPBACK and not api_key:
        raise ConfigError(f"refusing to listen on {host} without an API key: pass --api-key or set "
                          f"INHOUSE_API_KEY (or listen on 127.0.0.1)")


def start_local_servers(config: Any) -> dict[str, Any]:
    """Start a supervised server for each managed local backend (settings ``inhouse fit`` says fit);
    all or none are left running."""
    from .backends import local_server_for

    started: dict[str, Any] = {}
    try:
        for b in config.backends:
            if b.kind == "local" and not getattr(b, "url", None):
                started[b.name] = local_server_for(b).start()
    except BaseException:
        stop_local_servers(started)
        raise
    return started


def stop_local_servers(servers: dict[str, Any]) -> None:
    for server in servers.values():
        server.stop()


def run(gateway: Gateway, host: str, port: int) -> None:
    """Serve ``gateway.app`` with uvicorn (httptools' parser where installed) until SIGINT/SIGTERM."""
    import uvicorn

    # asyncio's own event loop, not uvloop: with uvloop, the ledger writer's SQLite commits in
    # their thread made the process grow without bound (+27 MiB over 40,000 requests, while
    # SQLite's own memory stayed at 2 MiB; not glibc arenas, not malloc_trim-able); with asyncio's
    # loop RSS is flat, and requests/s through the gateway were the same within this VM's noise.
    config = uvicorn.Config(gateway.app, host=host, port=port, log_level="warning", access_log=False,
                            interface="asgi3", loop="asyncio",
                            lifespan="on", timeout_graceful_shutdown=5)
    server = uvicorn.Server(config)
    # uvicorn re-raises the signal that stopped it once it has shut down; under the default
    # SIGTERM action that would kill this process before the caller stops its local servers.
    import signal

    def _exit(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, _exit)
    # the ledger writer and scans of large bodies run in threads: let the event loop have the GIL
    # back within a millisecond (the default 5 ms showed up as 5 ms stalls in relayed streams)
    sys.setswitchinterval(0.001)
    try:
        server.run()
    finally:
        signal.signal(signal.SIGTERM, previous)
    if not server.started:
        from ..errors import ConfigError

        raise ConfigError(f"could not listen on {host}:{port} (in use?); pick another with --port")
