"""Open the store, apply migrations, and read and write its rows.

One connection per ``Store``; every write happens in one transaction (``with store.tx():``), so an
interrupted run leaves either the whole row or nothing.
"""

from __future__ import annotations

import datetime as _dt
import json
import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from ..errors import StoreError
from .migrations import MIGRATIONS, Migration


def now_iso() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def _wal(conn: sqlite3.Connection, wait_s: float = 30.0) -> None:
    """Switch to write-ahead logging. SQLite answers "database is locked" to this pragma at once,
    without waiting, while another process is creating the same new store: retry for a while."""
    import time

    deadline = time.monotonic() + wait_s
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


class Store:
    """The inhouse SQLite database.

    >>> with Store.open() as store:
    ...     store.applied_migrations()
    ['m001_initial']
    """

    def __init__(self, conn: sqlite3.Connection, path: Path | None) -> None:
        self.conn = conn
        self.path = path

    @classmethod
    def open(
        cls, path: Path | str | None = None, migrations: list[Migration] | None = None
    ) -> "Store":
        if path is None:
            from ..config import store_path

            path = store_path()
        path = Path(path)
        try:
            conn = sqlite3.connect(path, timeout=30, isolation_level=None)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA foreign_keys = ON")
            _wal(conn)
        except sqlite3.Error as exc:
            raise StoreError(
                f"Cannot open the store at {path}: {exc}. "
                "Check the folder is writable, or set INHOUSE_HOME to another folder."
            ) from exc
        store = cls(conn, path)
        store.migrate(MIGRATIONS if migrations is None else migrations)
        return store

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise StoreError(f"Cannot write to the store at {self.path}: {exc}") from exc
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        else:
            self.conn.execute("COMMIT")

    # -- migrations ---------------------------------------------------------------------------

    def migrate(self, migrations: list[Migration]) -> list[str]:
        """Apply the migrations not yet recorded, in order; returns the names applied now."""
        try:
            self.conn.execute(
                "CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
            )
            done = set(self.applied_migrations())
            applied = []
            for migration in migrations:
                name = migration.__name__
                if name in done:
                    continue
                with self.tx() as conn:
                    # Another process may have applied it since we looked: decide inside the lock.
                    if conn.execute("SELECT 1 FROM _migrations WHERE name = ?", (name,)).fetchone():
                        continue
                    migration(conn)
                    conn.execute(
                        "INSERT INTO _migrations (name, applied_at) VALUES (?, ?)", (name, now_iso())
                    )
                applied.append(name)
            return applied
        except sqlite3.DatabaseError as exc:
            raise StoreError(
                f"Cannot migrate the store at {self.path}: {exc}. "
                "If the file is not an inhouse store, move it away or set INHOUSE_HOME."
            ) from exc

    def applied_migrations(self) -> list[str]:
        rows = self.conn.execute("SELECT name FROM _migrations ORDER BY rowid").fetchall()
        return [r["name"] for r in rows]

    # -- facts --------------------------------------------------------------------------------

    def fact(self, key: str) -> Any:
        row = self.conn.execute("SELECT value_json FROM facts WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else None

    def save_fact(self, key: str, value: Any) -> None:
        with self.tx() as conn:
            conn.execute("INSERT OR REPLACE INTO facts (key, value_json, updated_at) VALUES (?, ?, ?)",
                         (key, json.dumps(value), now_iso()))

    # -- machines -----------------------------------------------------------------------------

    def machine_bandwidth(self, fingerprint: str) -> tuple[float, str] | None:
        row = self.conn.execute(
            "SELECT bandwidth_bytes_per_s, bandwidth_measured_at FROM machines WHERE fingerprint = ?",
            (fingerprint,),
        ).fetchone()
        if row is None or row["bandwidth_bytes_per_s"] is None:
            return None
        return float(row["bandwidth_bytes_per_s"]), row["bandwidth_measured_at"]

    def machine_bandwidth_details(self, fingerprint: str) -> dict[str, Any] | None:
        """The stored bandwidth measurement: the figure, when it was measured, and its details
        (spread of the passes, how busy the machine was) where they were stored."""
        row = self.conn.execute(
            "SELECT bandwidth_bytes_per_s, bandwidth_measured_at, bandwidth_json FROM machines WHERE fingerprint = ?",
            (fingerprint,),
        ).fetchone()
        if row is None or row["bandwidth_bytes_per_s"] is None:
            return None
        details = json.loads(row["bandwidth_json"]) if row["bandwidth_json"] else {}
        return {**details, "bytes_per_s": float(row["bandwidth_bytes_per_s"]),
                "measured_at": row["bandwidth_measured_at"]}

    def save_machine(
        self, fingerprint: str, info: dict[str, Any], bandwidth: float | None = None,
        bandwidth_details: dict[str, Any] | None = None,
    ) -> int:
        with self.tx() as conn:
            conn.execute(
                """INSERT INTO machines (fingerprint, info_json, updated_at) VALUES (?, ?, ?)
                   ON CONFLICT(fingerprint) DO UPDATE SET info_json = excluded.info_json,
                   updated_at = excluded.updated_at""",
                (fingerprint, json.dumps(info), now_iso()),
            )
            if bandwidth is not None:
                conn.execute(
                    """UPDATE machines SET bandwidth_bytes_per_s = ?, bandwidth_measured_at = ?,
                       bandwidth_json = ? WHERE fingerprint = ?""",
                    (bandwidth, now_iso(), json.dumps(bandwidth_details) if bandwidth_details else None,
                     fingerprint),
                )
            row = conn.execute(
                "SELECT id FROM machines WHERE fingerprint = ?", (fingerprint,)
            ).fetchone()
        return int(row["id"])

    # -- GGUF headers -------------------------------------------------------------------------

    def cached_gguf_header(self, path: str, stamp: tuple[int, int, int, int, int]) -> dict[str, Any] | None:
        """The header cached for ``path`` if it was read from the file version ``stamp``
        (size, mtime_ns, ctime_ns, inode, device); ``None`` otherwise."""
        row = self.conn.execute(
            "SELECT size_bytes, mtime_ns, ctime_ns, inode, device, header_json FROM gguf_headers WHERE path = ?",
            (path,),
        ).fetchone()
        if row is None or tuple(row)[:5] != tuple(stamp):
            return None
        return json.loads(row["header_json"])

    def save_gguf_header(self, path: str, stamp: tuple[int, int, int, int, int], header: dict[str, Any]) -> None:
        size, mtime_ns, ctime_ns, inode, device = stamp
        with self.tx() as conn:
            conn.execute(
                """INSERT INTO gguf_headers (path, size_bytes, mtime_ns, ctime_ns, inode, device, header_json,
                   read_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT(path) DO UPDATE SET size_bytes = excluded.size_bytes,
                   mtime_ns = excluded.mtime_ns, ctime_ns = excluded.ctime_ns, inode = excluded.inode,
                   device = excluded.device, header_json = excluded.header_json, read_at = excluded.read_at""",
                (path, size, mtime_ns, ctime_ns, inode, device, json.dumps(header), now_iso()),
            )

    # -- file hashes ---------------------------------------------------------------------------

    def cached_file_hash(self, path: str, stamp: tuple[int, int, int, int, int]) -> str | None:
        """The SHA-256 cached for ``path`` if it was hashed from the file version ``stamp``
        (size, mtime_ns, ctime_ns, inode, device); ``None`` otherwise."""
        row = self.conn.execute(
            "SELECT size_bytes, mtime_ns, ctime_ns, inode, device, sha256 FROM file_hashes WHERE path = ?",
            (path,),
        ).fetchone()
        if row is None or tuple(row)[:5] != tuple(stamp):
            return None
        return str(row["sha256"])

    def save_file_hash(self, path: str, stamp: tuple[int, int, int, int, int], sha256: str) -> None:
        size, mtime_ns, ctime_ns, inode, device = stamp
        with self.tx() as conn:
            conn.execute(
                """INSERT INTO file_hashes (path, size_bytes, mtime_ns, ctime_ns, inode, device, sha256, hashed_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT(path) DO UPDATE SET size_bytes = excluded.size_bytes,
                   mtime_ns = excluded.mtime_ns, ctime_ns = excluded.ctime_ns, inode = excluded.inode,
                   device = excluded.device, sha256 = excluded.sha256, hashed_at = excluded.hashed_at""",
                (path, size, mtime_ns, ctime_ns, inode, device, sha256, now_iso()),
            )

    # -- runs ---------------------------------------------------------------------------------

    def record_run(
        self,
        kind: str,
        *,
        started_at: str,
        status: str,
        model: str | None = None,
        engine: str | None = None,
        settings: dict[str, Any] | None = None,
        result: dict[str, Any] | None = None,
        machine_id: int | None = None,
    ) -> int:
        """Write one finished run, whole, in one transaction."""
        with self.tx() as conn:
            cur = conn.execute(
                """INSERT INTO runs (kind, started_at, finished_at, status, machine_id, model,
                   engine, settings_json, result_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (
                    kind,
                    started_at,
                    now_iso(),
                    status,
                    machine_id,
                    model,
                    engine,
                    json.dumps(settings or {}),
                    json.dumps(result) if result is not None else None,
                ),
            )
            return int(cur.lastrowid)

    def runs(self, kind: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT * FROM runs"
        args: tuple = ()
        if kind:
            sql += " WHERE kind = ?"
            args = (kind,)
        rows = self.conn.execute(sql + " ORDER BY id", args).fetchall()
        out = []
        for r in rows:
            d = dict(r)
            d["settings"] = json.loads(d.pop("settings_json"))
            rj = d.pop("result_json")
            d["result"] = json.loads(rj) if rj else None
            out.append(d)
        return out

    def save_bench_result(self, sweep_id: str, result: dict[str, Any], machine_fingerprint: str | None = None) -> int:
        """Store one benchmark result at once, in its own transaction."""
        with self.tx() as conn:
            cur = conn.execute(
                """INSERT INTO bench_results (sweep_id, created_at, machine_fingerprint, model, engine, depth,
                   decode_tps, prefill_tps, ttft_warm_s, peak_rss_bytes, settings_json, result_json)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (sweep_id, now_iso(), machine_fingerprint, result["label"], result["engine"], result["depth"],
                 result.get("decode_tps"), result.get("prefill_tps"), result.get("ttft_warm_s"),
                 result.get("peak_rss_bytes"), json.dumps(result.get("settings", {})), json.dumps(result)),
            )
            return int(cur.lastrowid)

    def bench_results(self, sweep_id: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT sweep_id, created_at, result_json FROM bench_results"
        args: tuple = ()
        if sweep_id:
            sql += " WHERE sweep_id = ?"
            args = (sweep_id,)
        rows = self.conn.execute(sql + " ORDER BY id", args).fetchall()
        return [{"sweep_id": r[0], "created_at": r[1], **json.loads(r[2])} for r in rows]

    def save_eval_result(self, eval_id: str, row: dict[str, Any]) -> None:
        with self.tx() as conn:
            conn.execute(
                """INSERT OR REPLACE INTO eval_results (eval_id, created_at, model, suite, task_id, category,
                   sample, outcome, detail_json, model_sha256) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (eval_id, now_iso(), row["model"], row["suite"], row["task_id"], row["category"], row["sample"],
                 row["outcome"], json.dumps(row), row.get("model_sha256")),
            )

    def eval_results(self, eval_id: str) -> list[dict[str, Any]]:
        rows = self.conn.execute("SELECT detail_json FROM eval_results WHERE eval_id = ? ORDER BY id",
                                 (eval_id,)).fetchall()
        return [json.loads(r[0]) for r in rows]

    def save_eval_run(self, eval_id: str, selection: dict[str, Any]) -> None:
        """What an eval run asked for, stored once before its first sample."""
        with self.tx() as conn:
            conn.execute(
                """INSERT INTO eval_runs (eval_id, created_at, model, suite, selection_json, model_sha256)
                   VALUES (?, ?, ?, ?, ?, ?)""",
                (eval_id, now_iso(), str(selection.get("model_label") or ""), str(selection.get("suite") or ""),
                 json.dumps(selection), selection.get("model_sha256")),
            )

    def eval_run(self, eval_id: str) -> dict[str, Any] | None:
        """The selection stored for ``eval_id``, or None for a run stored before selections were."""
        row = self.conn.execute("SELECT selection_json FROM eval_runs WHERE eval_id = ?", (eval_id,)).fetchone()
        return json.loads(row[0]) if row else None

    # -- advise -------------------------------------------------------------------------------

    def save_advise(self, advise_id: str, started_at: str, status: str, result: dict[str, Any]) -> None:
        """Write (or rewrite) one advise run's result so far, in its own transaction."""
        with self.tx() as conn:
            conn.execute(
                """INSERT INTO advise_runs (id, started_at, updated_at, status, result_json) VALUES (?, ?, ?, ?, ?)
                   ON CONFLICT(id) DO UPDATE SET updated_at = excluded.updated_at, status = excluded.status,
                   result_json = excluded.result_json""",
                (advise_id, started_at, now_iso(), status, json.dumps(result)),
            )

    def advise_runs(self) -> list[dict[str, Any]]:
        rows = self.conn.execute("SELECT id, started_at, updated_at, status, result_json FROM advise_runs "
                                 "ORDER BY started_at, rowid").fetchall()
        return [{"id": r[0], "started_at": r[1], "updated_at": r[2], "status": r[3], "result": json.loads(r[4])}
                for r in rows]
