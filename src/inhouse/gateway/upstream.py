"""HTTP to the backends: one pooled ``httpx.AsyncClient`` per backend, and failures classified.

``Upstream.open`` sends a request and waits for the status line *and the first body chunk*
within the backend's first-byte timeout. Whatever goes wrong before that (connection refused,
DNS failure, timeout to first byte, 429, 5xx) raises ``UpstreamFailure``, so the caller can
still move on to the next backend: nothing has reached the client yet. After ``open`` returns,
the rest of the body is the caller's (``Opened.rest``); a failure there is a mid-stream one.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from typing import Any, AsyncIterator

import httpx

from ..errors import EngineError
from . import http1
from .backends import retry_after_from_headers

RETRYABLE_STATUS = {429, 500, 502, 503, 504, 529}


class UpstreamFailure(EngineError):
    """A backend failed before its first byte: the request may go to the next one."""

    def __init__(self, message: str, *, reason: str, status: int | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(message)
        self.reason = reason            # refused | offline | timeout | rate-limited | http-5xx | error
        self.status = status
        self.retry_after = retry_after


def endpoint(base_url: str, protocol: str, suffix: str = "") -> str:
    """The full URL of a protocol's chat endpoint under a backend URL with or without ``/v1``."""
    base = base_url.rstrip("/")
    if not base.endswith("/v1"):
        base += "/v1"
    path = "/chat/completions" if protocol == "openai" else "/messages"
    return base + path + suffix


def auth_headers(kind: str, api_key_env: str | None, client_headers: dict[str, str] | None = None) -> dict[str, str]:
    """Headers a backend of ``kind`` needs: its key from the environment variable the config names."""
    key = os.environ.get(api_key_env) if api_key_env else None
    client_headers = {k.lower(): v for k, v in (client_headers or {}).items()}
    if kind == "anthropic":
        headers = {"anthropic-version": client_headers.get("anthropic-version", "2023-06-01")}
        if "anthropic-beta" in client_headers:
            headers["anthropic-beta"] = client_headers["anthropic-beta"]
        if key:
            headers["x-api-key"] = key
        return headers
    return {"authorization": f"Bearer {key}"} if key else {}


class Opened:
    """A backend's answer whose status line and first body piece have arrived.

    ``rest()`` yields the body after ``first`` (a mid-stream failure raises there); ``aclose()``
    ends it (a response not read to its end closes its connection)."""

    __slots__ = ("status", "headers", "first", "ttfb_s", "next_piece", "_close")

    def __init__(self, status: int, headers: Any, first: bytes, next_piece: Any, close: Any,
                 ttfb_s: float = 0.0) -> None:
        self.status = status
        self.headers = headers        # case-insensitive .get(name) (lower-case names)
        self.first = first
        self.ttfb_s = ttfb_s
        self.next_piece = next_piece  # async () -> the body that came since, b"" at the end
        self._close = close           # async () -> None

    async def rest(self) -> AsyncIterator[bytes]:
        while piece := await self.next_piece():
            yield piece

    async def read_all(self) -> bytes:
        parts = [self.first]
        while piece := await self.next_piece():
            parts.append(piece)
        return b"".join(parts)

    async def aclose(self) -> None:
        await self._close()


def _classify(exc: BaseException, url: str, first_byte_s: float) -> UpstreamFailure:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, http1.HTTPError):
        if exc.kind == "timeout" and exc.sent:
            return UpstreamFailure(f"{url}: no first byte within {first_byte_s:g} s", reason="timeout")
        reason = {"refused": "refused", "offline": "offline", "timeout": "timeout"}.get(exc.kind, "error")
        return UpstreamFailure(f"{url}: {text}", reason=reason)
    if isinstance(exc, (asyncio.TimeoutError, httpx.TimeoutException)) and not isinstance(exc, httpx.ConnectTimeout):
        return UpstreamFailure(f"{url}: no first byte within {first_byte_s:g} s", reason="timeout")
    if isinstance(exc, httpx.ConnectTimeout):
        return UpstreamFailure(f"{url}: connection timed out", reason="timeout")
    if isinstance(exc, httpx.ConnectError):
        low = text.lower()
        if "name or service not known" in low or "nodename nor servname" in low or "temporary failure in name" in low \
                or "name resolution" in low or "getaddrinfo" in low:
            return UpstreamFailure(f"{url}: DNS lookup failed (offline?)", reason="offline")
        return UpstreamFailure(f"{url}: connection refused", reason="refused")
    if isinstance(exc, httpx.HTTPError):
        return UpstreamFailure(f"{url}: {text}", reason="error")
    return UpstreamFailure(f"{url}: {type(exc).__name__}: {text}", reason="error")


class Upstream:
    """Connections to the backends: plain-HTTP URLs (local servers) through ``http1.Pool``,
    others (https, the cloud) through one pooled ``httpx.AsyncClient`` per backend name."""

    def __init__(self) -> None:
        self._clients: dict[str, httpx.AsyncClient] = {}
        self.pool = http1.Pool()

    def client(self, name: str, timeout_s: float) -> httpx.AsyncClient:
        client = self._clients.get(name)
        if client is None or client.is_closed:
            client = httpx.AsyncClient(
                timeout=httpx.Timeout(timeout_s, connect=min(10.0, timeout_s)),
                limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
                trust_env=False,
            )
            self._clients[name] = client
        return client

    async def open(self, name: str, url: str, body: dict[str, Any] | bytes, headers: dict[str, str], *,
                   timeout_s: float = 600.0, first_byte_timeout_s: float = 30.0) -> Opened:
        """POST ``body`` to ``url``; return once the first body byte is here, else raise UpstreamFailure.

        A 429 or 5xx also raises (with ``retry_after`` from the header); other statuses return, so
        a 4xx (the request's own fault) can be passed back to the client."""
        if not isinstance(body, bytes):
            body = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        t0 = time.perf_counter()
        if http1.is_plain_http(url):
            opened = await self._open_http1(url, body, headers, timeout_s, first_byte_timeout_s)
        else:
            opened = await self._open_httpx(name, url, body, headers, timeout_s, first_byte_timeout_s)
        opened.ttfb_s = time.perf_counter() - t0
        if opened.status in RETRYABLE_STATUS:
            detail = opened.first[:300].decode("utf-8", "replace").strip()
            await opened.aclose()
            retry_after = retry_after_from_headers(opened.headers)
            reason = "rate-limited" if opened.status == 429 else "http-5xx"
            wait = f" (Retry-After {retry_after:g} s)" if retry_after is not None else ""
            raise UpstreamFailure(f"{url}: HTTP {opened.status}{wait}: {detail}", reason=reason,
                                  status=opened.status, retry_after=retry_after)
        return opened

    async def _open_http1(self, url: str, body: bytes, headers: dict[str, str], timeout_s: float,
                          first_byte_timeout_s: float) -> Opened:
        deadline = time.monotonic() + first_byte_timeout_s
        response = None
        try:
            response = await self.pool.request(
                "POST", url, {"content-type": "application/json", **headers}, body,
                connect_timeout_s=min(10.0, first_byte_timeout_s), first_byte_timeout_s=first_byte_timeout_s,
                read_timeout_s=timeout_s)
            response._timeout = max(0.001, deadline - time.monotonic())  # the first piece: what is left
            first = await response.next()
            response._timeout = timeout_s
        except BaseException as exc:
            if response is not None:
                response.close()
            if isinstance(exc, Exception):
                raise _classify(exc, url, first_byte_timeout_s) from exc
            raise

        async def close() -> None:
            response.close()

        return Opened(response.status, response.headers, first, response.next, close)

    async def _open_httpx(self, name: str, url: str, body: bytes, headers: dict[str, str], timeout_s: float,
                          first_byte_timeout_s: float) -> Opened:
        client = self.client(name, timeout_s)
        request = client.build_request("POST", url, content=body,
                                       headers={"content-type": "application/json", **headers})
        held: list[httpx.Response] = []

        async def first_chunk() -> tuple[httpx.Response, AsyncIterator[bytes], bytes]:
            response = await client.send(request, stream=True)
            held.append(response)
            chunks = response.aiter_bytes()
            async for chunk in chunks:
                if chunk:
                    return response, chunks, chunk
            return response, chunks, b""

        ok = False
        try:
            response, chunks, first = await asyncio.wait_for(first_chunk(), first_byte_timeout_s)
            ok = True
        except Exception as exc:
            raise _classify(exc, url, first_byte_timeout_s) from exc
        finally:
            if not ok and held:
                await held[0].aclose()

        async def next_piece() -> bytes:
            async for chunk in chunks:
                if chunk:
                    return chunk
            return b""

        return Opened(response.status_code, response.headers, first, next_piece, response.aclose)

    async def get(self, name: str, url: str, headers: dict[str, str], timeout_s: float = 5.0) -> httpx.Response:
        return await self.client(name, 600.0).get(url, headers=headers, timeout=timeout_s)

    async def aclose(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()
        self.pool.close()
