"""What ``inhouse serve`` adds to a request: the same streaming workload sent straight to a fast fake
backend and through a real ``inhouse serve`` process (and LiteLLM's proxy when it is installed),
alternated round by round.

    python benchmarks/gateway_overhead.py            # 1, 10, 100 concurrent streams; RSS over 10,000 requests
    python benchmarks/gateway_overhead.py --quick    # a short run (fewer rounds, 2,000 requests for RSS)
    python benchmarks/gateway_overhead.py --litellm /work/litellm-venv/bin/litellm

Prints, per concurrency: time to first byte (TTFB) and to last byte (TTLB) at p50/p99 for each target,
the latency the gateway adds (its percentile minus the direct one), requests/s; then the gateway's RSS
before and after N requests (psutil). The fake backend is a separate process (raw asyncio HTTP/1.1,
keep-alive, a fixed 12-chunk OpenAI stream with usage), so its own cost is the same for every target.
The client, the gateway and the backend share this machine's cores: figures on a busy machine are noisy.
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


def fake_backend(port: int) -> None:
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
                    for piece in stream:
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
        server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=1024)
        async with server:
            await server.serve_forever()

    _run(main())


def _run(coro) -> None:
    try:
        import uvloop
        uvloop.run(coro)
    except ImportError:
        asyncio.run(coro)


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

BODY = {"model": "bench", "stream": True, "max_tokens": 16,
        "messages": [{"role": "system", "content": "You write Python."},
                     {"role": "user", "content": "Write add(a, b)."}]}


ERRORS: dict[str, int] = {}


async def one(client, url: str) -> tuple[float, float]:
    """One streamed request; a connection the server closed while idle in the pool is retried once
    (counted in ERRORS, printed)."""
    import httpx

    try:
        return await _one(client, url)
    except (httpx.ReadError, httpx.RemoteProtocolError, httpx.ConnectError) as exc:
        ERRORS[f"{url} {type(exc).__name__}"] = ERRORS.get(f"{url} {type(exc).__name__}", 0) + 1
        return await _one(client, url)


async def _one(client, url: str) -> tuple[float, float]:
    t0 = time.perf_counter()
    first = None
    async with client.stream("POST", url, json=BODY, headers={"authorization": "Bearer sk-bench"}) as r:
        async for chunk in r.aiter_raw():
            if first is None and chunk:
                first = time.perf_counter() - t0
        if r.status_code != 200:
            raise SystemExit(f"{url}: HTTP {r.status_code}")
    return first or 0.0, time.perf_counter() - t0


async def batch(client, url: str, n: int) -> tuple[list[tuple[float, float]], float]:
    t0 = time.perf_counter()
    results = await asyncio.gather(*(one(client, url) for _ in range(n)))
    return list(results), time.perf_counter() - t0


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=1000, method="inclusive")[int(q * 10) - 1]


async def measure(targets: dict[str, str], levels: list[int], requests_per_level: int) -> dict:
    import httpx

    out: dict = {}
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(timeout=60, limits=limits, trust_env=False) as client:
        for name, url in targets.items():  # warm every connection pool and code path
            for _ in range(3):
                await batch(client, url, max(levels))
        for c in levels:
            rounds = max(3, requests_per_level // c)
            samples = {name: [] for name in targets}
            walls = {name: 0.0 for name in targets}
            order = list(targets)
            for i in range(rounds):  # alternated: each round sends the same batch to every target
                for name in (order if i % 2 == 0 else order[::-1]):
                    got, wall = await batch(client, targets[name], c)
                    samples[name].extend(got)
                    walls[name] += wall
            out[c] = {name: {"n": len(s), "ttfb": [a for a, _ in s], "ttlb": [b for _, b in s],
                             "rps": len(s) / walls[name]} for name, s in samples.items()}
    return out


async def load(url: str, n: int, concurrency: int) -> None:
    import httpx

    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=concurrency),
                                 trust_env=False) as client:
        left = n

        async def worker():
            nonlocal left
            while left > 0:
                left -= 1
                await one(client, url)
        await asyncio.gather(*(worker() for _ in range(concurrency)))


# ---- report -------------------------------------------------------------------------------------

def ms(x: float) -> str:
    return f"{x * 1000:8.3f}"


def _added(seconds: float) -> str:
    """A gateway cannot make a request faster: a negative difference is queueing noise (at high
    concurrency the direct clients wait on the same fake backend), so it is not printed as a figure."""
    return f"{seconds * 1000:.3f} ms" if seconds >= 0 else "not measurable (direct was slower in this run)"


def report(results: dict, via: list[str]) -> dict:
    summary: dict = {}
    for c, by in results.items():
        print(f"\n{c} concurrent stream(s)  ({by['direct']['n']} requests per target, alternated)")
        print(f"  {'target':<10} {'TTFB p50':>9} {'TTFB p99':>9} {'TTLB p50':>9} {'TTLB p99':>9}   req/s   (ms)")
        for name, r in by.items():
            print(f"  {name:<10} {ms(pct(r['ttfb'], 50))} {ms(pct(r['ttfb'], 99))} {ms(pct(r['ttlb'], 50))} "
                  f"{ms(pct(r['ttlb'], 99))} {r['rps']:8.0f}")
        d = by["direct"]
        for name in via:
            r = by[name]
            added = {f"{k}_{q}": pct(r[k], q) - pct(d[k], q) for k in ("ttfb", "ttlb") for q in (50, 99)}
            summary.setdefault(c, {})[name] = added
            print(f"  added by {name}: first byte p50 {_added(added['ttfb_50'])}, p99 {_added(added['ttfb_99'])}; "
                  f"last byte p50 {_added(added['ttlb_50'])}, p99 {_added(added['ttlb_99'])}")
        if "inhouse" in summary.get(c, {}) and "litellm" in summary.get(c, {}):
            a, b = summary[c]["inhouse"], summary[c]["litellm"]
            if a["ttlb_50"] > 0 and b["ttlb_50"] > 0:
                print(f"  litellm adds {b['ttlb_50'] / a['ttlb_50']:.1f}x what inhouse adds (last byte p50)")
            else:
                print("  no ratio: one of the added latencies is below the run's noise")
    return summary


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a short run")
    ap.add_argument("--levels", default="1,10,100", help="concurrent streams [1,10,100]")
    ap.add_argument("--requests", type=int, help="requests per target and level [1000; quick 200]")
    ap.add_argument("--rss-requests", type=int, help="requests for the RSS check [10000; quick 2000]")
    ap.add_argument("--litellm", default=shutil.which("litellm") or "/work/litellm-venv/bin/litellm",
                    help="LiteLLM proxy executable ('' to skip)")
    ap.add_argument("--fake-backend", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.fake_backend:
        return fake_backend(args.fake_backend)
    import psutil

    levels = [int(x) for x in args.levels.split(",")]
    per_level = args.requests or (200 if args.quick else 1000)
    rss_n = args.rss_requests or (2000 if args.quick else 10000)
    tmp = Path(tempfile.mkdtemp(prefix="inhouse-gw-bench-"))
    env = {**os.environ, "INHOUSE_HOME": str(tmp / "home"), "PYTHONUNBUFFERED": "1",
           "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    procs: list[subprocess.Popen] = []
    try:
        bport, gport = free_port(), free_port()
        backend = f"http://127.0.0.1:{bport}"
        procs.append(start([sys.executable, __file__, "--fake-backend", str(bport)], env, tmp / "backend.log"))
        wait_http(backend + "/v1/models", procs[-1], 30, tmp / "backend.log")
        (tmp / "gateway.toml").write_text(
            f'[[backend]]\nname = "cloud"\nkind = "openai"\nurl = "{backend}"\nmodel = "bench"\n\n'
            f'[[route]]\nmatch = "*"\nchain = ["cloud"]\n')
        gw = start([sys.executable, "-m", "inhouse", "serve", "--config", str(tmp / "gateway.toml"),
                    "--port", str(gport)], env, tmp / "gateway.log")
        procs.append(gw)
        wait_http(f"http://127.0.0.1:{gport}/health", gw, 60, tmp / "gateway.log")
        targets = {"direct": backend + "/v1/chat/completions",
                   "inhouse": f"http://127.0.0.1:{gport}/v1/chat/completions"}
        litellm_note = None
        if args.litellm and Path(args.litellm).exists():
            lport = free_port()
            (tmp / "litellm.yaml").write_text(
                "model_list:\n  - model_name: bench\n    litellm_params:\n      model: openai/bench\n"
                f"      api_base: {backend}/v1\n      api_key: bench\n"
                "litellm_settings:\n  telemetry: false\n")
            lenv = {**env, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_LOG": "ERROR",
                    "LITELLM_MASTER_KEY": "sk-bench",  # it refuses to start without one
                    "LITELLM_TELEMETRY": "False"}
            procs.append(start([args.litellm, "--config", str(tmp / "litellm.yaml"), "--port", str(lport),
                                "--host", "127.0.0.1", "--num_workers", "1"], lenv, tmp / "litellm.log"))
            try:
                wait_http(f"http://127.0.0.1:{lport}/health/liveliness", procs[-1], 180, tmp / "litellm.log")
                targets["litellm"] = f"http://127.0.0.1:{lport}/v1/chat/completions"
                version = subprocess.run([str(Path(args.litellm).parent / "python"), "-c",
                                          "import importlib.metadata as m; print(m.version('litellm'))"],
                                         capture_output=True, text=True).stdout.strip()
                litellm_note = f"LiteLLM proxy {version} (1 worker) on the same workload"
            except SystemExit as exc:
                litellm_note = f"LiteLLM proxy did not start: {str(exc)[:300]}"
        else:
            litellm_note = (f"LiteLLM proxy not installed ({args.litellm or 'skipped'}); install with "
                            "`python -m venv /work/litellm-venv && /work/litellm-venv/bin/pip install 'litellm[proxy]'`")
        print(f"inhouse serve gateway overhead  (machine: {os.cpu_count()} cores, load average "
              f"{os.getloadavg()[0]:.1f} at start; a busy machine makes these figures noisy)")
        print(litellm_note)
        results = asyncio.run(measure(targets, levels, per_level))
        report(results, [t for t in targets if t != "direct"])

        proc = psutil.Process(gw.pid)
        url = targets["inhouse"]
        rss0 = proc.memory_info().rss
        asyncio.run(load(url, 500, 10))  # warm: pools, caches, sessions
        rss1 = proc.memory_info().rss
        t0 = time.perf_counter()
        asyncio.run(load(url, rss_n, 10))
        wall = time.perf_counter() - t0
        rss2 = proc.memory_info().rss
        print(f"\ngateway RSS: {rss0 / 2**20:.1f} MiB after the runs above, {rss1 / 2**20:.1f} MiB after 500 more, "
              f"{rss2 / 2**20:.1f} MiB after {rss_n} more requests (10 concurrent, {rss_n / wall:.0f} req/s): "
              f"growth {100 * (rss2 - rss1) / rss1:+.1f}%")
        health = json.loads(subprocess.run([sys.executable, "-c", f"import httpx; print(httpx.get("
                                            f"'http://127.0.0.1:{gport}/health').text)"],
                                           capture_output=True, text=True).stdout)
        if ERRORS:
            print("retried once after a connection error: " + "; ".join(f"{k}: {n}" for k, n in ERRORS.items()))
        print(f"ledger: {health.get('ledger_pending')} rows queued, {health.get('ledger_errors')} write errors")
    finally:
        for p in reversed(procs):
            stop(p)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
