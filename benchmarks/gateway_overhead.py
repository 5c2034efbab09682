"""What ``inhouse serve`` adds to a request: the same client workload sent straight to a fake
backend and through a real ``inhouse serve`` process (and LiteLLM's proxy when it is installed),
alternated round by round.

    python benchmarks/gateway_overhead.py            # every section; RSS over 10,000 requests
    python benchmarks/gateway_overhead.py --quick    # fewer requests (RSS over 2,000)
    python benchmarks/gateway_overhead.py --litellm /work/litellm-venv/bin/litellm

Sections:
1. Streams like a model's: the fake backend answers the first token after --ttft-ms (20) and
   each next one after --itl-ms (5; 200 tokens/s, faster than models on this class of machine),
   1, 10 and 100 streams in flight. What a client of the gateway sees.
2. Saturation: the fake backend answers at once, so each stream sends its next request the moment
   the last one ends (closed loop). Nothing waits on the backend, so the gateway's own CPU time
   per request C sets the pace, and with N streams a request waits behind the others: added
   latency ~ N x C. "floor" is uvicorn serving the same stream from memory (no backend): what any
   Python ASGI gateway pays before doing anything.
3. Policy on: a typical agent request (20 messages, 60 KB of tool results) through a gateway that
   scans for private content; first turn (a new conversation each time) and next turn (one new
   message on the same history).
4. The gateway's RSS after warm-up and after N more requests; ledger rows lost.

Prints time to first body byte (TTFB) and to the last (TTLB) at p50/p99 per target, the latency
the gateway adds (its percentile minus the direct one), requests/s. The fake backend is its own
process (raw asyncio HTTP/1.1, keep-alive, a 13-event OpenAI stream with usage); the client is a
lean HTTP/1.1 client (asyncio + httptools' parser, a keep-alive connection per stream), timing
from outside the gateway. Client, gateway and backend share this machine's cores: a busy machine
makes the figures noisy; the load average is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORDS = ["def ", "add", "(a", ", b", "):\n", "    ", "return ", "a ", "+ ", "b\n"]


# ---- the fake backend (a separate process) -------------------------------------------------------

def _sse_reply() -> list[bytes]:
    def chunk(delta: dict, finish: str | None = None, usage: dict | None = None) -> bytes:
        c = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 0, "model": "bench",
             "choices": [] if usage else [{"index": 0, "delta": delta, "finish_reason": finish}]}
        if usage:
            c["usage"] = usage
        return b"data: " + json.dumps(c).encode() + b"\n\n"
    events = [chunk({"role": "assistant", "content": ""})] + [chunk({"content": w}) for w in WORDS]
    events += [chunk({}, "stop"), chunk({}, usage={"prompt_tokens": 12, "completion_tokens": len(WORDS),
                                                   "total_tokens": 12 + len(WORDS)}), b"data: [DONE]\n\n"]
    return [f"{len(e):x}\r\n".encode() + e + b"\r\n" for e in events] + [b"0\r\n\r\n"]


def fake_backend(port: int, ttft_s: float = 0.0, itl_s: float = 0.0) -> None:
    """Serve the fixed reply on 127.0.0.1:port; a stream's first event after ``ttft_s``, each next
    one after ``itl_s`` (0: all at once)."""
    stream = _sse_reply()
    whole = json.dumps({"id": "chatcmpl-bench", "object": "chat.completion", "created": 0, "model": "bench",
                        "choices": [{"index": 0, "message": {"role": "assistant", "content": "".join(WORDS)},
                                     "finish_reason": "stop"}],
                        "usage": {"prompt_tokens": 12, "completion_tokens": len(WORDS),
                                  "total_tokens": 12 + len(WORDS)}}).encode()
    models = json.dumps({"object": "list", "data": [{"id": "bench", "object": "model"}]}).encode()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                body = await reader.readexactly(length) if length else b""
                if head.startswith(b"GET"):
                    writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
                                 + str(len(models)).encode() + b"\r\n\r\n" + models)
                elif b'"stream":true' in body.replace(b" ", b""):
                    writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                                 b"transfer-encoding: chunked\r\n\r\n")
                    for i, piece in enumerate(stream):
                        wait = ttft_s if i == 0 else itl_s if i < len(stream) - 1 else 0.0
                        if wait:
                            await asyncio.sleep(wait)
                        writer.write(piece)
                        await writer.drain()
                else:
                    writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
                                 + str(len(whole)).encode() + b"\r\n\r\n" + whole)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=1024, limit=1 << 24)
        async with server:
            await server.serve_forever()

    _run(main())


def floor_app(port: int) -> None:
    """uvicorn (as inhouse serve runs it: httptools, asyncio's loop, no access log) with a bare ASGI app
    that answers every POST with the same stream from memory: the floor under any Python gateway."""
    import uvicorn

    events = [e.split(b"\r\n", 1)[1][:-2] for e in _sse_reply()[:-1]]  # the events without chunked framing
    headers = [(b"content-type", b"text/event-stream; charset=utf-8"), (b"cache-control", b"no-cache")]

    async def app(scope, receive, send) -> None:
        if scope["type"] != "http":
            return
        while (await receive()).get("more_body"):
            pass
        if scope["method"] == "GET":
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
            await send({"type": "http.response.body", "body": b'{"object":"list","data":[]}'})
            return
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        for event in events:
            await send({"type": "http.response.body", "body": event, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False, interface="asgi3",
                loop="asyncio")


def _run(coro):
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


# ---- processes ----------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen, timeout: float, log: Path) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            said = [ln for ln in log.read_text(errors="replace").splitlines() if ln.strip() and not ln.startswith(" ")]
            raise SystemExit(f"{Path(proc.args[0]).name} exited ({proc.returncode}): {' | '.join(said[-4:])}")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} did not answer within {timeout:.0f} s: {log.read_text()[-1500:]}")


def start(argv: list[str], env: dict, log: Path) -> subprocess.Popen:
    with open(log, "wb") as out:
        return subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT,
                                start_new_session=True)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


# ---- the client workload ------------------------------------------------------------------------
# A lean HTTP/1.1 client (asyncio + httptools' parser, one keep-alive connection per stream), so
# the client's own cost is small next to what it measures: with httpx as the client, at 10
# streams the client process itself was the slowest part and its queueing swamped the figures.
# The timer is here, outside the gateway and the backend.

BODY = {"model": "bench", "stream": True, "max_tokens": 16,
        "messages": [{"role": "system", "content": "You write Python."},
                     {"role": "user", "content": "Write add(a, b)."}]}


def request_bytes(url: str, body: dict) -> tuple[str, int, bytes]:
    from urllib.parse import urlsplit

    u = urlsplit(url)
    data = json.dumps(body).encode()
    head = (f"POST {u.path} HTTP/1.1\r\nhost: {u.netloc}\r\ncontent-type: application/json\r\n"
            f"authorization: Bearer sk-bench\r\ncontent-length: {len(data)}\r\n\r\n")
    return u.hostname, u.port, head.encode() + data


SENT: dict[str, int] = {}      # URL -> requests sent (checked against the ledger's rows)
UNFINISHED: dict[str, int] = {}  # URL -> answers that were not a whole stream (an error status or event)
FIRST_ERROR: dict[str, str] = {}  # URL -> the first such answer's status and last bytes


class Connection(asyncio.Protocol):
    """One keep-alive connection; ``await request(raw)`` -> (seconds to the first body byte, to the last)."""

    def __init__(self) -> None:
        import httptools

        self.parser = httptools.HttpResponseParser(self)
        self.transport = None
        self.waiter: asyncio.Future | None = None
        self.first: float | None = None
        self.status = 0
        self.tail = b""

    @classmethod
    async def open(cls, host: str, port: int) -> "Connection":
        _, conn = await asyncio.get_running_loop().create_connection(cls, host, port)
        return conn

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def connection_lost(self, exc) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError(f"connection closed mid-response: {exc}"))

    def on_headers_complete(self) -> None:
        self.status = self.parser.get_status_code()

    def on_body(self, body: bytes) -> None:
        if self.first is None:
            self.first = time.perf_counter()
        self.tail = (self.tail + body)[-256:]

    def on_message_complete(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(time.perf_counter())

    async def request(self, raw: bytes) -> tuple[float, float]:
        if self.transport.is_closing():
            raise ConnectionError("the server closed this connection")
        self.first, self.tail, self.waiter = None, b"", asyncio.get_running_loop().create_future()
        t0 = time.perf_counter()
        self.transport.write(raw)
        end = await self.waiter
        self.finished = self.status == 200 and b"data: [DONE]" in self.tail  # an error event has none
        return (self.first or end) - t0, end - t0

    def close(self) -> None:
        self.transport.close()


async def streams(url: str, body: dict, concurrency: int, per_stream: int,
                  stagger_s: float = 0.0) -> tuple[list[tuple[float, float]], float]:
    """``concurrency`` streams, each sending ``per_stream`` requests one after another (closed loop,
    as load generators such as wrk or oha count concurrency): their timings and the wall time.

    ``stagger_s``: stream i starts i/concurrency of it late, so streams that all take the same time
    (a paced backend) do not arrive in lockstep, as independent clients would not."""
    host, port, raw = request_bytes(url, body)
    conns = [await Connection.open(host, port) for _ in range(concurrency)]
    out: list[tuple[float, float]] = []

    async def stream(i: int, conn: Connection) -> None:
        if stagger_s:
            await asyncio.sleep(stagger_s * i / concurrency)
        for _ in range(per_stream):
            try:
                timing = await conn.request(raw)
            except ConnectionError as exc:  # counted, and the stream goes on on a new connection
                SENT[url] = SENT.get(url, 0) + 1
                UNFINISHED[url] = UNFINISHED.get(url, 0) + 1
                FIRST_ERROR.setdefault(url, f"connection error: {exc}")
                conn = await Connection.open(host, port)
                conns.append(conn)
                continue
            SENT[url] = SENT.get(url, 0) + 1
            if conn.finished:
                out.append(timing)
            else:  # not timed: an error is not a fast answer
                UNFINISHED[url] = UNFINISHED.get(url, 0) + 1
                FIRST_ERROR.setdefault(url, f"HTTP {conn.status}: {conn.tail[-160:]!r}")

    t0 = time.perf_counter()
    try:
        await asyncio.gather(*(stream(i, c) for i, c in enumerate(conns)))
    finally:
        for c in conns:
            c.close()
    return out, time.perf_counter() - t0


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=1000, method="inclusive")[int(q * 10) - 1]


async def measure(targets: dict[str, tuple[str, dict]], levels: list[int], requests_per_level: int,
                  per_stream: int = 10, stagger_s: float = 0.0) -> dict:
    """Per level: rounds of ``concurrency`` x ``per_stream`` requests, sent to each target (URL,
    body) in turn, the order reversed every other round, so drift on this machine falls on every
    target alike."""
    out: dict = {}
    for url, body in targets.values():  # warm every code path
        await streams(url, body, max(levels), 2)
    for c in levels:
        rounds = max(3, requests_per_level // (c * per_stream))
        samples: dict[str, list] = {name: [] for name in targets}
        walls = {name: 0.0 for name in targets}
        order = list(targets)
        for i in range(rounds):
            for name in (order if i % 2 == 0 else order[::-1]):
                got, wall = await streams(*targets[name], c, per_stream, stagger_s)
                samples[name].extend(got)
                walls[name] += wall
        out[c] = {name: {"n": len(s), "ttfb": [a for a, _ in s], "ttlb": [b for _, b in s],
                         "rps": len(s) / walls[name]} for name, s in samples.items()}
    return out


async def load(url: str, body: dict, n: int, concurrency: int) -> None:
    await streams(url, body, concurrency, max(1, n // concurrency))


async def agent_turns(targets: dict[str, str], reps: int) -> dict:
    """Policy section: per rep, a new agent conversation's first turn, then its next turn (the same
    history and one new message), each sent to every target in turn (order alternating)."""
    import privacy_scan  # this folder: the same typical agent request the scanner benchmark uses

    conns = {name: await Connection.open(*request_bytes(url, {})[:2]) for name, url in targets.items()}
    out = {name: {"first": [], "next": []} for name in targets}
    order = list(targets)
    try:
        for rep in range(reps + 2):  # the first two warm up
            for name in (order if rep % 2 == 0 else order[::-1]):
                tag = f"session {rep} via {name}\n"
                first = privacy_scan.agent_request("openai", tag=tag)
                for message in first["messages"]:  # a new conversation: no message was seen before
                    if isinstance(message.get("content"), str):
                        message["content"] = tag + message["content"]
                first.update(model="bench", stream=True, max_tokens=16)
                turn = dict(first, messages=first["messages"] + [{"role": "user", "content": f"Now run the tests ({rep})."}])
                for key, body in (("first", first), ("next", turn)):
                    ttfb, ttlb = await conns[name].request(request_bytes(targets[name], body)[2])
                    SENT[targets[name]] = SENT.get(targets[name], 0) + 1
                    if not conns[name].finished:
                        UNFINISHED[targets[name]] = UNFINISHED.get(targets[name], 0) + 1
                        FIRST_ERROR.setdefault(targets[name], f"HTTP {conns[name].status}: {conns[name].tail[-160:]!r}")
                        continue
                    if rep >= 2:
                        out[name][key].append((ttfb, ttlb))
    finally:
        for conn in conns.values():
            conn.close()
    return {name: {key: {"n": len(v), "ttfb": [a for a, _ in v], "ttlb": [b for _, b in v]}
                   for key, v in by.items()} for name, by in out.items()}


# ---- report -------------------------------------------------------------------------------------

def ms(x: float) -> str:
    return f"{x * 1000:8.3f}"


def _added(seconds: float) -> str:
    """A gateway cannot make a request faster: a negative difference is queueing noise (at high
    concurrency the direct clients wait on the same fake backend), so it is not printed as a figure."""
    return f"{seconds * 1000:.3f} ms" if seconds >= 0 else "not measurable (direct was slower in this run)"


def report(results: dict, via: list[str], unit: str = "concurrent stream(s)") -> dict:
    summary: dict = {}
    for c, by in results.items():
        first = next(iter(by.values()))
        print(f"\n  {c} {unit}  ({first['n']} requests per target, alternated)")
        print(f"    {'target':<10} {'TTFB p50':>9} {'TTFB p99':>9} {'TTLB p50':>9} {'TTLB p99':>9}   req/s   (ms)")
        for name, r in by.items():
            rps = f"{r['rps']:8.0f}" if "rps" in r else ""
            print(f"    {name:<10} {ms(pct(r['ttfb'], 50))} {ms(pct(r['ttfb'], 99))} {ms(pct(r['ttlb'], 50))} "
                  f"{ms(pct(r['ttlb'], 99))} {rps}")
        d = by["direct"]
        for name in via:
            r = by[name]
            added = {f"{k}_{q}": pct(r[k], q) - pct(d[k], q) for k in ("ttfb", "ttlb") for q in (50, 99)}
            summary.setdefault(c, {})[name] = added
            print(f"    added by {name}: first byte p50 {_added(added['ttfb_50'])}, p99 {_added(added['ttfb_99'])}; "
                  f"last byte p50 {_added(added['ttlb_50'])}, p99 {_added(added['ttlb_99'])}")
        if "inhouse" in summary.get(c, {}) and "litellm" in summary.get(c, {}):
            a, b = summary[c]["inhouse"], summary[c]["litellm"]
            if a["ttfb_50"] > 0 and b["ttfb_50"] > 0:
                print(f"    litellm adds {b['ttfb_50'] / a['ttfb_50']:.1f}x what inhouse adds (first byte p50)")
            else:
                print("    no ratio: one of the added latencies is below the run's noise")
    return summary


def verdict(label: str, value: float, limit: float) -> str:
    return f"{label} {value * 1000:.2f} ms (target <= {limit * 1000:g} ms: {'met' if value <= limit else 'NOT met'})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a short run")
    ap.add_argument("--levels", default="1,10,100", help="concurrent streams [1,10,100]")
    ap.add_argument("--requests", type=int, help="requests per target and level [600; quick 200]")
    ap.add_argument("--ttft-ms", type=float, default=20.0, help="section 1: the backend's time to first token [20]")
    ap.add_argument("--itl-ms", type=float, default=5.0, help="section 1: its time between tokens [5]")
    ap.add_argument("--agent-reps", type=int, help="section 3: agent conversations per target [40; quick 15]")
    ap.add_argument("--rss-requests", type=int, help="requests for the RSS check [10000; quick 2000]")
    ap.add_argument("--sections", default="1,2,3,4", help="which sections to run [1,2,3,4]")
    ap.add_argument("--litellm", default=shutil.which("litellm") or "/work/litellm-venv/bin/litellm",
                    help="LiteLLM proxy executable ('' to skip)")
    ap.add_argument("--fake-backend", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--floor", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.fake_backend:
        return fake_backend(args.fake_backend, args.ttft_ms / 1000, args.itl_ms / 1000)
    if args.floor:
        return floor_app(args.floor)
    import psutil

    sections = {int(x) for x in args.sections.split(",")}
    levels = [int(x) for x in args.levels.split(",")]
    per_level = args.requests or (200 if args.quick else 600)
    reps = args.agent_reps or (15 if args.quick else 40)
    rss_n = args.rss_requests or (2000 if args.quick else 10000)
    tmp = Path(tempfile.mkdtemp(prefix="inhouse-gw-bench-"))
    env = {**os.environ, "INHOUSE_HOME": str(tmp / "home"), "PYTHONUNBUFFERED": "1",
           "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    procs: list[subprocess.Popen] = []

    def launch(name: str, argv: list[str], health: str, timeout: float = 60, extra_env: dict | None = None):
        procs.append(start(argv, {**env, **(extra_env or {})}, tmp / f"{name}.log"))
        wait_http(health, procs[-1], timeout, tmp / f"{name}.log")
        return procs[-1]

    try:
        paced, instant, gport, pport, fport = (free_port() for _ in range(5))
        paced_url, instant_url = f"http://127.0.0.1:{paced}", f"http://127.0.0.1:{instant}"
        launch("paced", [sys.executable, __file__, "--fake-backend", str(paced), "--ttft-ms", str(args.ttft_ms),
                         "--itl-ms", str(args.itl_ms)], paced_url + "/v1/models")
        launch("instant", [sys.executable, __file__, "--fake-backend", str(instant), "--ttft-ms", "0",
                           "--itl-ms", "0"], instant_url + "/v1/models")
        (tmp / "gateway.toml").write_text(
            f'[[backend]]\nname = "paced"\nkind = "openai"\nurl = "{paced_url}"\nmodel = "bench"\n\n'
            f'[[backend]]\nname = "instant"\nkind = "openai"\nurl = "{instant_url}"\nmodel = "bench"\n\n'
            f'[[route]]\nmatch = "paced"\nchain = ["paced"]\n\n[[route]]\nmatch = "*"\nchain = ["instant"]\n')
        gw = launch("gateway", [sys.executable, "-m", "inhouse", "serve", "--config", str(tmp / "gateway.toml"),
                                "--port", str(gport)], f"http://127.0.0.1:{gport}/health")
        gw_url = f"http://127.0.0.1:{gport}/v1/chat/completions"
        paced_body, instant_body = dict(BODY, model="paced"), dict(BODY, model="instant")
        litellm_url, litellm_note = None, None
        if args.litellm and Path(args.litellm).exists() and sections & {1, 2}:
            lport = free_port()
            (tmp / "litellm.yaml").write_text(
                "model_list:\n"
                f"  - model_name: paced\n    litellm_params:\n      model: openai/bench\n      api_base: {paced_url}/v1\n"
                "      api_key: bench\n"
                f"  - model_name: instant\n    litellm_params:\n      model: openai/bench\n      api_base: {instant_url}/v1\n"
                "      api_key: bench\n"
                "litellm_settings:\n  telemetry: false\n")
            try:
                launch("litellm", [args.litellm, "--config", str(tmp / "litellm.yaml"), "--port", str(lport),
                                   "--host", "127.0.0.1", "--num_workers", "1"],
                       f"http://127.0.0.1:{lport}/health/liveliness", 180,
                       {"LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_LOG": "ERROR",
                        "LITELLM_MASTER_KEY": "sk-bench", "LITELLM_TELEMETRY": "False"})
                litellm_url = f"http://127.0.0.1:{lport}/v1/chat/completions"
                version = subprocess.run([str(Path(args.litellm).parent / "python"), "-c",
                                          "import importlib.metadata as m; print(m.version('litellm'))"],
                                         capture_output=True, text=True).stdout.strip()
                litellm_note = f"LiteLLM proxy {version} (1 worker) on the same workloads"
            except SystemExit as exc:
                litellm_note = f"LiteLLM proxy did not start: {str(exc)[:300]}"
        elif sections & {1, 2}:
            litellm_note = (f"LiteLLM proxy not installed ({args.litellm or 'skipped'}); install with "
                            "`python -m venv /work/litellm-venv && /work/litellm-venv/bin/pip install 'litellm[proxy]'`")
        print(f"inhouse serve gateway overhead  (machine: {os.cpu_count()} cores, load average "
              f"{os.getloadavg()[0]:.1f} at start; a busy machine makes these figures noisy)")
        if litellm_note:
            print(litellm_note)
        summary: dict = {}

        if 1 in sections:
            print(f"\n1. Streams like a model's: first token after {args.ttft_ms:g} ms, then one every "
                  f"{args.itl_ms:g} ms ({len(_sse_reply()) - 1} events); the streams start spread over one "
                  "request's time, as independent clients would")
            targets = {"direct": (paced_url + "/v1/chat/completions", BODY), "inhouse": (gw_url, paced_body)}
            if litellm_url:
                targets["litellm"] = (litellm_url, paced_body)
            duration = (args.ttft_ms + args.itl_ms * (len(_sse_reply()) - 3)) / 1000  # one request's
            res = _run(measure(targets, levels, per_level // 2, per_stream=5, stagger_s=duration))
            summary["paced"] = report(res, [t for t in targets if t != "direct"])

        if 2 in sections:
            fp = launch("floor", [sys.executable, __file__, "--floor", str(fport)], f"http://127.0.0.1:{fport}/")
            print("\n2. Saturation: the backend answers at once; each stream sends its next request as soon as the "
                  "last ends\n   (added latency here is queueing: about streams x the gateway's CPU time per request; "
                  "floor = uvicorn streaming from memory)")
            targets = {"direct": (instant_url + "/v1/chat/completions", BODY), "inhouse": (gw_url, instant_body),
                       "floor": (f"http://127.0.0.1:{fport}/v1/chat/completions", BODY)}
            if litellm_url:
                targets["litellm"] = (litellm_url, instant_body)
            res = _run(measure(targets, levels, per_level))
            summary["instant"] = report(res, [t for t in targets if t != "direct"])
            for c, by in res.items():
                print(f"    {c} streams: inhouse relays {by['inhouse']['rps']:.0f} req/s, the floor answers "
                      f"{by['floor']['rps']:.0f} req/s")
            stop(fp)

        if 3 in sections:
            ppx = launch("policy-gateway", [sys.executable, "-m", "inhouse", "serve", "--config",
                                            str(_policy_config(tmp, instant_url)), "--port", str(pport)],
                         f"http://127.0.0.1:{pport}/health")
            print("\n3. Policy on (privacy scan: secrets, markers, patterns, paths): a 20-message agent request "
                  "with 60 KB of tool results")
            res = _run(agent_turns({"direct": instant_url + "/v1/chat/completions",
                                    "inhouse": f"http://127.0.0.1:{pport}/v1/chat/completions"}, reps))
            by_turn = {turn: {name: res[name][turn] for name in res} for turn in ("first", "next")}
            summary["policy"] = report(by_turn, ["inhouse"], unit="turn, 1 stream")
            stop(ppx)

        if 4 in sections:
            proc = psutil.Process(gw.pid)
            _run(load(gw_url, instant_body, 500, 10))  # warm: pools, caches, sessions
            rss1 = proc.memory_info().rss
            steps, wall = [], 0.0
            for _ in range(4):  # in quarters, to show whether it levels off
                t0 = time.perf_counter()
                _run(load(gw_url, instant_body, rss_n // 4, 10))
                wall += time.perf_counter() - t0
                steps.append(proc.memory_info().rss)
            rss2 = steps[-1]
            print(f"\n4. Gateway RSS: {rss1 / 2**20:.1f} MiB after 500 requests of warm-up, then "
                  + ", ".join(f"{r / 2**20:.1f}" for r in steps) + f" MiB after each {rss_n // 4} more "
                  f"(10 streams, {rss_n / wall:.0f} req/s): growth {100 * (rss2 - rss1) / rss1:+.1f}% over {rss_n}")
            summary["rss_growth"] = (rss2 - rss1) / rss1
        stop(gw)  # its ledger writer writes every queued row before the process exits
        import sqlite3

        with sqlite3.connect(tmp / "home" / "inhouse.db") as conn:
            rows = conn.execute("SELECT COUNT(*) FROM gateway_requests").fetchone()[0]
        ours = (f"127.0.0.1:{gport}/", f"127.0.0.1:{pport}/")
        sent = sum(n for url, n in SENT.items() if any(o in url for o in ours))
        print(f"\nledger: {rows} rows for {sent} requests sent through inhouse serve ({sent - rows} lost)")
        if UNFINISHED:
            print("answers that were not a whole stream (not timed): "
                  + "; ".join(f"{url}: {n} of {SENT.get(url)}, first: {FIRST_ERROR.get(url)}"
                              for url, n in UNFINISHED.items()))
            with sqlite3.connect(tmp / "home" / "inhouse.db") as conn:
                for status, error, n in conn.execute(
                        "SELECT http_status, error, COUNT(*) FROM gateway_requests WHERE status NOT IN "
                        "('ok', 'fallback-ok') GROUP BY http_status, error"):
                    print(f"  inhouse ledger: {n} x HTTP {status}: {error}")
        else:
            print("every answer was a whole stream, ending with its end marker")

        print("\nTargets (issue 11: 10 streams, issue 12: policy on):")
        if "paced" in summary and 10 in summary["paced"]:
            a = summary["paced"][10]["inhouse"]
            print("  streams like a model's, 10 streams: " + verdict("first byte p50", a["ttfb_50"], 0.001) + "; "
                  + verdict("p99", a["ttfb_99"], 0.005))
        if "instant" in summary and 10 in summary["instant"]:
            a = summary["instant"][10]["inhouse"]
            print("  saturation, 10 streams: " + verdict("first byte p50", a["ttfb_50"], 0.001) + "; "
                  + verdict("p99", a["ttfb_99"], 0.005))
        if "policy" in summary:
            print("  policy on: " + verdict("first turn p50", summary["policy"]["first"]["inhouse"]["ttfb_50"], 0.020)
                  + "; " + verdict("next turn p50", summary["policy"]["next"]["inhouse"]["ttfb_50"], 0.005))
        if "rss_growth" in summary:
            print(f"  RSS growth over {rss_n} requests {100 * summary['rss_growth']:+.1f}% (target < 10%: "
                  f"{'met' if summary['rss_growth'] < 0.10 else 'NOT met'})")
    finally:
        for p in reversed(procs):
            stop(p)
        shutil.rmtree(tmp, ignore_errors=True)


def _policy_config(tmp: Path, backend_url: str) -> Path:
    """A local backend (private requests may go there) and a cloud one (so every request is scanned)."""
    path = tmp / "policy.toml"
    path.write_text(
        f'[[backend]]\nname = "local"\nkind = "local"\nurl = "{backend_url}"\nmodel = "bench"\n\n'
        f'[[backend]]\nname = "cloud"\nkind = "openai"\nurl = "{backend_url}"\nmodel = "bench"\n\n'
        '[[route]]\nmatch = "*"\nchain = ["local", "cloud"]\n\n'
        "[policy.privacy]\nmarkers = [\"Bluebird\"]\npatterns = ['ACME-\\d{6}']\npaths = [\"~/work/acme/**\"]\n")
    return path


if __name__ == "__main__":
    main()
