"""The gateway ledger: rows written whole from many threads, summaries checked against the rows."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from inhouse.errors import ConfigError, StoreError
from inhouse.gateway.ledger import SERVED, Ledger, LedgerRow, parse_since
from inhouse.store import Store

UTC = dt.timezone.utc


@pytest.fixture
def ledger(tmp_path):
    with Store.open(tmp_path / "s.db") as store, Ledger(store) as led:
        yield led


def ok_row(**kw) -> LedgerRow:
    base = dict(client_protocol="anthropic", status="ok", requested_model="claude-sonnet-4", route="claude-*",
                reasons=["route claude-* matched"], backend="local", backend_model="smollm2", kind="local",
                http_status=200, prompt_tokens=10, completion_tokens=5, tokens_counted="backend",
                ttft_s=0.1, duration_s=0.5, cost_usd=0.002, saved_usd=0.002)
    base.update(kw)
    return LedgerRow(**base)


def test_a_row_round_trips_through_explain_without_content_columns(ledger, tmp_path):
    row = ok_row(fallbacks=[], reasons=["route claude-* matched", {"policy": "private repo"}])
    rid = ledger.write(row)
    got = ledger.explain(rid)
    assert got["reasons"] == ["route claude-* matched", {"policy": "private repo"}]
    assert got["backend"] == "local" and got["prompt_tokens"] == 10 and got["saved_usd"] == 0.002
    assert ledger.explain(rid[:8])["id"] == rid  # a unique prefix will do
    columns = {r[1] for r in sqlite3.connect(tmp_path / "s.db").execute("PRAGMA table_info(gateway_requests)")}
    assert not columns & {"prompt", "messages", "content", "reply", "body"}


def test_created_at_is_stored_in_one_utc_form_whatever_was_given(ledger):
    a = ledger.write(ok_row(created_at="2026-03-01T10:00:00+02:00"))
    b = ledger.write(ok_row(created_at=dt.datetime(2026, 3, 1, 8, 30, tzinfo=UTC)))
    assert ledger.explain(a)["created_at"] == "2026-03-01T08:00:00.000000+00:00"
    assert [r["id"] for r in ledger.recent(5)] == [b, a]
    since = dt.datetime(2026, 3, 1, 10, 15, tzinfo=dt.timezone(dt.timedelta(hours=2)))  # 08:15 UTC
    assert ledger.summary(since)["requests"] == 1


@pytest.mark.parametrize("kw, needle", [
    (dict(status="fine"), "status"),
    (dict(client_protocol="grpc"), "client_protocol"),
    (dict(prompt_tokens=-1), "prompt_tokens"),
    (dict(reasoning_tokens=9, completion_tokens=5), "reasoning_tokens"),
    (dict(ttft_s=2.0, duration_s=1.0), "ttft_s"),
    (dict(duration_s=float("nan")), "duration_s"),
    (dict(saved_usd=0.01, cost_usd=0.002), "saved_usd"),
    (dict(kind="cloud", saved_usd=0.002), "saved_usd"),
    (dict(tokens_counted=None), "tokens_counted"),
    (dict(tokens_counted="guess"), "tokens_counted"),
    (dict(status="fallback-ok"), "fallbacks"),
    (dict(backend=None), "backend"),
    (dict(http_status=42), "http_status"),
])
def test_impossible_rows_are_refused_and_nothing_is_written(ledger, kw, needle):
    with pytest.raises(StoreError, match=needle):
        ledger.write(ok_row(**kw))
    assert ledger.summary()["requests"] == 0


def test_errors_are_kept_to_one_short_line(ledger):
    rid = ledger.write(ok_row(status="error", error="upstream said no\nTraceback...\n" , saved_usd=None))
    assert ledger.explain(rid)["error"] == "upstream said no"
    rid = ledger.write(ok_row(status="error", error="x" * 5000, saved_usd=None))
    assert len(ledger.explain(rid)["error"]) == 500


def test_explain_unknown_short_and_ambiguous_ids(ledger):
    with pytest.raises(StoreError, match="No gateway request"):
        ledger.explain("0123456789abcdef")
    with pytest.raises(StoreError, match="too short"):
        ledger.explain("abc")
    ledger.write(ok_row(id="abcdef01" + "0" * 24))
    ledger.write(ok_row(id="abcdef02" + "0" * 24))
    with pytest.raises(StoreError, match="several"):
        ledger.explain("abcdef0")


def test_100_concurrent_writes_from_threads_none_lost(ledger):
    barrier = threading.Barrier(100)

    def write(i):
        barrier.wait()  # all 100 start writing at the same moment
        return ledger.write(ok_row(session=f"s{i}", prompt_tokens=i))

    with ThreadPoolExecutor(max_workers=100) as pool:
        ids = list(pool.map(write, range(100)))
    assert len(set(ids)) == 100
    s = ledger.summary()
    assert s["requests"] == 100
    assert s["prompt_tokens"] == sum(range(100))
    assert {r["id"] for r in ledger.recent(1000)} == set(ids)


def test_100_writes_via_asyncio_to_thread_none_lost(ledger):
    async def main():
        return await asyncio.gather(*(asyncio.to_thread(ledger.write, ok_row(prompt_tokens=i)) for i in range(100)))

    ids = asyncio.run(main())
    assert len(set(ids)) == 100 and ledger.summary()["requests"] == 100


def test_writes_from_another_process_and_this_one_interleave(tmp_path):
    """The CLI reads, a second gateway writes: one store file, separate connections."""
    import subprocess
    import sys

    path = tmp_path / "s.db"
    Store.open(path).close()
    code = ("import sys; from inhouse.store import Store; from inhouse.gateway.ledger import Ledger, LedgerRow\n"
            "led = Ledger(Store.open(sys.argv[1]))\n"
            "for i in range(50): led.write(LedgerRow(client_protocol='openai', status='rejected', http_status=400))\n")
    proc = subprocess.Popen([sys.executable, "-c", code, str(path)])
    with Store.open(path) as store, Ledger(store) as led:
        for _ in range(50):
            led.write(ok_row())
        assert proc.wait(timeout=60) == 0
        s = led.summary()
    assert (s["requests"], s["rejected"], s["served"]) == (100, 50, 50)


def test_ledger_needs_a_migrated_store_on_disk(tmp_path):
    with Store.open(":memory:") as store:
        with pytest.raises(StoreError, match="on disk"):
            Ledger(store)
    with Store.open(tmp_path / "old.db", migrations=[]) as store:
        with pytest.raises(StoreError, match="migrations"):
            Ledger(store)


def _random_rows(n: int, seed: int) -> list[LedgerRow]:
    rng = random.Random(seed)
    start = dt.datetime(2026, 1, 1, tzinfo=UTC)
    rows = []
    for i in range(n):
        status = rng.choice(["ok", "ok", "fallback-ok", "error", "rejected", "client-closed"])
        backend = None if status == "rejected" else rng.choice(["local", "cloud", "lms"])
        kind = None if backend is None else ("cloud" if backend == "cloud" else "local")
        fallbacks = [{"backend": b, "reason": rng.choice(["429", "connect refused"])}
                     for b in rng.sample(["cloud", "lms", "ollama"], rng.randint(1, 2))] \
            if status == "fallback-ok" or (status == "error" and rng.random() < 0.5) else []
        counted = rng.choice(["backend", "local tokenizer", None]) if backend else None
        prompt = rng.randint(0, 5000) if counted else None
        completion = rng.randint(0, 800) if counted else None
        reasoning = rng.randint(0, completion) if counted and rng.random() < 0.3 else None
        cost = round(rng.uniform(0, 0.1), 6) if counted and rng.random() < 0.8 else None
        duration = rng.uniform(0.01, 20) if backend else rng.uniform(0, 0.01)
        ttft = rng.uniform(0, duration) if status in SERVED else None
        rows.append(LedgerRow(
            client_protocol=rng.choice(["openai", "anthropic"]), status=status,
            created_at=start + dt.timedelta(hours=i * 7), requested_model="claude-x", route="*",
            reasons=["default"], backend=backend, backend_model=backend, kind=kind, http_status=200,
            fallbacks=fallbacks, prompt_tokens=prompt, completion_tokens=completion, reasoning_tokens=reasoning,
            tokens_counted=counted, ttft_s=ttft, duration_s=duration, tool_repairs=rng.randint(0, 2),
            cost_usd=cost, saved_usd=cost if kind == "local" and cost is not None else None))
    return rows


def test_summary_matches_a_plain_count_of_the_rows(ledger):
    """Every figure of the summary, recomputed here in plain Python from the rows written."""
    import statistics

    rows = _random_rows(300, seed=11)
    for r in rows:
        ledger.write(r)
    since = dt.datetime(2026, 2, 1, tzinfo=UTC)
    for cut in (None, since):
        sel = [r for r in rows if cut is None or r.created_at >= cut]
        served = [r for r in sel if r.status in SERVED]
        s = ledger.summary(cut)
        assert s["requests"] == len(sel) and 0 < len(sel)
        assert s["served"] == len(served)
        assert s["kept_local"] == sum(r.kind == "local" for r in served)
        assert s["kept_local_share"] == pytest.approx(s["kept_local"] / len(served))
        assert 0 <= s["kept_local_share"] <= 1
        assert s["fallbacks"] == sum(bool(r.fallbacks) for r in sel)
        assert s["failures"] == sum(r.status == "error" for r in sel)
        assert s["rejected"] == sum(r.status == "rejected" for r in sel)
        assert s["client_closed"] == sum(r.status == "client-closed" for r in sel)
        assert s["prompt_tokens"] == sum(r.prompt_tokens or 0 for r in sel)
        assert s["completion_tokens"] == sum(r.completion_tokens or 0 for r in sel)
        assert s["reasoning_tokens"] == sum(r.reasoning_tokens or 0 for r in sel)
        assert s["tool_repairs"] == sum(r.tool_repairs for r in sel)
        assert s["tokens_counted_locally"] == sum(r.tokens_counted == "local tokenizer" for r in sel)
        assert s["tokens_not_counted"] == sum(r.tokens_counted is None for r in served)
        assert s["saved_usd"] == pytest.approx(sum(r.saved_usd or 0 for r in served))
        assert any(r.saved_usd for r in sel if r.status not in SERVED)  # a failed local request saves nothing
        assert s["kept_local_unpriced"] == sum(r.kind == "local" and r.cost_usd is None for r in served)
        assert s["cloud_cost_usd"] == pytest.approx(sum(r.cost_usd or 0 for r in served if r.kind == "cloud"))
        for name in ("local", "cloud", "lms", "ollama"):
            b = s["backends"][name]
            mine = [r for r in sel if r.backend == name]
            assert b["requests"] == len(mine)
            assert b["served"] == sum(r.status in SERVED for r in mine)
            assert b["failures"] == sum(r.status == "error" for r in mine)
            assert b["skipped"] == sum(f["backend"] == name for r in sel for f in r.fallbacks)
            assert b["saved_usd"] == pytest.approx(sum(r.saved_usd or 0 for r in mine if r.status in SERVED))
            ttfts = [r.ttft_s for r in mine if r.status in SERVED]
            assert b["ttft_p50_s"] == (pytest.approx(statistics.median(ttfts)) if ttfts else None)
        assert s["backends"]["ollama"]["requests"] == 0  # only ever skipped


def test_summary_of_an_empty_ledger_has_no_share(ledger):
    s = ledger.summary()
    assert s["requests"] == 0 and s["kept_local_share"] is None and s["backends"] == {}


def test_parse_since():
    now = dt.datetime(2026, 5, 10, 15, 30, tzinfo=UTC)
    assert parse_since("all", now) is None
    assert parse_since("today", now) == dt.datetime(2026, 5, 10, tzinfo=UTC)
    assert parse_since("7d", now) == dt.datetime(2026, 5, 3, 15, 30, tzinfo=UTC)
    assert parse_since("24h", now) == dt.datetime(2026, 5, 9, 15, 30, tzinfo=UTC)
    for bad in ("yesterday", "0d", "7w", ""):
        with pytest.raises(ConfigError, match="--since"):
            parse_since(bad, now)
