"""The ``inhouse`` command line: parses arguments, calls the library, renders the result.

One module per command group. Every ``InhouseError`` becomes one line on stderr and exit code 1;
Ctrl-C, at any moment (llama.cpp loading or decoding included, see ``inhouse.interrupt``), stops
the command, prints "Interrupted." (a command that keeps finished results says which) and exits
130. Nothing here computes a figure: the library does, and the CLI only shows it.
"""

from __future__ import annotations

import sys
from typing import NoReturn

import click

from .. import __version__
from ..errors import InhouseError


EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it


def interrupted(message: str = "Interrupted.") -> NoReturn:
    """End the command after Ctrl-C: one line on stderr, exit 130."""
    click.echo(message, err=True)
    sys.exit(EXIT_INTERRUPTED)


class InhouseGroup(click.Group):
    def make_context(self, *args, **kwargs) -> click.Context:  # type: ignore[override]
        try:
            return super().make_context(*args, **kwargs)
        except KeyboardInterrupt:
            interrupted()

    def invoke(self, ctx: click.Context):  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except InhouseError as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(1)
        except KeyboardInterrupt:
            interrupted()


@click.group(cls=InhouseGroup)
@click.version_option(__version__, prog_name="inhouse")
def cli() -> None:
    """Run coding LLMs on your own machine, and measure what that buys you."""


def _register() -> None:
    from . import advise, bench, chat, evals, fit, machine, models, report, routes, sandbox, scan, serve

    cli.add_command(advise.advise)
    cli.add_command(models.models)
    cli.add_command(chat.chat)
    cli.add_command(machine.machine)
    cli.add_command(fit.fit)
    cli.add_command(bench.bench)
    cli.add_command(sandbox.sandbox)
    cli.add_command(evals.eval_)
    cli.add_command(serve.serve)
    cli.add_command(routes.routes)
    cli.add_command(scan.scan)
    cli.add_command(report.report)


_register()


def main() -> None:
    from .. import interrupt

    interrupt.install()
    cli()
