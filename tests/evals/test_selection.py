"""Which tasks a run poses (--limit), and what an empty run reports (no rate for no samples)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from inhouse.errors import EvalError
from inhouse.evals.run import can_pose, evaluate_one, select_tasks, tasks_by_id
from inhouse.evals.stats import summarize
from inhouse.evals.tasks import load_suite

NO_TOOLS = SimpleNamespace(name="llama_cpp", supports_tools=False)
TOOLS = SimpleNamespace(name="openai", supports_tools=True)


def test_limit_takes_the_first_tasks_the_model_can_be_posed():
    suite = load_suite("core")
    assert not can_pose(NO_TOOLS, suite[0])  # the suite starts with tasks a tool-less model skips
    chosen = select_tasks(suite, NO_TOOLS, limit=2)
    assert len(chosen) == 2
    for task in chosen:  # the truth: evaluate_one would not skip them
        assert can_pose(NO_TOOLS, task)
        assert not (task.tools or task.category == "agentic")
    firsts = [t for t in suite if not (t.tools or t.category == "agentic")][:2]
    assert chosen == firsts
    assert select_tasks(suite, TOOLS, limit=2) == suite[:2]  # a model with tools: the suite's own order


def test_no_limit_keeps_every_task_and_an_all_skipped_category_still_runs():
    suite = load_suite("core")
    assert select_tasks(suite, NO_TOOLS) == suite
    agentic = select_tasks(suite, NO_TOOLS, categories=("agentic",), limit=1)
    assert [t.category for t in agentic] == ["agentic"]  # nothing poseable: the run says why it skipped
    sc, _ = evaluate_one(NO_TOOLS, agentic[0], 0, 16, 0.0)
    assert sc.outcome == "skipped"
    with pytest.raises(EvalError, match="categories are: .*synthesis"):
        select_tasks(suite, NO_TOOLS, categories=("nosuch",))


def test_tasks_by_id_keeps_the_stored_order_and_notices_a_changed_suite():
    suite = load_suite("core")
    ids = [suite[5].id, suite[1].id]
    assert [t.id for t in tasks_by_id(suite, ids, "r1")] == ids
    with pytest.raises(EvalError, match="no longer has"):
        tasks_by_id(suite, ["gone"], "r1")


def test_zero_scored_samples_have_no_rate():
    rows = [{"task_id": "a", "category": "agentic", "sample": 0, "outcome": "skipped"}]
    summary = summarize(rows)
    assert summary["overall"]["n"] == 0 and summary["skipped"] == 1
    assert json.loads(json.dumps(summary))["overall"]["rate"] is None
    assert summary["overall"]["low"] is None and summary["overall"]["high"] is None
    scored = summarize([{"task_id": "a", "category": "x", "sample": 0, "outcome": "passed"}])
    assert scored["overall"]["rate"] == 1.0


def test_store_keeps_a_runs_selection(tmp_path):
    from inhouse.store import Store

    with Store.open(tmp_path / "s.db") as store:
        assert store.eval_run("nope") is None
        store.save_eval_run("r1", {"suite": "core", "limit": 2, "task_ids": ["a", "b"], "model_label": "m"})
        assert store.eval_run("r1")["task_ids"] == ["a", "b"]
        assert "m007_eval_runs" in store.applied_migrations()
