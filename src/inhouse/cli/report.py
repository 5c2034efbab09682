"""``inhouse report``: render what the store holds, measuring nothing."""

from __future__ import annotations

import click

from ._render import echo_json


@click.command()
@click.option("--out", "out_dir", type=click.Path(file_okay=False), help="Folder for report.html/.md/.json "
              "(default: reports/latest under inhouse's home).")
@click.option("--open", "open_it", is_flag=True, help="Open report.html in the default browser.")
@click.option("--json", "as_json", is_flag=True, help="Print the report's data as JSON (files are written too).")
def report(out_dir, open_it, as_json) -> None:
    """The report of every stored fit, bench and eval run, the machine and the gateway ledger:
    one self-contained HTML file (works offline), Markdown and JSON."""
    from pathlib import Path

    from ..config import home_dir
    from ..report import collect, render
    from ..store import Store

    with Store.open() as store:
        data = collect(store)
    files = render(data, Path(out_dir) if out_dir else home_dir() / "reports" / "latest")
    if as_json:
        echo_json({"files": {"html": str(files.html), "markdown": str(files.markdown), "json": str(files.json)},
                   **data.to_dict()})
    else:
        click.echo(f"Report written to {files.html} (also report.md and report.json)")
        for note in data.notes:
            click.echo(note)
    if open_it:
        import webbrowser

        webbrowser.open(files.html.resolve().as_uri())
