"""A store filled by real, short runs on the embedded SmolLM2 (machine probe, fit, bench, eval),
plus gateway ledger rows written through the gateway's ledger. Built once per session: the runs take a minute or two here."""

from __future__ import annotations

import shutil

import pytest

LEDGER_ROWS = [  # (id, created_at, kind, status, cost_usd, saved_usd)
    ("r1", "2026-11-20T09:00:00.000000+00:00", "local", "ok", 0.012, 0.012),
    ("r2", "2026-11-20T10:00:00.000000+00:00", "cloud", "ok", 0.030, None),
    ("r3", "2026-11-21T09:00:00.000000+00:00", "local", "ok", 0.020, 0.020),
    ("r4", "2026-11-21T11:00:00.000000+00:00", "local", "fallback-ok", 0.005, 0.005),
    ("r5", "2026-11-22T08:00:00.000000+00:00", "cloud", "ok", 0.041, None),
]


def add_ledger(store) -> None:
    """Rows written through the gateway's own ledger, as `inhouse serve` writes them."""
    from inhouse.gateway.ledger import Ledger, LedgerRow

    with Ledger(store) as ledger:
        for rid, at, kind, status, cost, saved in LEDGER_ROWS:
            fallbacks = [{"backend": "cloud", "reason": "refused"}] if status == "fallback-ok" else []
            ledger.write(LedgerRow(client_protocol="openai", status=status, id=rid, created_at=at, backend=kind,
                                   kind=kind, cost_usd=cost, saved_usd=saved, fallbacks=fallbacks))


@pytest.fixture(scope="session")
def filled_store(tmp_path_factory):
    from inhouse.bench.config import BenchConfig, Workload
    from inhouse.bench.run import run_sweep
    from inhouse.engines import open_engine
    from inhouse.evals.run import run_eval
    from inhouse.evals.tasks import load_suite
    from inhouse.machine.probe import probe_machine
    from inhouse.models.discover import resolve_model
    from inhouse.plan.estimate import estimate
    from inhouse.plan.record import record_fit
    from inhouse.plan.settings import LoadSettings
    from inhouse.plan.target import resolve_target
    from inhouse.store import Store

    path = tmp_path_factory.mktemp("report-store") / "inhouse.db"
    store = Store.open(path)
    info = probe_machine(store, usage=False)
    target = resolve_target(None, store=store)
    settings = LoadSettings(n_ctx=2048)
    record_fit(store, target, settings, estimate(target.spec, settings), ref=None)
    model = resolve_model(None)
    run_sweep([BenchConfig(model=str(model.path), label=model.name)],
              Workload(depths=(0, 256), prompt_tokens=16, gen_tokens=4, reps=2, warmup=0),
              store=store, machine_fingerprint=info.fingerprint, bandwidth=info.bandwidth_bytes_per_s)
    tasks = load_suite("core")
    picked = [t for t in tasks if t.category == "tool_calling"][:2] + [t for t in tasks if t.category == "structured_output"][:1]
    if shutil.which("bwrap"):
        picked += [t for t in tasks if t.category == "synthesis"][:1]
    with open_engine(model=None) as engine:
        run_eval(engine, picked, model=engine.model_name, suite="core", max_tokens=48, store=store)
    add_ledger(store)
    yield store
    store.close()
