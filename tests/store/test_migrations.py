from __future__ import annotations

import sqlite3

import pytest

from inhouse.errors import StoreError
from inhouse.store import Store
from inhouse.store.migrations import MIGRATIONS


def test_blank_database_gets_every_migration(tmp_path):
    with Store.open(tmp_path / "s.db") as store:
        assert store.applied_migrations() == [m.__name__ for m in MIGRATIONS]
        tables = {r[0] for r in store.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"machines", "gguf_headers", "runs", "_migrations"} <= tables
    assert "models" not in tables  # the old listing cache, replaced by m006


def test_old_database_gets_only_new_migrations(tmp_path):
    path = tmp_path / "s.db"
    Store.open(path, migrations=MIGRATIONS[:1]).close()

    def m999_add_note(conn):
        conn.execute("ALTER TABLE runs ADD COLUMN note TEXT")

    with Store.open(path, migrations=[*MIGRATIONS, m999_add_note]) as store:
        assert store.applied_migrations()[-1] == "m999_add_note"
        store.conn.execute("SELECT note FROM runs")
    with Store.open(path, migrations=[*MIGRATIONS, m999_add_note]) as store:  # idempotent
        assert store.applied_migrations().count("m999_add_note") == 1


def test_failed_migration_leaves_nothing_half_done(tmp_path):
    def m998_broken(conn):
        conn.execute("CREATE TABLE half (x)")
        raise sqlite3.OperationalError("boom")

    with pytest.raises(StoreError, match="Cannot migrate"):
        Store.open(tmp_path / "s.db", migrations=[*MIGRATIONS, m998_broken])
    with Store.open(tmp_path / "s.db") as store:
        tables = {r[0] for r in store.conn.execute("SELECT name FROM sqlite_master")}
        assert "half" not in tables
        assert "m998_broken" not in store.applied_migrations()


def test_runs_round_trip_and_interrupted_write_leaves_nothing(tmp_path):
    with Store.open(tmp_path / "s.db") as store:
        run_id = store.record_run("chat", started_at="2026-01-01T00:00:00+00:00", status="ok",
                                  model="m", engine="fake", settings={"a": 1}, result={"tps": 3.5})
        runs = store.runs("chat")
        assert [(r["id"], r["settings"], r["result"]) for r in runs] == [(run_id, {"a": 1}, {"tps": 3.5})]
        with pytest.raises(RuntimeError):
            with store.tx() as conn:
                conn.execute("INSERT INTO runs (kind, started_at) VALUES ('x', 'now')")
                raise RuntimeError("interrupted")
        assert store.runs("x") == []


def test_not_a_database(tmp_path):
    p = tmp_path / "s.db"
    p.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError):
        Store.open(p)


def test_parallel_first_opens_of_a_new_store_all_succeed(tmp_path):
    """Three processes opening a store that does not exist yet (three `inhouse eval` started at
    once): each must see every migration applied exactly once, none may fail."""
    import subprocess
    import sys

    path = tmp_path / "new.db"
    code = ("import sys; from inhouse.store import Store; s = Store.open(sys.argv[1]); "
            "print(len(s.applied_migrations())); s.close()")
    for _ in range(3):  # a race is a matter of luck: try a few fresh stores
        path.unlink(missing_ok=True)
        procs = [subprocess.Popen([sys.executable, "-c", code, str(path)], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(4)]
        outs = [p.communicate(timeout=60) for p in procs]
        for p, (out, err) in zip(procs, outs):
            assert p.returncode == 0, err
            assert out.strip() == str(len(MIGRATIONS))
        with Store.open(path) as store:
            assert store.applied_migrations() == [m.__name__ for m in MIGRATIONS]

def test_m006_replaces_the_old_model_cache(tmp_path):
    from inhouse.store.migrations import m006_gguf_header_cache

    path = tmp_path / "s.db"
    before = MIGRATIONS[:MIGRATIONS.index(m006_gguf_header_cache)]
    with Store.open(path, migrations=before) as store:
        store.conn.execute("INSERT INTO models (path, size_bytes, mtime_ns, info_json, scanned_at) "
                           "VALUES ('/m.gguf', 1, 1, '{}', 'now')")
    with Store.open(path) as store:
        assert store.applied_migrations()[-1] == "m006_gguf_header_cache"
        tables = {r[0] for r in store.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert "models" not in tables and "gguf_headers" in tables


def test_gguf_header_cache_serves_only_the_exact_stamp(tmp_path):
    stamp = (10, 20, 30, 40, 50)
    with Store.open(tmp_path / "s.db") as store:
        assert store.cached_gguf_header("/m.gguf", stamp) is None
        store.save_gguf_header("/m.gguf", stamp, {"fields": {"a": 1}})
        assert store.cached_gguf_header("/m.gguf", stamp) == {"fields": {"a": 1}}
        for i in range(5):  # any one part of the stamp differing is a miss
            other = tuple(v + 1 if j == i else v for j, v in enumerate(stamp))
            assert store.cached_gguf_header("/m.gguf", other) is None
        assert store.cached_gguf_header("/other.gguf", stamp) is None
        store.save_gguf_header("/m.gguf", (11, 20, 30, 40, 50), {"fields": {"a": 2}})  # replaces
        assert store.cached_gguf_header("/m.gguf", stamp) is None
        assert store.cached_gguf_header("/m.gguf", (11, 20, 30, 40, 50)) == {"fields": {"a": 2}}
