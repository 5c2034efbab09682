"""Privacy scanning cost per request (issue 12): a typical agent request and its next turn.

A typical agent request: 20 messages (system prompt, user turns, assistant tool calls, tool
results) carrying 60 KB of tool results (real Python source read from this package). First turn:
a fresh scanner sees every message. Next turn: the same history plus one new message, on the
scanner that has seen the history (agents resend the whole conversation each turn). Prints p50
and p99 in ms over --reps repetitions per protocol. Targets: first <= 20 ms p50, next <= 5 ms p50.

    python benchmarks/privacy_scan.py [--reps 50]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from inhouse.gateway.privacy import PrivacyRules, Scanner

RULES = {"markers": ["Bluebird"], "patterns": [r"ACME-\d{6}"], "paths": ["~/work/acme/**"]}


def tool_results(total: int = 60_000, n: int = 6) -> list[str]:
    src = Path(__file__).resolve().parents[1] / "src" / "inhouse"
    text = "".join(p.read_text() for p in sorted(src.rglob("*.py")))
    per = total // n
    return [text[i * per:(i + 1) * per] for i in range(n)]


def agent_request(protocol: str, tag: str = "") -> dict:
    results = tool_results()
    system = ("You are a coding agent.\nWorking directory: /home/dev/projects/shop\nPlatform: linux\n" + tag)
    msgs: list[dict] = [] if protocol == "anthropic" else [{"role": "system", "content": system}]
    msgs.append({"role": "user", "content": "The checkout total is off by one cent; find and fix it."})
    for i, res in enumerate(results):
        args = {"path": f"/home/dev/projects/shop/src/module_{i}.py"}
        if protocol == "openai":
            msgs.append({"role": "assistant", "content": f"Reading file {i}.", "tool_calls": [
                {"id": f"call_{i}", "type": "function", "function": {"name": "read_file", "arguments": json.dumps(args)}}]})
            msgs.append({"role": "tool", "tool_call_id": f"call_{i}", "content": res})
        else:
            msgs.append({"role": "assistant", "content": [{"type": "text", "text": f"Reading file {i}."},
                         {"type": "tool_use", "id": f"toolu_{i}", "name": "read_file", "input": args}]})
            msgs.append({"role": "user", "content": [{"type": "tool_result", "tool_use_id": f"toolu_{i}",
                                                      "content": [{"type": "text", "text": res}]}]})
        msgs.append({"role": "user" if protocol == "openai" else "assistant", "content": f"Noted step {i}."}
                    if protocol == "openai" else {"role": "assistant", "content": f"Noted step {i}."})
    while len(msgs) < 20:
        msgs.append({"role": "user", "content": "Keep going."})
    body = {"model": "claude-sonnet-4-5" if protocol == "anthropic" else "gpt-4o", "messages": msgs[:20],
            "tools": [{"name": "read_file", "description": "Read a file", "input_schema": {"type": "object"}}]}
    if protocol == "anthropic":
        body["system"] = system
        body["max_tokens"] = 1024
    return body


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=50)
    args = ap.parse_args()
    rules = PrivacyRules.from_config(RULES)
    Scanner(rules).scan_request("openai", {"messages": [{"role": "user", "content": "warm up"}]})
    for protocol in ("openai", "anthropic"):
        first, nxt = [], []
        for rep in range(args.reps):
            body = agent_request(protocol, tag=f"session {rep}\n")  # a new session: nothing cached
            size = sum(len(json.dumps(m)) for m in body["messages"])
            sc = Scanner(rules)
            t0 = time.perf_counter()
            r1 = sc.scan_request(protocol, body)
            first.append(time.perf_counter() - t0)
            turn = dict(body, messages=body["messages"] + [{"role": "user", "content": f"Now run the tests ({rep})."}])
            t0 = time.perf_counter()
            r2 = sc.scan_request(protocol, turn)
            nxt.append(time.perf_counter() - t0)
            assert not r1.error and not r2.error, (r1.error, r2.error)
        print(f"{protocol:9s} {len(body['messages'])} messages, {size / 1000:.0f} kB: "
              f"first turn p50 {statistics.median(first) * 1e3:.1f} ms p99 {pct(first, 0.99) * 1e3:.1f} ms | "
              f"next turn p50 {statistics.median(nxt) * 1e3:.2f} ms p99 {pct(nxt, 0.99) * 1e3:.2f} ms "
              f"(private: {r1.private}, {args.reps} reps)")


if __name__ == "__main__":
    main()
