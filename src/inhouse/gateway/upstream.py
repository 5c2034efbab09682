"""HTTP to the backends: one pooled ``httpx.AsyncClient`` per backend, and failures classified.

``Upstream.open`` sends a request and waits for the status line *and the first body chunk*
within the backend's first-byte timeout. Whatever goes wrong before that (connection refused,
DNS failure, timeout to first byte, 429, 5xx) raises ``UpstreamFailure``, so the caller can
still move on to the next backend: nothing has reached the client yet. After ``open`` returns,
the rest of the body is the caller's (``Opened.rest``); a failure there is a mid-stream one.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass, field
from typing import Any, AsyncIterator

import httpx

from ..errors import EngineError
from .backends import parse_retry_after

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


@dataclass
class Opened:
    """A backend's answer whose status line and first chunk have arrived."""

    status: int
    headers: httpx.Headers
    first: bytes
    response: httpx.Response
    _chunks: AsyncIterator[bytes] = field(repr=False)
    ttfb_s: float = 0.0

    async def rest(self) -> AsyncIterator[bytes]:
        """The body after the first chunk (mid-stream failures raise httpx errors here)."""
        async for chunk in self._chunks:
            yield chunk

    async def read_all(self) -> bytes:
        parts = [self.first]
        async for chunk in self._chunks:
            parts.append(chunk)
        return b"".join(parts)

    async def aclose(self) -> None:
        await self.response.aclose()


def _classify(exc: BaseException, url: str, first_byte_s: float) -> UpstreamFailure:
    text = str(exc) or type(exc).__name__
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
    """One connection pool per backend name; ``aclose`` closes them all."""

    def __init__(self) -> None:
        self._clients: dict[str, httpx.AsyncClient] = {}

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
        client = self.client(name, timeout_s)
        if isinstance(body, bytes):
            request = client.build_request("POST", url, content=body,
                                           headers={"content-type": "application/json", **headers})
        else:
            request = client.build_request("POST", url, json=body, headers=headers)
        t0 = time.perf_counter()
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
        ttfb = time.perf_counter() - t0
        if response.status_code in RETRYABLE_STATUS:
            detail = first[:300].decode("utf-8", "replace").strip()
            await response.aclose()
            retry_after = parse_retry_after(response.headers.get("retry-after"))
            reason = "rate-limited" if response.status_code == 429 else "http-5xx"
            wait = f" (Retry-After {retry_after:g} s)" if retry_after is not None else ""
            raise UpstreamFailure(f"{url}: HTTP {response.status_code}{wait}: {detail}", reason=reason,
                                  status=response.status_code, retry_after=retry_after)
        return Opened(response.status_code, response.headers, first, response, chunks, ttfb)

    async def get(self, name: str, url: str, headers: dict[str, str], timeout_s: float = 5.0) -> httpx.Response:
        return await self.client(name, 600.0).get(url, headers=headers, timeout=timeout_s)

    async def aclose(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()
