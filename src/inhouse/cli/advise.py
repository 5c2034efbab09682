"""``inhouse advise``: the one-command answer for this machine, with one progress bar."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..errors import InhouseError
from ._render import console, echo_json


class _Bar:
    def __init__(self, progress) -> None:
        self.progress = progress
        self.task = progress.add_task("starting", total=0)
        self.total = 0

    def step(self, name: str, units: int) -> None:
        self.total += units
        self.progress.update(self.task, description=name, total=self.total)

    def advance(self, n: int = 1) -> None:
        self.progress.advance(self.task, n)


@click.command()
@click.option("--context", type=click.IntRange(256), default=32768, show_default=True,
              help="The context a model must hold (capped by a model's own).")
@click.option("--budget", help="A memory budget (e.g. 12GiB), or 'auto' for this machine's [default: auto].")
@click.option("--quick/--thorough", default=None,
              help="Quick: 1 candidate, 1 eval task per category, short benches [default: quick on the first run].")
@click.option("--candidates", "max_candidates", type=click.IntRange(1), help="Installed models to measure.")
@click.option("--model", "-m", "models", multiple=True, help="Only this installed model (repeatable; name or path).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), help="Report folder [default: under inhouse's home].")
@click.option("--no-sandbox", "no_sandbox", is_flag=True, help="Run eval code with resource limits only (see `inhouse eval`).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def advise(context, budget, quick, max_candidates, models, out_dir, no_sandbox, as_json) -> None:
    """Which model and settings to run here, how fast and how good, and what should stay on the cloud.

    Every measurement is stored as it finishes; Ctrl-C keeps them and writes a partial report.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from ..advise import AdviseOptions, AdviseResult, run_advise
    from ..advise.report import write_report
    from ..config import home_dir
    from ..plan.budget import parse_size
    from ..store import Store

    budget_bytes = parse_size(budget) if budget and budget != "auto" else None
    err = console(stderr=True)
    with Store.open() as store:
        if quick is None:
            quick = not store.advise_runs()
        options = AdviseOptions(context=context, budget_bytes=budget_bytes, quick=quick,
                                max_candidates=max_candidates, sandbox=not no_sandbox,
                                models=tuple(models))
        result = AdviseResult()
        folder = Path(out_dir) if out_dir else home_dir() / "reports" / result.advise_id
        interrupted = False
        try:
            with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                          console=err, transient=True) as progress:
                run_advise(store, options, reporter=_Bar(progress), result=result)
        except KeyboardInterrupt:
            interrupted = True
        except InhouseError as exc:
            paths = write_report(result.to_dict(), folder, store)
            raise InhouseError(f"{exc} The partial report is in {paths['html'].parent}.") from exc
        paths = write_report(result.to_dict(), folder, store)
    if as_json:
        echo_json({**result.to_dict(), "report": {k: str(v) for k, v in paths.items()}})
    else:
        _print(console(), result.to_dict(), paths)
    if interrupted:
        err.print(f"Interrupted: the steps finished ({', '.join(result.steps_done) or 'none'}) are stored "
                  f"(advise {result.advise_id}); partial report in {paths['html'].parent}.")
        sys.exit(130)


def _print(out, r: dict, paths) -> None:
    rec = r.get("recommendation")
    if rec:
        out.print(f"[bold]Run {rec['name']}[/] ({rec['quant']}) at {rec['n_ctx']} tokens, KV {rec['cache_type']}, "
                  f"flash attention {'on' if rec['flash_attn'] else 'off'}, {rec['threads']} threads, "
                  f"ubatch {rec['n_ubatch']}.")
    gain = (r.get("tuning") or {}).get("gain")
    if gain:
        out.print(f"  vs llama-cpp-python's defaults: a typical turn x{gain['turn_s']:.2f} faster "
                  f"(decode x{gain['decode']:.2f}, prefill x{gain['prefill']:.2f}), measured now")
    for e in r.get("evals", []):
        o = e["overall"]
        out.print(f"  {e['name']}: pass@1 {o['rate'] * 100:.0f}% [95% CI {o['low'] * 100:.0f}-{o['high'] * 100:.0f}] "
                  f"on {o['n']} core tasks (eval {e['eval_id']})")
    for b in r.get("benches", []):
        for x in b["results"]:
            out.print(f"  {b['name']} depth {x['depth']}: prefill {x['prefill_tps']:.1f} tok/s, decode "
                      f"{x['decode_tps']:.1f} tok/s (sweep {b['sweep_id']})")
    local = [p["request"] for p in r.get("policy", []) if p["where"] == "local"]
    if r.get("policy"):
        out.print("  local: " + (", ".join(local) if local else "nothing yet (no category's pass@1 lower bound "
                                                                "reaches 60%)") + "; the rest goes to the cloud")
    out.print(f"Report: {paths['html']}")
