"""The ``inhouse`` command line: parses arguments, calls the library, renders the result.

One module per command group. Every ``InhouseError`` becomes one line on stderr and exit code 1;
Ctrl-C exits 130. Nothing here computes a figure: the library does, and the CLI only shows it.
"""

from __future__ import annotations

import sys

import click

from .. import __version__
from ..errors import InhouseError


class InhouseGroup(click.Group):
    def invoke(self, ctx: click.Context):  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except InhouseError as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(1)
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            sys.exit(130)


@click.group(cls=InhouseGroup)
@click.version_option(__version__, prog_name="inhouse")
def cli() -> None:
    """Run coding LLMs on your own machine, and measure what that buys you."""


def _register() -> None:
    from . import advise, bench, chat, evals, fit, machine, models, sandbox

    cli.add_command(advise.advise)
    cli.add_command(models.models)
    cli.add_command(chat.chat)
    cli.add_command(machine.machine)
    cli.add_command(fit.fit)
    cli.add_command(bench.bench)
    cli.add_command(sandbox.sandbox)
    cli.add_command(evals.eval_)


_register()


def main() -> None:
    cli()
