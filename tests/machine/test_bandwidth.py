"""The bandwidth figure: measured when the machine is quiet (or saying it was not), stored with
the spread of its passes and shown with its age."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from inhouse.machine import bandwidth
from inhouse.machine.bandwidth import measure_read_bandwidth, wait_until_quiet
from inhouse.machine.probe import probe_machine, remeasure_bandwidth
from inhouse.store import Store


def test_waits_for_the_machine_to_settle():
    readings = iter([90.0, 70.0, 5.0])
    busy, quiet, _ = wait_until_quiet(10, sample=lambda w: next(readings))
    assert (busy, quiet) == (5.0, True)


def test_says_when_the_machine_stayed_busy():
    calls = []

    def always_busy(window):
        calls.append(window)
        return 95.0

    busy, quiet, waited = wait_until_quiet(0.0, sample=always_busy)
    assert (busy, quiet) == (95.0, False) and len(calls) == 1


def test_the_spread_of_the_passes_is_kept():
    r = measure_read_bandwidth(buffer_bytes=32 * 1024 * 1024, passes=3)
    assert 0 < r.min_bytes_per_s <= r.median_bytes_per_s <= r.max_bytes_per_s == r.bytes_per_s
    assert r.passes == 3


@pytest.fixture
def busy_machine(monkeypatch):
    """The CPU reads 80% busy: the measurement goes ahead without waiting and says so."""
    monkeypatch.setattr(bandwidth, "wait_until_quiet", lambda max_wait_s, sample=None: (80.0, False, max_wait_s))
    monkeypatch.setattr("inhouse.machine.probe._buffer_bytes", lambda available: 32 * 1024 * 1024)


def test_the_spread_and_load_are_stored_and_shown(tmp_path, busy_machine):
    with Store.open(tmp_path / "s.db") as store:
        first = probe_machine(store, usage=False, quiet_wait_s=0)
        second = probe_machine(store, usage=False, quiet_wait_s=0)
    assert not first.bandwidth_cached and second.bandwidth_cached
    d = second.to_dict()["bandwidth"]
    assert d["read_bytes_per_s"] == first.bandwidth_bytes_per_s == d["max_bytes_per_s"]
    assert 0 < d["min_bytes_per_s"] <= d["median_bytes_per_s"] <= d["max_bytes_per_s"]
    assert d["quiet"] is False and d["busy_cpu_percent"] == 80.0 and d["passes"] == 5
    assert 0 <= d["age_s"] < 120


def test_inhouse_machine_shows_age_and_spread(busy_machine):
    from inhouse.cli import cli as main

    runner = CliRunner()
    text = runner.invoke(main, catch_exceptions=False, args=["machine"]).output
    assert "min / median / max" in text and "measured now" in text and "machine busy (CPU 80% busy)" in text
    again = runner.invoke(main, catch_exceptions=False, args=["machine", "--json"])
    assert again.exit_code == 0, again.output
    bw = json.loads(again.output)["bandwidth"]
    assert bw["cached"] and bw["age_s"] is not None and bw["min_bytes_per_s"] <= bw["max_bytes_per_s"]
    assert "just now" in runner.invoke(main, catch_exceptions=False, args=["machine"]).output


def test_a_figure_stored_before_the_spread_existed_still_reads(tmp_path, busy_machine):
    from inhouse.store.migrations import MIGRATIONS

    path = tmp_path / "old.db"
    with Store.open(path, migrations=MIGRATIONS[:3]) as store:
        store.conn.execute("INSERT INTO machines (fingerprint, info_json, bandwidth_bytes_per_s, "
                           "bandwidth_measured_at, updated_at) VALUES ('f', '{}', 3e10, '2026-01-01T00:00:00+00:00', 'x')")
        store.conn.commit()
    with Store.open(path) as store:
        d = store.machine_bandwidth_details("f")
    assert d["bytes_per_s"] == 3e10 and "min_bytes_per_s" not in d


def test_remeasure_keeps_the_higher_figure(tmp_path, busy_machine):
    with Store.open(tmp_path / "s.db") as store:
        info = probe_machine(store, usage=False, quiet_wait_s=0)
        measured = info.bandwidth_bytes_per_s
        info.bandwidth_bytes_per_s = 1e6  # a figure measured while something else ran
        assert remeasure_bandwidth(store, info, quiet_wait_s=0) > 1e6
        assert store.machine_bandwidth_details(info.fingerprint)["bytes_per_s"] == info.bandwidth_bytes_per_s
        info.bandwidth_bytes_per_s = 1e15  # higher than any measurement: kept
        assert remeasure_bandwidth(store, info, quiet_wait_s=0) == 1e15
        assert store.machine_bandwidth_details(info.fingerprint)["bytes_per_s"] < 1e15
    assert measured > 1e6
