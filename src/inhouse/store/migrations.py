"""Ordered, named schema migrations.

Each migration is a small function ``mNNN_name(conn)``; the list order is the apply order and the
names are recorded in ``_migrations``. Never edit a migration that has shipped: add a new one.
"""

from __future__ import annotations

import sqlite3
from typing import Callable

Migration = Callable[[sqlite3.Connection], None]


def _run(conn: sqlite3.Connection, script: str) -> None:
    # executescript() would COMMIT the migration's transaction half-way: run statements one by one.
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)


def m001_initial(conn: sqlite3.Connection) -> None:
    _run(
        conn,
        """
        CREATE TABLE machines (
            id INTEGER PRIMARY KEY,
            fingerprint TEXT NOT NULL UNIQUE,
            info_json TEXT NOT NULL,
            bandwidth_bytes_per_s REAL,
            bandwidth_measured_at TEXT,
            updated_at TEXT NOT NULL
        );
        CREATE TABLE models (
            id INTEGER PRIMARY KEY,
            path TEXT NOT NULL UNIQUE,
            size_bytes INTEGER NOT NULL,
            mtime_ns INTEGER NOT NULL,
            info_json TEXT NOT NULL,
            scanned_at TEXT NOT NULL
        );
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            status TEXT NOT NULL DEFAULT 'running',
            machine_id INTEGER REFERENCES machines(id),
            model TEXT,
            engine TEXT,
            settings_json TEXT NOT NULL DEFAULT '{}',
            result_json TEXT
        );
        CREATE INDEX runs_kind ON runs(kind, started_at);
        """
    )


MIGRATIONS: list[Migration] = [m001_initial]
