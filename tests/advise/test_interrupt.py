"""Ctrl-C during a real `inhouse advise` process: every finished measurement stays stored and a
partial report is written whose figures equal the stored ones."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest


def _bench_rows(db: Path) -> list[dict]:
    if not db.exists():
        return []
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            return [json.loads(r[0]) for r in conn.execute("SELECT result_json FROM bench_results ORDER BY id")]
    except sqlite3.OperationalError:  # not migrated yet
        return []


@pytest.mark.timeout(600)
def test_sigint_keeps_measurements_and_writes_a_partial_report(isolated_home, tmp_path):
    out = tmp_path / "report"
    db = isolated_home / "inhouse.db"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    proc = subprocess.Popen([sys.executable, "-m", "inhouse", "advise", "--quick", "-m", "smollm2-135m-instruct",
                             "--budget", "4GiB", "--out", str(out)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 480
        while not _bench_rows(db):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "no bench result was stored in time"
            time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, stderr
    assert "Interrupted" in stderr
    stored = _bench_rows(db)
    assert stored
    with sqlite3.connect(db) as conn:
        (status, result_json), = conn.execute("SELECT status, result_json FROM advise_runs").fetchall()
    assert status == "interrupted"
    result = json.loads(result_json)
    assert result["partial"] is True and {"machine", "candidates"} <= set(result["steps_done"])
    assert "recommendation" not in result["steps_done"]
    report = json.loads((out / "report.json").read_text())
    assert report["advice"]["id"] == result["advise_id"] and report["advice"]["partial"] is True
    assert "Partial report" in (out / "report.md").read_text()
    assert (out / "report.html").read_text().lower().startswith("<!doctype html>")
    # each bench figure in the report equals the stored row of the same depth and label
    by_key = {(r["label"], r["depth"]): r for r in stored}
    shown = [(series["label"], p) for series in report["bench"] for p in series["points"]]
    assert len(shown) == len(stored)
    for label, point in shown:
        truth = by_key[(label, point["depth"])]
        for key in ("decode_tps", "prefill_tps", "ttft_warm_s", "peak_rss_bytes"):
            assert point[key] == truth[key], key
