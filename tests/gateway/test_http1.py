"""The plain-HTTP upstream client (gateway/http1.py) against small real servers on 127.0.0.1:
keep-alive reuse, a stale pooled connection, chunked and sized bodies, failures before and after
the headers, timeouts, back-pressure; and, through a real ``inhouse serve``, a client that hangs
up mid-stream stops the backend's stream."""

from __future__ import annotations

import asyncio
import textwrap
import time

import httpx
import pytest

from inhouse.gateway import http1
from tests.gateway.conftest import fake_backend, serve, wait_ledger
from tests.helpers import free_port


class Server:
    """An asyncio HTTP/1.1 server whose answers the test scripts: ``handler(head, body, writer)``."""

    def __init__(self, handler) -> None:
        self.handler = handler
        self.connections = 0
        self.requests = 0

    async def __aenter__(self) -> "Server":
        async def serve_one(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.connections += 1
            try:
                while True:
                    head = await reader.readuntil(b"\r\n\r\n")
                    length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                                   if line.lower().startswith(b"content-length:")), 0)
                    body = await reader.readexactly(length)
                    self.requests += 1
                    if await self.handler(head, body, writer) == "close":
                        break
            except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
                pass
            finally:
                writer.close()

        self.server = await asyncio.start_server(serve_one, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(self, *exc) -> None:
        self.server.close()


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 30))


async def ok_chunked(head, body, writer):
    writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n")
    for piece in (b"data: one\n\n", b"data: two\n\n"):
        writer.write(b"%x\r\n%s\r\n" % (len(piece), piece))
        await writer.drain()
        await asyncio.sleep(0.01)
    writer.write(b"0\r\n\r\n")


def test_a_chunked_stream_arrives_whole_and_the_connection_is_reused():
    async def main():
        async with Server(ok_chunked) as srv:
            pool = http1.Pool()
            for _ in range(3):
                r = await pool.request("POST", srv.url + "/v1/chat/completions", {"x-test": "1"}, b"{}")
                assert r.status == 200 and r.headers["content-type"] == "text/event-stream"
                assert await r.read_all() == b"data: one\n\ndata: two\n\n"
            pool.close()
            return srv.connections, srv.requests

    assert run(main()) == (1, 3)


def test_the_request_reaches_the_server_as_sent():
    seen = {}

    async def echo(head, body, writer):
        seen["head"], seen["body"] = head, body
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")

    async def main():
        async with Server(echo) as srv:
            pool = http1.Pool()
            r = await pool.request("POST", srv.url + "/v1/messages?beta=true", {"x-api-key": "k"}, b'{"a":1}')
            assert await r.read_all() == b"ok"
            pool.close()

    run(main())
    lines = seen["head"].decode().split("\r\n")
    assert lines[0] == "POST /v1/messages?beta=true HTTP/1.1"
    assert "x-api-key: k" in lines and "content-length: 7" in lines
    assert seen["body"] == b'{"a":1}'


def test_a_pooled_connection_the_server_closed_is_replaced_transparently():
    async def once_then_close(head, body, writer):
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
        await writer.drain()
        return "close"  # the server drops the keep-alive connection after each answer

    async def main():
        async with Server(once_then_close) as srv:
            pool = http1.Pool()
            for _ in range(3):
                r = await pool.request("POST", srv.url + "/", {}, b"")
                assert await r.read_all() == b"ok"
                await asyncio.sleep(0.05)  # the close reaches the pooled connection
            pool.close()
            return srv.connections, srv.requests

    connections, requests = run(main())
    assert requests == 3 and connections == 3


def test_refused_and_dns_failures_say_so_before_anything_is_sent():
    async def main():
        pool = http1.Pool()
        with pytest.raises(http1.HTTPError) as refused:
            await pool.request("POST", f"http://127.0.0.1:{free_port()}/", {}, b"")
        with pytest.raises(http1.HTTPError) as dns:
            await pool.request("POST", "http://no-such-host.invalid/", {}, b"", connect_timeout_s=10)
        return refused.value, dns.value

    refused, dns = run(main())
    assert refused.kind == "refused" and not refused.sent
    assert dns.kind == "offline" and not dns.sent


def test_no_headers_in_time_is_a_timeout():
    async def silent(head, body, writer):
        await asyncio.sleep(5)

    async def main():
        async with Server(silent) as srv:
            pool = http1.Pool()
            t0 = time.monotonic()
            with pytest.raises(http1.HTTPError) as err:
                await pool.request("POST", srv.url + "/", {}, b"", first_byte_timeout_s=0.3)
            return err.value, time.monotonic() - t0

    err, took = run(main())
    assert err.kind == "timeout" and 0.25 < took < 2


def test_a_backend_dying_mid_body_raises_where_the_body_is_read():
    async def dies(head, body, writer):
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n")
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.transport.abort()
        return "close"

    async def main():
        async with Server(dies) as srv:
            pool = http1.Pool()
            r = await pool.request("POST", srv.url + "/", {}, b"")
            assert await r.next() == b"hello"
            with pytest.raises(http1.HTTPError) as err:
                await r.next()
            return err.value

    assert run(main()).kind == "closed"


def test_a_malformed_response_is_a_protocol_error():
    async def garbage(head, body, writer):
        writer.write(b"SPDY/9 what\r\n\r\n")
        return "close"

    async def main():
        async with Server(garbage) as srv:
            with pytest.raises(http1.HTTPError) as err:
                await http1.Pool().request("POST", srv.url + "/", {}, b"")
            return err.value

    assert run(main()).kind in ("protocol", "closed")


def test_a_reader_that_falls_behind_pauses_the_backend_and_loses_nothing():
    big = b"x" * (4 * http1.HIGH_WATER)

    async def bulk(head, body, writer):
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % len(big))
        for i in range(0, len(big), 65536):
            writer.write(big[i:i + 65536])
            await writer.drain()

    async def main():
        async with Server(bulk) as srv:
            r = await http1.Pool().request("POST", srv.url + "/", {}, b"")
            await asyncio.sleep(0.3)  # let the backend fill the buffer: reading pauses at HIGH_WATER
            assert r._conn.paused
            return await r.read_all()

    assert run(main()) == big


def test_a_response_closed_early_closes_its_connection():
    async def main():
        async with Server(ok_chunked) as srv:
            pool = http1.Pool()
            r = await pool.request("POST", srv.url + "/", {}, b"")
            await r.next()
            r.close()  # the reader went away: the connection must not go back to the pool
            r2 = await pool.request("POST", srv.url + "/", {}, b"")
            await r2.read_all()
            pool.close()
            return srv.connections

    assert run(main()) == 2


def test_only_plain_http():
    with pytest.raises(ValueError):
        run(http1.Pool().request("POST", "https://example.com/", {}, b""))


def test_a_client_hanging_up_mid_stream_stops_the_backend_and_is_in_the_ledger(tmp_path):
    """Through a real ``inhouse serve``: the client reads two chunks of a slow stream and closes;
    within a second the gateway has closed its connection to the backend (which stops sending)
    and written the row as client-closed."""
    events = tmp_path / "events.txt"
    with fake_backend(tmp_path, events=events) as (fake, _):
        config = tmp_path / "gateway.toml"
        config.write_text(textwrap.dedent(f"""
            [[backend]]
            name = "slow"
            kind = "openai"
            url = "{fake}"
            model = "slow"

            [[route]]
            match = "*"
            chain = ["slow"]
        """))
        with serve(tmp_path / "home", "--config", str(config)) as (url, _):
            with httpx.Client(timeout=30) as client:
                with client.stream("POST", url + "/v1/chat/completions",
                                   json={"model": "x", "stream": True, "messages": [{"role": "user", "content": "hi"}]}, headers={"x-session-id": "hangup"}) as r:
                    got = 0
                    for line in r.iter_lines():
                        got += line.startswith("data:")
                        if got == 2:
                            break
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not (events.exists() and events.read_text()):
                time.sleep(0.1)
            assert events.exists() and "client closed after" in events.read_text()
            closed_after = int(events.read_text().split("after ")[1].split()[0])
            assert closed_after < 30  # stopped within about a second of the hang-up, not after the minute
            wait_ledger(url)
            assert httpx.get(url + "/health").json()["status"] == "ok"  # the gateway is still up
        import sqlite3

        with sqlite3.connect(tmp_path / "home" / "inhouse.db") as conn:
            statuses = [r[0] for r in conn.execute("SELECT status FROM gateway_requests WHERE session = 'h:hangup'")]
        assert statuses == ["client-closed"]


def test_an_empty_body_ends_at_once_and_reading_on_after_the_end_gives_nothing():
    """A 404 with Content-Length: 0: the first read ends the body and releases the connection;
    reading again must not wait on (or steal from) the connection's next request."""
    async def empty_then_ok(head, body, writer):
        if b"/empty" in head:
            writer.write(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n")
        else:
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")

    async def main():
        async with Server(empty_then_ok) as srv:
            pool = http1.Pool()
            r = await pool.request("POST", srv.url + "/empty", {}, b"")
            assert r.status == 404 and await r.next() == b""
            other = await pool.request("POST", srv.url + "/next", {}, b"")  # reuses the connection
            t0 = time.monotonic()
            assert await r.read_all() == b""  # at once, and without touching the other request
            assert time.monotonic() - t0 < 0.5
            assert await other.read_all() == b"ok"
            return srv.connections

    assert run(main()) == 1


def test_a_body_without_a_length_ends_when_the_backend_closes():
    async def until_close(head, body, writer):
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n{\"a\":")
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.write(b" 1}")
        return "close"

    async def main():
        async with Server(until_close) as srv:
            r = await http1.Pool().request("POST", srv.url + "/", {}, b"")
            return await r.read_all()

    assert run(main()) == b'{"a": 1}'


def test_an_informational_answer_is_skipped_for_the_real_one():
    async def continue_first(head, body, writer):
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        await writer.drain()
        await asyncio.sleep(0.02)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\nx-real: yes\r\n\r\nreal")

    async def main():
        async with Server(continue_first) as srv:
            r = await http1.Pool().request("POST", srv.url + "/", {}, b"")
            return r.status, r.headers.get("x-real"), await r.read_all()

    assert run(main()) == (200, "yes", b"real")


@pytest.mark.parametrize("name,value", [("x-api-key", "k\r\nx-evil: 1"), ("x-api-key", "k\nGET / HTTP/1.1"),
                                        ("bad name", "v"), ("x-nul", "a\x00b")])
def test_a_header_that_could_split_the_request_is_refused_before_sending(name, value):
    seen = []

    async def record(head, body, writer):
        seen.append(head)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")

    async def main():
        async with Server(record) as srv:
            with pytest.raises(http1.HTTPError) as err:
                await http1.Pool().request("POST", srv.url + "/", {name: value}, b"")
            return err.value

    err = run(main())
    assert err.kind == "protocol" and not err.sent and seen == []


def test_the_host_header_never_carries_credentials_from_the_url():
    seen = {}

    async def record(head, body, writer):
        seen["head"] = head
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")

    async def main():
        async with Server(record) as srv:
            port = srv.url.rsplit(":", 1)[1]
            r = await http1.Pool().request("POST", f"http://user:secret@127.0.0.1:{port}/", {}, b"")
            await r.read_all()

    run(main())
    assert b"secret" not in seen["head"] and b"host: 127.0.0.1:" in seen["head"]


def test_data_on_an_idle_pooled_connection_retires_it():
    async def extra(head, body, writer):
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.write(b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\n\r\n")  # unasked

    async def main():
        async with Server(extra) as srv:
            pool = http1.Pool()
            r = await pool.request("POST", srv.url + "/", {}, b"")
            assert await r.read_all() == b"ok"
            await asyncio.sleep(0.2)
            r2 = await pool.request("POST", srv.url + "/", {}, b"")  # a new connection, a clean answer
            assert r2.status == 200 and await r2.read_all() == b"ok"
            return srv.connections

    assert run(main()) == 2
