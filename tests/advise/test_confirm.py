"""The settings sweep leaves llama-cpp-python's defaults only when a second, alternated pair of
runs confirms the gain (the measuring itself is replaced: this checks the decision)."""

from types import SimpleNamespace

import pytest

from inhouse.advise import run as advise_run
from inhouse.advise.candidates import installed_candidates
from inhouse.advise.run import AdviseOptions, AdviseResult


class _Silent:
    def step(self, name, units):
        pass

    def advance(self, n=1):
        pass


def _tune(monkeypatch, rates):
    """rates(label, call_index) -> (prefill, decode)"""
    calls = []

    def fake_measure(store, info, config, workload, reporter, into=None):
        calls.append(config.label)
        pre, dec = rates(config.label, calls.count(config.label))
        r = SimpleNamespace(prefill_tps=pre, decode_tps=dec)
        if into is not None:
            into.append({"name": config.label, "sweep_id": f"s{len(calls)}", "results": []})
        return SimpleNamespace(results=[r], sweep_id=f"s{len(calls)}")

    monkeypatch.setattr(advise_run, "_measure", fake_measure)
    monkeypatch.setattr("inhouse.machine.cpu.usable_cpus", lambda: 2)
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    cand = next(c for c in installed_candidates(8192, 64 << 30)[0] if c.name == "smollm2-135m-instruct")
    result = AdviseResult()
    advise_run._tune(None, None, AdviseOptions(quick=True), _Silent(), result, cand, 64 << 30,
                     lambda *a: None, lambda *a: None)
    return result.tuning, calls


def test_a_gain_that_holds_is_kept(monkeypatch):
    tuning, calls = _tune(monkeypatch, lambda label, i: (200.0, 80.0) if "t2" in label else (100.0, 40.0))
    assert tuning["best"]["setting"]["threads"] == 2 and tuning["confirm"]["confirmed"]
    assert tuning["gain"]["decode"] == pytest.approx(2.0)


def test_a_gain_that_vanishes_on_the_second_run_keeps_the_defaults(monkeypatch):
    # 2 threads look twice as fast once, then much slower (contention): not confirmed
    def rates(label, i):
        if "t2" in label:
            return (200.0, 80.0) if i == 1 else (50.0, 10.0)
        return (100.0, 40.0)

    tuning, calls = _tune(monkeypatch, rates)
    assert tuning["confirm"]["confirmed"] is False
    assert tuning["best"]["setting"] == tuning["baseline"]
    assert tuning["gain"]["turn_s"] == 1.0
