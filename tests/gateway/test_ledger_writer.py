"""LedgerWriter: rows queued from the event loop are all written by its thread, none lost."""

from __future__ import annotations

import asyncio
import sqlite3
import threading

from inhouse.gateway.ledger import Ledger, LedgerRow
from inhouse.gateway.ledger_writer import LedgerWriter
from inhouse.store import Store


def _row(i: int, **kw) -> LedgerRow:
    return LedgerRow(**{"client_protocol": "openai", "status": "rejected", "requested_model": f"m{i}", "http_status": 400,
                        "duration_s": 0.01, **kw})


def _ids(path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return [r[0] for r in conn.execute("SELECT id FROM gateway_requests")]


def test_every_row_put_from_many_tasks_is_written_by_close(tmp_path):
    with Store.open(tmp_path / "s.db") as store, Ledger(store) as ledger:
        writer = LedgerWriter(ledger)

        async def main():
            async def one(i):
                await asyncio.sleep(0)
                writer.put(_row(i))
            await asyncio.gather(*(one(i) for i in range(2000)))
        asyncio.run(main())
        writer.close()
        assert writer.pending == 0 and writer.errors == 0 and writer.written == 2000
        assert len(set(_ids(tmp_path / "s.db"))) == 2000


def test_a_bad_row_costs_only_itself_and_is_counted(tmp_path):
    with Store.open(tmp_path / "s.db") as store, Ledger(store) as ledger:
        writer = LedgerWriter(ledger, max_batch=50)
        rows = [_row(i) for i in range(30)]
        bad = _row(99, status="no-such-status")
        for r in rows[:15] + [bad] + rows[15:]:
            writer.put(r)
        assert writer.flush(timeout=30)
        assert writer.errors == 1 and "status" in writer.last_error
        assert set(_ids(tmp_path / "s.db")) == {r.id for r in rows}
        writer.close()


def test_puts_racing_close_are_written_too(tmp_path):
    with Store.open(tmp_path / "s.db") as store, Ledger(store) as ledger:
        writer = LedgerWriter(ledger)
        rows = [_row(i) for i in range(400)]
        t = threading.Thread(target=lambda: [writer.put(r) for r in rows])
        t.start()
        writer.close()
        t.join()
        assert set(_ids(tmp_path / "s.db")) == {r.id for r in rows}


def test_convert_runs_in_the_writer_thread(tmp_path):
    with Store.open(tmp_path / "s.db") as store, Ledger(store) as ledger:
        threads = []

        def convert(d):
            threads.append(threading.current_thread().name)
            return _row(0, id=d["id"])
        writer = LedgerWriter(ledger, convert=convert)
        writer.put({"id": "a" * 32})
        writer.close()
        assert threads == ["inhouse-ledger-writer"] and _ids(tmp_path / "s.db") == ["a" * 32]
