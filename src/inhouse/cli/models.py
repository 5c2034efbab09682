"""``inhouse models``: every model inhouse can see, read from GGUF headers only."""

from __future__ import annotations

import click

from ._render import console, echo_json, fmt_bytes, fmt_count, print_table


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option(
    "--dir", "dirs", multiple=True, type=click.Path(exists=True, file_okay=False),
    help="Also scan this folder for .gguf files (repeatable; INHOUSE_MODEL_DIRS works too).",
)
def models(as_json: bool, dirs: tuple[str, ...]) -> None:
    """List models: the built-in PyPI models, your folders, Ollama, LM Studio, the HF cache."""
    from pathlib import Path

    from ..config import Settings
    from ..models.discover import list_models
    from ..store import Store

    settings = Settings.load()
    settings.model_dirs += [Path(d) for d in dirs]
    with Store.open() as store:
        found, problems = list_models(settings, store=store)
    if as_json:
        echo_json({"models": [m.to_dict() for m in found], "skipped": problems})
        return
    rows = []
    for m in found:
        template = ("yes+tools" if m.chat_template_supports_tools else "yes") if m.has_chat_template else "no"
        rows.append([m.name, m.architecture, fmt_count(m.parameters), m.quantization, fmt_bytes(m.size_bytes),
                     str(m.context_length or "-"), template, m.source])
    print_table(console(), ["name", "arch", "params", "quant", "size", "ctx", "template", "source"], rows,
                right=("params", "size", "ctx"), optional=("source", "template", "arch"))
    for p in problems:
        console(stderr=True).print(f"[yellow]skipped[/] {p}")
