"""``inhouse eval``: run a task suite against a model, score it in the sandbox, report pass@1."""

from __future__ import annotations

import uuid
from pathlib import Path

import click

from ..errors import InhouseError, UnsupportedFeature
from . import interrupted
from ._render import console, echo_json


def _print_summary(out, title: str, summary: dict, rows: list[dict]) -> None:
    o = summary["overall"]
    if o["n"] == 0:
        out.print(f"[bold]{title}[/]: no sample could be scored")
    else:
        out.print(f"[bold]{title}[/]: pass@1 {o['rate'] * 100:.1f}% [95% CI {o['low'] * 100:.1f}-{o['high'] * 100:.1f}] "
                  f"({o['passed']}/{o['n']})")
    for cat, r in summary["categories"].items():
        out.print(f"  {cat:<20} {r['rate'] * 100:5.1f}% [{r['low'] * 100:5.1f}-{r['high'] * 100:5.1f}]  ({r['passed']}/{r['n']})")
    fails = {k: v for k, v in summary["outcomes"].items() if k != "passed"}
    if fails:
        out.print("  failures: " + ", ".join(f"{k} {v}" for k, v in sorted(fails.items(), key=lambda kv: -kv[1])))
    iso = isolation_counts(rows)
    if iso:
        what = ", ".join(f"{k} ({v})" for k, v in iso.items())
        style = "" if set(iso) <= {"bubblewrap"} else "[bold red]"
        out.print(f"  {style}model code ran under: {what}" + ("[/]" if style else ""))
    if summary.get("skipped"):
        why = next((r["detail"] for r in rows if r["outcome"] == "skipped"), "")
        hint = "; --chat-template FILE can give it one" if "tools section" in why else ""
        out.print(f"  [dim]{summary['skipped']} sample(s) skipped: {why}{hint}[/]")


def isolation_counts(rows: list[dict]) -> dict[str, int]:
    """How many samples ran model code under each isolation (bubblewrap, rlimits-only)."""
    out: dict[str, int] = {}
    for r in rows:
        if r.get("isolation"):
            out[r["isolation"]] = out.get(r["isolation"], 0) + 1
    return out


# Options a run's selection is made of: stored with the run, taken from it on --resume.
SELECTION_OPTIONS = {"suite": "--suite", "category": "--category", "limit": "--limit", "samples": "-n",
                     "max_tokens": "--max-tokens", "thinking": "--thinking", "model": "--model",
                     "endpoint": "--endpoint", "chat_template": "--chat-template"}


@click.command("eval")
@click.option("--suite", default="core", show_default=True, help="A built-in suite or a folder of task folders.")
@click.option("--model", "-m", help="Model name (see `inhouse models`) or .gguf path; with --endpoint, the server's model.")
@click.option("--endpoint", help="An OpenAI-compatible server instead of the in-process engine, e.g. http://127.0.0.1:8080.")
@click.option("--api-key", envvar="INHOUSE_API_KEY", help="API key for --endpoint (or INHOUSE_API_KEY).")
@click.option("-n", "samples", type=click.IntRange(1), default=1, show_default=True, help="Samples per task.")
@click.option("--category", multiple=True, help="Only these categories (repeatable).")
@click.option("--limit", type=click.IntRange(1),
              help="Only the first N tasks this model can be posed (tool tasks are left out when its chat "
                   "template has no tools section).")
@click.option("--max-tokens", type=click.IntRange(16), default=512, show_default=True)
@click.option("--chat-template", "chat_template", type=click.Path(exists=True, dir_okay=False),
              help="A Jinja chat template file to use instead of the model's own (in-process; e.g. one with tools).")
@click.option("--thinking", type=click.Choice(["on", "off"]),
              help="Switch the model's reasoning on or off (chat templates with enable_thinking); default: the model's own.")
@click.option("--parallel", type=click.IntRange(1), default=1, show_default=True, help="Requests at a time (server engines).")
@click.option("--resume", metavar="RUN_ID",
              help="Continue an earlier run by its id: the same tasks, samples and model, skipping what it finished.")
@click.option("--check", is_flag=True,
              help="Check the suite's tasks instead of running a model: reference answers pass, doing nothing fails.")
@click.option("--compare", nargs=2, metavar="A B", help="Compare two stored runs by id instead of running.")
@click.option("--no-sandbox", "no_sandbox", is_flag=True,
              help="Run model-written code with resource limits only when bubblewrap is missing (NOT isolated: "
                   "it can read your files and reach the network). Every result records the isolation it ran under.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (summary and every scored sample) instead of text.")
@click.pass_context
def eval_(ctx, suite, model, endpoint, api_key, samples, category, limit, max_tokens, chat_template, thinking,
          parallel, resume, check, compare, no_sandbox, as_json) -> None:
    """Can this model do my coding work? Sandboxed coding tasks and tool calls, scored with
    confidence intervals. Results are stored; --resume continues, --compare A B tests a difference."""
    from ..evals.stats import compare as compare_runs, summarize
    from ..store import Store

    out = console()
    with Store.open() as store:
        if compare:
            a, b = (store.eval_results(x) for x in compare)
            for name, rows in zip(compare, (a, b)):
                if not rows:
                    raise InhouseError(f"no stored eval run {name!r}; ids are printed at the end of each run")
            result = compare_runs(a, b)
            if not result["tasks"]:
                raise InhouseError(f"runs {compare[0]} and {compare[1]} scored no task in common (skipped samples "
                                   "are not scores); compare runs of the same suite")
            if as_json:
                return echo_json({"a": compare[0], "b": compare[1], **result})
            verdict = "a significant difference" if result["significant"] else "no significant difference"
            out.print(f"{compare[0]} vs {compare[1]} on {result['tasks']} tasks both scored: pass {result['a_pass'] * 100:.1f}% "
                      f"-> {result['b_pass'] * 100:.1f}% (difference {result['difference'] * 100:+.1f} points, "
                      f"{result['level'] * 100:.0f}% CI {result['low'] * 100:+.1f} to {result['high'] * 100:+.1f}, a t "
                      f"interval over tasks); B better on {result['b_better']}, worse on {result['b_worse']} tasks; "
                      f"sign test p = {result['p_value']:.3f}: {verdict}.")
            if result["tasks_left_out"]:
                out.print(f"[dim]{result['tasks_left_out']} task(s) left out: not scored by both runs (skipped or "
                          "missing on one side; skipped samples are not failures).[/]")
            return
        from ..engines import open_engine
        from ..evals.run import run_eval, select_tasks, tasks_by_id
        from ..evals.tasks import load_suite

        stored = None
        if resume:
            if check:
                raise InhouseError("--check runs no model and stores nothing; leave out --resume")
            stored = store.eval_run(resume)
            if stored is None and not store.eval_results(resume):
                raise InhouseError(f"no stored eval run {resume!r} to resume; ids are printed at the end of each "
                                   "run (leave out --resume to start a new one)")
            if stored is not None:
                given = {name: value for name, value in (
                    ("suite", suite), ("category", list(category)), ("limit", limit), ("samples", samples),
                    ("max_tokens", max_tokens), ("thinking", thinking), ("model", model), ("endpoint", endpoint),
                    ("chat_template", str(Path(chat_template).resolve()) if chat_template else None))}
                for name, flag in SELECTION_OPTIONS.items():
                    if (ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE
                            and given[name] != stored.get(name)):
                        raise InhouseError(f"run {resume} was started with {flag} {stored.get(name)!r}; leave "
                                           f"{flag} out to resume it as it was, or start a new run")
                suite, category, limit, samples = stored["suite"], tuple(stored["category"]), stored["limit"], \
                    stored["samples"]
                max_tokens, thinking, model, endpoint = (stored["max_tokens"], stored["thinking"], stored["model"],
                                                         stored["endpoint"])
                chat_template = stored.get("chat_template")
        tasks = load_suite(suite)
        if check:
            tasks = select_tasks(tasks, None, categories=category)
            tasks = tasks[:limit] if limit else tasks
            return _check(out, tasks, suite, as_json, no_sandbox)
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        from ..evals.run import runs_code
        from ..sandbox import require_isolation

        if not no_sandbox and any(runs_code(t) for t in tasks if not category or t.category in category):
            require_isolation()  # before a model is loaded
        think = None if thinking is None else thinking == "on"
        if chat_template and not Path(chat_template).is_file():
            raise InhouseError(f"the chat template {chat_template} of run {resume} is gone; start a new run")
        template = Path(chat_template).read_text(encoding="utf-8") if chat_template else None
        with open_engine(model=model, endpoint=endpoint, api_key=api_key, chat_template=template) as engine:
            label = endpoint and f"{model} @ {endpoint}" or engine.model_name
            if think is not None and engine.thinking_switch is False:
                raise UnsupportedFeature(f"{label}'s chat template has no thinking switch (enable_thinking): "
                                         "leave --thinking out for this model.")
            if stored is not None:
                tasks = tasks_by_id(tasks, stored["task_ids"], resume)
            else:
                tasks = select_tasks(tasks, engine, categories=category, limit=limit)
            selection = {"suite": suite, "category": list(category), "limit": limit, "samples": samples,
                         "max_tokens": max_tokens, "thinking": thinking, "model": model, "endpoint": endpoint,
                         "chat_template": str(Path(chat_template).resolve()) if chat_template else None,
                         "model_label": label, "task_ids": [t.id for t in tasks]}
            # the run's id is chosen here, so that Ctrl-C can say where its finished rows are
            run_id = resume or uuid.uuid4().hex[:12]
            try:
                with Progress(TextColumn("eval"), BarColumn(), MofNCompleteColumn(), TextColumn("ETA"),
                              TimeRemainingColumn(), console=console(stderr=True), transient=True) as bar:
                    done = {(r["task_id"], r["sample"]) for r in store.eval_results(resume)} if resume else set()
                    todo = sum((t.id, i) not in done for t in tasks for i in range(samples))
                    task_id = bar.add_task("eval", total=todo)
                    run = run_eval(engine, tasks, model=label, suite=suite, samples=samples, max_tokens=max_tokens,
                                   parallel=parallel, store=store, resume=resume, thinking=think,
                                   progress=lambda: bar.advance(task_id), selection=selection, eval_id=run_id,
                                   sandbox=not no_sandbox)
            except (InhouseError, KeyboardInterrupt) as exc:
                kept = len(store.eval_results(run_id))
                where = f"{kept} sample(s) of run {run_id} are stored; --resume {run_id} continues it."
                if isinstance(exc, KeyboardInterrupt):
                    interrupted(f"Interrupted: {where}")
                raise InhouseError(f"{exc} {where}") from exc
    summary = summarize(run.rows)
    if as_json:
        return echo_json({"eval_id": run.eval_id, "model": label, "suite": suite, "thinking": thinking, **summary,
                          "isolation": isolation_counts(run.rows), "rows": run.rows})
    mode = "" if think is None else f" (thinking {thinking})"
    _print_summary(out, f"{label} on {suite}{mode}", summary, run.rows)
    out.print(f"[dim]run id {run.eval_id} (stored; --resume {run.eval_id} continues it)[/]")


def _check(out, tasks, suite: str, as_json: bool, no_sandbox: bool = False) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from ..evals.check import check_suite
    from ..evals.run import runs_code
    from ..sandbox import require_isolation

    if not no_sandbox and any(runs_code(t) for t in tasks):
        require_isolation()

    with Progress(TextColumn("check"), BarColumn(), MofNCompleteColumn(), console=console(stderr=True),
                  transient=True) as bar:
        bar_id = bar.add_task("check", total=len(tasks))
        problems = check_suite(tasks, progress=lambda: bar.advance(bar_id),
                               isolation="rlimits" if no_sandbox else "auto")
    if as_json:
        echo_json({"suite": suite, "tasks": len(tasks), "problems": [p.__dict__ for p in problems]})
    elif problems:
        for p in problems:
            out.print(f"[red]{p.task_id}[/]: {p.message}")
    else:
        out.print(f"{len(tasks)} task(s) of {suite} checked: every reference answer passes and doing nothing fails.")
    if problems:
        raise SystemExit(1)
