"""Running a suite against an engine: samples, parallel requests, scoring, storing, resuming."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Callable

from ..engines.base import ChatRequest, collect
from ..errors import ContextOverflow, EngineError, EvalError
from ..sandbox import require_isolation
from .score import Score, score
from .tasks import Task

SYSTEM = ("You are a careful Python programmer. When asked for code, answer with one complete ```python "
          "code block and nothing else.")
SYSTEM_TOOLS = ("You are an assistant with tools. Call a tool when it is needed to answer; call several at once "
                "when the request needs several; answer in text when no tool fits.")
SYSTEM_EDIT = ("You are a careful Python programmer changing a project. Answer with every file you change, "
               "each as its path on a line of its own followed by one ```python block holding the whole new "
               "file. Leave out files you do not change.")
SYSTEM_TESTS = ("You are a careful Python programmer writing tests. Answer with one complete ```python block: "
                "a pytest test file that imports the module under test by its name.")


@dataclass
class EvalRun:
    eval_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    rows: list[dict] = field(default_factory=list)
    skipped: int = 0


def request_for(task: Task, max_tokens: int, temperature: float, sample: int,
                thinking: bool | None = None) -> ChatRequest:
    if task.tools:
        messages = [{"role": "system", "content": SYSTEM_TOOLS}, {"role": "user", "content": task.prompt}]
    elif task.category == "structured_output":
        messages = [{"role": "system", "content": "Answer with JSON only."}, {"role": "user", "content": task.prompt}]
    else:
        system = {"edit": SYSTEM_EDIT, "test_writing": SYSTEM_TESTS}.get(task.category, SYSTEM)
        files = "".join(f"\n\n{name}\n```python\n{text.rstrip()}\n```" for name, text in task.files.items())
        messages = [{"role": "system", "content": system}, {"role": "user", "content": task.prompt + files}]
    return ChatRequest(messages=messages, tools=task.tools or None, max_tokens=task.max_tokens or max_tokens,
                       temperature=temperature, seed=sample, thinking=thinking)


def runs_code(task: Task) -> bool:
    """Whether scoring this task executes model-written code (and so needs the sandbox)."""
    return not task.tools and task.category != "structured_output"


def can_pose(engine, task: Task) -> bool:
    """False for a task the engine would skip: tools (or an agent loop) for a model whose chat
    template cannot offer them."""
    return not ((task.tools or task.category == "agentic") and not getattr(engine, "supports_tools", False))


def select_tasks(tasks: list[Task], engine, *, categories: tuple[str, ...] | list[str] = (),
                 limit: int | None = None) -> list[Task]:
    """The tasks a run poses, in suite order: those of ``categories`` (every one when empty);
    with ``limit``, the first ``limit`` of them that ``engine`` can pose, so that a short run
    scores something instead of skipping tasks the model cannot be given (when it can be given
    none of them, the first ``limit``: the run then says why each was skipped)."""
    chosen = [t for t in tasks if not categories or t.category in categories]
    if not chosen:
        asked = f" in categories {', '.join(categories)}" if categories else ""
        known = ", ".join(sorted({t.category for t in tasks}))
        raise EvalError(f"no task{asked}; the suite's categories are: {known}.")
    if limit:
        chosen = ([t for t in chosen if can_pose(engine, t)] or chosen)[:limit]
    return chosen


def tasks_by_id(tasks: list[Task], ids: list[str], eval_id: str) -> list[Task]:
    """The stored selection of run ``eval_id`` from the suite as it is now, in the stored order."""
    by_id = {t.id: t for t in tasks}
    missing = [i for i in ids if i not in by_id]
    if missing:
        raise EvalError(f"run {eval_id} posed task(s) the suite no longer has ({', '.join(missing[:3])}); "
                        "start a new run instead of resuming this one.")
    return [by_id[i] for i in ids]


def evaluate_one(engine, task: Task, sample: int, max_tokens: int, temperature: float,
                 thinking: bool | None = None, isolation: str = "auto") -> tuple[Score, dict]:
    if not can_pose(engine, task):
        return Score("skipped", f"{engine.name} cannot offer tools to this model: its chat template has no "
                                "tools section (a template problem, not the model's failure)"), {}
    if task.category == "agentic":
        from .agent import run_agent

        return run_agent(engine, task, max_tokens=max_tokens, temperature=temperature, seed=sample,
                         thinking=thinking, isolation=isolation)
    req = request_for(task, max_tokens, temperature, sample, thinking)
    try:
        result = collect(engine.generate(req))
    except ContextOverflow as exc:
        return Score("context_overflow", str(exc)), {}
    meta = {"finish_reason": result.finish_reason, "answer": result.text[-2000:],
            "reasoning_chars": len(result.reasoning),
            "reasoning_tokens": result.usage.reasoning_tokens if result.usage else None,
            "completion_tokens": result.usage.completion_tokens if result.usage else None,
            "tool_calls": [{"name": c.name, "arguments": c.arguments} for c in result.tool_calls]}
    return score(task, result, isolation=isolation), meta


def model_sha256(engine, store) -> str | None:
    """The SHA-256 of the GGUF file an in-process engine runs, cached in ``store`` (hashing a
    large file once takes seconds): the identity its runs are stored under. None for a server
    engine (its model id is the identity) and without a store (nothing is stored)."""
    path = getattr(engine, "model_path", None)
    if store is None or not path:
        return None
    from ..models.file_hash import file_sha256

    return file_sha256(path, store)


def run_eval(engine, tasks: list[Task], *, model: str, suite: str, samples: int = 1, max_tokens: int = 512,
             temperature: float | None = None, parallel: int = 1, store=None, resume: str | None = None,
             thinking: bool | None = None, progress: Callable[[], None] | None = None,
             sandbox: bool = True, selection: dict | None = None, eval_id: str | None = None) -> EvalRun:
    """Every task x sample; each scored row is stored at once. With ``resume``, rows already
    stored under that id are kept and skipped. ``parallel`` > 1 sends that many requests at a time
    (for server engines; an in-process engine serializes them anyway). ``selection`` (what the run
    asked for: suite, categories, limit, samples, task ids...) is stored before the first sample
    of a new run, for ``--resume``; ``eval_id`` names a new run (default: a random id).
    Model-written code runs in bubblewrap's sandbox, and without it this raises
    ``SandboxUnavailable`` before any request, unless ``sandbox=False`` (resource limits only;
    every row records the isolation it ran under). With a store, an in-process engine's rows
    record its GGUF's SHA-256 (``model_sha256``): resuming a run on another file raises EvalError."""
    if sandbox and any(runs_code(t) for t in tasks):
        require_isolation()
    isolation = "auto" if sandbox else "rlimits"
    run = EvalRun(eval_id=resume) if resume else (EvalRun(eval_id=eval_id) if eval_id else EvalRun())
    sha = model_sha256(engine, store)
    done = set()
    if resume and store is not None:
        for row in store.eval_results(resume):
            if row.get("model_sha256") and row["model_sha256"] != sha:
                raise EvalError(f"run {resume} was scored on another model file (sha256 {row['model_sha256'][:8]}, "
                                f"now {(sha or 'none')[:8]}): its figures would mix two models. Start a new run.")
            run.rows.append(row)
            done.add((row["task_id"], row["sample"]))
    if store is not None and selection is not None and not resume:
        store.save_eval_run(run.eval_id, {**selection, "model_sha256": sha} if sha else selection)
    temp = (0.0 if samples == 1 else 0.8) if temperature is None else temperature
    todo = [(t, s) for t in tasks for s in range(samples) if (t.id, s) not in done]
    run.skipped = len(tasks) * samples - len(todo)

    def one(task: Task, sample: int) -> dict:
        sc, meta = evaluate_one(engine, task, sample, max_tokens, temp, thinking, isolation)
        return {"model": model, "suite": suite, "task_id": task.id, "category": task.category,
                "difficulty": task.difficulty, "sample": sample, "thinking": thinking, "outcome": sc.outcome,
                "detail": sc.detail, "isolation": sc.isolation, **meta, **({"model_sha256": sha} if sha else {})}

    def record(row: dict) -> None:
        run.rows.append(row)
        if store is not None:
            store.save_eval_result(run.eval_id, row)
        if progress:
            progress()

    if parallel <= 1:
        for task, sample in todo:
            record(one(task, sample))
    else:
        with ThreadPoolExecutor(max_workers=parallel) as pool:
            futures = [pool.submit(one, t, s) for t, s in todo]
            try:
                for fut in as_completed(futures):
                    record(fut.result())
            except BaseException:
                for f in futures:
                    f.cancel()
                raise
    return run


__all__ = ["EngineError", "EvalRun", "can_pose", "model_sha256", "run_eval", "request_for", "select_tasks",
           "tasks_by_id"]
