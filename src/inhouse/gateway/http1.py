"""A small keep-alive HTTP/1.1 client for plain-HTTP backends (local servers on loopback or LAN):
asyncio transports and httptools' parser (llhttp, the one uvicorn uses).

Why not httpx here: on a loopback stream from a local server, httpx + httpcore cost about as
much CPU per request as everything else in the gateway together (pool bookkeeping that polls
every idle socket, h11's pure-Python parsing, anyio streams). This client does only what the
gateway needs: POST or GET with a body, a status and headers, then the body as it arrives,
coalesced (what came in one read is one piece). ``https://`` backends (the cloud) still go
through httpx, which brings TLS, proxies and HTTP/2; the network's latency dwarfs its cost there.

``Pool.request`` returns a ``Response`` once the status line and headers are in; ``Response.next``
gives the body piece by piece. A connection goes back to the pool when its response was read to
the end; one closed early (the client went away) is closed, which tells a local server to stop
generating.
"""

from __future__ import annotations

import asyncio
import re
import socket
from collections import deque
from urllib.parse import urlsplit

import httptools

MAX_IDLE_PER_HOST = 64
_BAD_HEADER = re.compile(r"[^!#$%&'*+\-.^_`|~0-9A-Za-z]")  # RFC 9110 token characters only
_BAD_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")      # CR, LF, NUL and other controls
HIGH_WATER = 1 << 20  # bytes buffered from a backend before its socket stops being read


class HTTPError(Exception):
    """A request failed. ``kind``: refused | offline | timeout | protocol | closed."""

    def __init__(self, message: str, kind: str, *, sent: bool = True) -> None:
        super().__init__(message)
        self.kind = kind
        self.sent = sent  # False: the request never reached the server (safe to send again)


class _Connection(asyncio.Protocol):
    def __init__(self, pool: "Pool", key: tuple[str, int]) -> None:
        self.pool = pool
        self.key = key
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.closed = False
        self.reused = False
        self.busy = False  # a request is in flight (from its write until its response is released)
        self._reset()

    def _reset(self) -> None:
        self.status = 0
        self.keep_alive = False
        self.headers: dict[str, str] = {}
        self.chunks: deque[bytes] = deque()
        self.buffered = 0
        self.complete = False
        self.got_any = False
        self.error: HTTPError | None = None
        self.head: asyncio.Future | None = None
        self.waiter: asyncio.Future | None = None
        self.paused = False
        self.sized = False          # content-length or chunked: else the body ends when the connection does
        self.informational = False  # a 1xx answer is being parsed (the real one follows)

    # ---- asyncio.Protocol -------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if not self.busy:  # nothing asked for (a 408, a buggy server's extra answer): not reusable
            self.transport.close()
            return
        self.got_any = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(HTTPError(f"malformed HTTP response: {exc}", "protocol"))
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.status and not self.informational and not self.sized and not self.complete and self.error is None:
            self.complete = True  # a body without a length ends when the connection closes (RFC 9112 6.3)
            self._wake()
            return
        if not self.complete:
            why = f": {exc}" if exc else ""
            self._fail(HTTPError(f"the backend closed the connection{why}", "closed", sent=self.got_any))

    # ---- httptools callbacks ----------------------------------------------------------------
    def on_header(self, name: bytes, value: bytes) -> None:
        key = name.decode("latin-1").lower()
        self.headers[key] = value.decode("latin-1")
        if key in ("content-length", "transfer-encoding"):
            self.sized = True

    def on_headers_complete(self) -> None:
        status = self.parser.get_status_code()
        if 100 <= status < 200:  # 100 Continue and the like: the answer is still to come
            self.informational = True
            self.headers, self.sized = {}, False
            return
        self.status = status
        self.keep_alive = self.parser.should_keep_alive()  # (llhttp forgets it once the message is complete)
        if status in (204, 304):
            self.sized = True
        if self.head is not None and not self.head.done():
            self.head.set_result(None)

    def on_body(self, body: bytes) -> None:
        self.chunks.append(body)
        self.buffered += len(body)
        if self.buffered > HIGH_WATER and not self.paused:
            self.paused = True
            self.transport.pause_reading()
        self._wake()

    def on_message_complete(self) -> None:
        if self.informational:
            self.informational = False
            return
        self.complete = True
        self._wake()

    # ---- internals --------------------------------------------------------------------------
    def _wake(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    def _fail(self, error: HTTPError) -> None:
        if self.error is None:
            self.error = error
        for fut in (self.head, self.waiter):
            if fut is not None and not fut.done():
                fut.set_exception(error)


class Response:
    """A backend's answer whose status line and headers have arrived."""

    __slots__ = ("status", "headers", "_conn", "_timeout", "_done")

    def __init__(self, conn: _Connection, timeout_s: float) -> None:
        self.status = conn.status
        self.headers = conn.headers
        self._conn = conn
        self._timeout = timeout_s
        self._done = False

    async def next(self) -> bytes:
        """The body that has arrived since the last call, waiting (up to the read timeout) when
        nothing has; b"" at the end. Raises HTTPError when the backend fails mid-body."""
        if self._done:  # released or closed: the connection may serve another request by now
            return b""
        conn = self._conn
        while True:
            if conn.chunks:
                piece = b"".join(conn.chunks) if len(conn.chunks) > 1 else conn.chunks[0]
                conn.chunks.clear()
                conn.buffered = 0
                if conn.paused:
                    conn.paused = False
                    conn.transport.resume_reading()
                return piece
            if conn.complete:
                self._release()
                return b""
            if conn.error is not None:
                self.close()
                raise conn.error
            conn.waiter = asyncio.get_running_loop().create_future()
            await _wait(conn.waiter, self._timeout, f"no data for {self._timeout:g} s")

    async def read_all(self) -> bytes:
        parts = []
        while piece := await self.next():
            parts.append(piece)
        return b"".join(parts)

    def _release(self) -> None:
        if self._done:
            return
        self._done = True
        conn = self._conn
        conn.busy = False
        if conn.keep_alive and not conn.closed and conn.error is None:
            conn.pool._put(conn)
        else:
            conn.transport.close()

    def close(self) -> None:
        """Done with it: a response read to the end keeps its connection; any other closes it."""
        if self._done:
            return
        if self._conn.complete and not self._conn.chunks:
            self._release()
            return
        self._done = True
        self._conn.busy = False
        self._conn.transport.close()


async def _wait(fut: asyncio.Future, timeout: float, message: str) -> None:
    """Await ``fut``; after ``timeout`` seconds it fails with HTTPError(kind="timeout")."""
    loop = asyncio.get_running_loop()

    def expire() -> None:
        if not fut.done():
            fut.set_exception(HTTPError(message, "timeout"))

    handle = loop.call_later(timeout, expire)
    try:
        await fut
    finally:
        handle.cancel()


class Pool:
    """Keep-alive connections per (host, port)."""

    def __init__(self, *, max_idle_per_host: int = MAX_IDLE_PER_HOST) -> None:
        self.max_idle = max_idle_per_host
        self._idle: dict[tuple[str, int], list[_Connection]] = {}

    def _put(self, conn: _Connection) -> None:
        idle = self._idle.setdefault(conn.key, [])
        if len(idle) < self.max_idle:
            conn._reset()
            conn.reused = True
            idle.append(conn)
        else:
            conn.transport.close()

    async def _connect(self, host: str, port: int, timeout_s: float) -> _Connection:
        key = (host, port)
        idle = self._idle.get(key)
        while idle:
            conn = idle.pop()
            if not conn.closed and not conn.transport.is_closing():
                return conn
        loop = asyncio.get_running_loop()
        try:
            _, conn = await asyncio.wait_for(
                loop.create_connection(lambda: _Connection(self, key), host, port), timeout_s)
        except asyncio.TimeoutError:
            raise HTTPError(f"connection to {host}:{port} timed out after {timeout_s:g} s", "timeout",
                            sent=False) from None
        except socket.gaierror as exc:
            raise HTTPError(f"DNS lookup of {host} failed (offline?): {exc}", "offline", sent=False) from None
        except OSError as exc:
            raise HTTPError(f"connection to {host}:{port} refused: {exc.strerror or exc}", "refused",
                            sent=False) from None
        return conn

    async def request(self, method: str, url: str, headers: dict[str, str], body: bytes = b"", *,
                      connect_timeout_s: float = 10.0, first_byte_timeout_s: float = 60.0,
                      read_timeout_s: float = 600.0) -> Response:
        """Send the request; return once the status line and headers are in (within
        ``first_byte_timeout_s`` of sending). A reused connection that the server had closed
        meanwhile is replaced once, transparently (the request never reached the server)."""
        parts = urlsplit(url)
        if parts.scheme != "http":
            raise ValueError(f"http1.Pool speaks plain http only, not {url}")
        host, port = parts.hostname or "127.0.0.1", parts.port or 80
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        authority = f"[{host}]" if ":" in host else host
        authority += f":{parts.port}" if parts.port else ""  # never the URL's user:password@
        lines = [f"{method} {target} HTTP/1.1", f"host: {authority}", f"content-length: {len(body)}"]
        for k, v in headers.items():
            if k.lower() in ("host", "content-length"):
                continue
            if _BAD_HEADER.search(k) or _BAD_VALUE.search(v) or not k:
                raise HTTPError(f"header {k[:40]!r} has a line break or control character; not sent",
                                "protocol", sent=False)
            lines.append(f"{k}: {v}")
        try:
            raw = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
        except UnicodeEncodeError as exc:
            raise HTTPError(f"a header is not Latin-1 text ({exc.reason}); not sent", "protocol", sent=False) from None
        for attempt in (0, 1):
            conn = await self._connect(host, port, connect_timeout_s)
            if conn.closed:  # closed between connecting and now
                if attempt == 0:
                    continue
                raise HTTPError(f"the backend at {host}:{port} closed the connection at once", "closed", sent=False)
            conn.head = asyncio.get_running_loop().create_future()
            conn.busy = True
            conn.transport.write(raw)
            try:
                await _wait(conn.head, first_byte_timeout_s, f"no response within {first_byte_timeout_s:g} s")
            except HTTPError as exc:
                conn.busy = False
                conn.transport.close()
                # a pooled connection the server had closed: the request never reached it (a
                # server that read it and then died gets it again; for these backends, harmless)
                if attempt == 0 and conn.reused and exc.kind == "closed" and not exc.sent:
                    continue
                raise
            except BaseException:  # cancelled: the connection is in an unknown state
                conn.busy = False
                conn.transport.close()
                raise
            return Response(conn, read_timeout_s)
        raise AssertionError("unreachable")

    def close(self) -> None:
        for idle in self._idle.values():
            for conn in idle:
                conn.transport.close()
        self._idle.clear()


def is_plain_http(url: str) -> bool:
    return url[:7].lower() == "http://"
