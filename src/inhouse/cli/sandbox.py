"""``inhouse sandbox``: run untrusted (model-written) Python the way ``inhouse eval`` does."""

from __future__ import annotations

import sys

import click

from ._render import console, echo_json


@click.group()
def sandbox() -> None:
    """Run model-written code isolated: no network, a fresh working directory, secrets hidden."""


@sandbox.command("run")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--timeout", type=click.FloatRange(0.1), default=10.0, show_default=True,
              help="Wall-clock seconds, stretched on machines slower than a recent laptop.")
@click.option("--memory", default="1GiB", show_default=True, help="Address-space limit.")
@click.option("--cpu", type=click.IntRange(1), default=10, show_default=True, help="CPU seconds.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def run(file, timeout, memory, cpu, as_json) -> None:
    """Run FILE.py in the sandbox and report status (ok, error, timeout, killed), exit code,
    duration and its output (cut to a limit). Exits 0 only when the program succeeded."""
    from ..plan.budget import parse_size
    from ..sandbox import SandboxLimits, run_program

    limits = SandboxLimits(wall_s=timeout, cpu_s=cpu, memory_bytes=parse_size(memory))
    result = run_program(file, limits)
    err = console(stderr=True)
    for warning in result.warnings:
        err.print(f"[bold red]WARNING[/]: {warning}")
    if as_json:
        echo_json(result.to_dict())
        sys.exit(0 if result.status == "ok" else 1)
    if result.stdout:
        click.echo(result.stdout, nl=not result.stdout.endswith("\n"))
    if result.stderr:
        click.echo(result.stderr, nl=not result.stderr.endswith("\n"), err=True)
    why = f" ({result.reason})" if result.reason else ""
    err.print(f"[dim]sandbox: {result.status}{why}, exit code {result.exit_code}, {result.duration_s:.3f} s, "
              f"isolation {result.isolation}"
              + (", output truncated" if result.stdout_truncated or result.stderr_truncated else "") + "[/]")
    sys.exit(0 if result.status == "ok" else 1)
