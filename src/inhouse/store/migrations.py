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


def m002_bench_results(conn: sqlite3.Connection) -> None:
    """One row per benchmark result (a configuration at one depth), written as soon as it is
    measured, so an interrupted sweep keeps what it finished."""
    _run(
        conn,
        """
        CREATE TABLE bench_results (
            id INTEGER PRIMARY KEY,
            sweep_id TEXT NOT NULL,
            created_at TEXT NOT NULL,
            machine_fingerprint TEXT,
            model TEXT NOT NULL,
            engine TEXT NOT NULL,
            depth INTEGER NOT NULL,
            decode_tps REAL,
            prefill_tps REAL,
            ttft_warm_s REAL,
            peak_rss_bytes INTEGER,
            settings_json TEXT NOT NULL,
            result_json TEXT NOT NULL
        );
        CREATE INDEX bench_results_sweep ON bench_results(sweep_id);
        CREATE INDEX bench_results_model ON bench_results(model, created_at)
        """
    )


def m003_eval_results(conn: sqlite3.Connection) -> None:
    """One row per scored sample, written as soon as it is scored: --resume skips what is here."""
    _run(
        conn,
        """
        CREATE TABLE eval_results (
            id INTEGER PRIMARY KEY,
            eval_id TEXT NOT NULL,
            created_at TEXT NOT NULL,
            model TEXT NOT NULL,
            suite TEXT NOT NULL,
            task_id TEXT NOT NULL,
            category TEXT NOT NULL,
            sample INTEGER NOT NULL,
            outcome TEXT NOT NULL,
            detail_json TEXT NOT NULL,
            UNIQUE (eval_id, task_id, sample)
        );
        CREATE INDEX eval_results_model ON eval_results(model, created_at)
        """
    )


def m005_bandwidth(conn: sqlite3.Connection) -> None:
    """The bandwidth measurement's spread (min / median / max of its passes) and how busy the
    machine was while it ran, as JSON beside the figure."""
    _run(conn, "ALTER TABLE machines ADD COLUMN bandwidth_json TEXT")


def m006_gguf_header_cache(conn: sqlite3.Connection) -> None:
    """Whole GGUF headers (key/values with the vocabulary as its length, tensor descriptions),
    cached by the file's real path and served only while size, mtime, ctime, inode and device
    still match. Replaces ``models``, which cached only the listing's facts by size and mtime
    (a file replaced by one of equal size and mtime was served stale); its rows are a cache."""
    _run(
        conn,
        """
        CREATE TABLE gguf_headers (
            path TEXT PRIMARY KEY,
            size_bytes INTEGER NOT NULL,
            mtime_ns INTEGER NOT NULL,
            ctime_ns INTEGER NOT NULL,
            inode INTEGER NOT NULL,
            device INTEGER NOT NULL,
            header_json TEXT NOT NULL,
            read_at TEXT NOT NULL
        );
        DROP TABLE models
        """
    )


def m007_eval_runs(conn: sqlite3.Connection) -> None:
    """One row per eval run, written before its first sample: what was asked (suite, categories,
    limit, samples, the chosen task ids...), so --resume continues exactly that selection and an
    unknown id is recognised as unknown."""
    _run(
        conn,
        """
        CREATE TABLE eval_runs (
            eval_id TEXT PRIMARY KEY,
            created_at TEXT NOT NULL,
            model TEXT NOT NULL,
            suite TEXT NOT NULL,
            selection_json TEXT NOT NULL
        )
        """
    )


def m008_facts(conn: sqlite3.Connection) -> None:
    """Small facts worth keeping between commands, by key (e.g. the CPU features the installed
    llama.cpp detects here: asking it means importing llama_cpp, a third of a second)."""
    _run(
        conn,
        """
        CREATE TABLE facts (
            key TEXT PRIMARY KEY,
            value_json TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )
        """
    )


def m010_gateway_ledger(conn: sqlite3.Connection) -> None:
    """The gateway's ledger: one row per request ``inhouse serve`` received, whatever its outcome.
    What was decided and measured, never the prompt or the reply."""
    _run(
        conn,
        """
        CREATE TABLE gateway_requests (
            id TEXT PRIMARY KEY,
            created_at TEXT NOT NULL,
            session TEXT,
            client_protocol TEXT NOT NULL,
            requested_model TEXT,
            route TEXT,
            reasons_json TEXT NOT NULL DEFAULT '[]',
            backend TEXT,
            backend_model TEXT,
            kind TEXT,
            status TEXT NOT NULL,
            http_status INTEGER,
            error TEXT,
            fallbacks_json TEXT NOT NULL DEFAULT '[]',
            prompt_tokens INTEGER,
            completion_tokens INTEGER,
            reasoning_tokens INTEGER,
            tokens_counted TEXT,
            ttft_s REAL,
            duration_s REAL,
            tool_repairs INTEGER NOT NULL DEFAULT 0,
            cost_usd REAL,
            saved_usd REAL
        );
        CREATE INDEX gateway_requests_created ON gateway_requests(created_at);
        CREATE INDEX gateway_requests_backend ON gateway_requests(backend, created_at)
        """
    )


def m012_advise(conn: sqlite3.Connection) -> None:
    """One row per ``inhouse advise`` run, rewritten after every step it finishes (``status``
    running, ok, interrupted or failed), so an interrupted run keeps a partial result; the bench
    and eval rows it measured live in their own tables under the ids it records."""
    _run(
        conn,
        """
        CREATE TABLE advise_runs (
            id TEXT PRIMARY KEY,
            started_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            status TEXT NOT NULL,
            result_json TEXT NOT NULL
        )
        """
    )


def m013_eval_model_sha256(conn: sqlite3.Connection) -> None:
    """The SHA-256 of the GGUF file an eval ran on (the in-process engine), on every scored sample
    and on the run: the gateway's capability rules find a local backend's runs by its file's
    content, so a renamed or moved file keeps its figures and another file of the same name gets
    none. NULL for runs against a server (its model id is the identity) and for older runs."""
    _run(
        conn,
        """
        ALTER TABLE eval_results ADD COLUMN model_sha256 TEXT;
        CREATE INDEX eval_results_sha256 ON eval_results(model_sha256, created_at);
        ALTER TABLE eval_runs ADD COLUMN model_sha256 TEXT
        """
    )


def m014_file_hashes(conn: sqlite3.Connection) -> None:
    """Files' SHA-256 (a multi-GB GGUF takes seconds to hash), cached like ``gguf_headers``: by
    the file's real path, served only while size, mtime, ctime, inode and device still match."""
    _run(
        conn,
        """
        CREATE TABLE file_hashes (
            path TEXT PRIMARY KEY,
            size_bytes INTEGER NOT NULL,
            mtime_ns INTEGER NOT NULL,
            ctime_ns INTEGER NOT NULL,
            inode INTEGER NOT NULL,
            device INTEGER NOT NULL,
            sha256 TEXT NOT NULL,
            hashed_at TEXT NOT NULL
        )
        """
    )


MIGRATIONS: list[Migration] = [m001_initial, m002_bench_results, m003_eval_results, m005_bandwidth,
                               m006_gguf_header_cache, m007_eval_runs, m008_facts,
                               m010_gateway_ledger, m012_advise, m013_eval_model_sha256,
                               m014_file_hashes]
