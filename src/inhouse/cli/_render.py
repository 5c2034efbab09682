"""Shared rendering helpers: byte sizes, JSON output, consoles."""

from __future__ import annotations

import json
from typing import Any

import click


def fmt_bytes(n: int | float | None) -> str:
    """Bytes in binary units, consistently: TiB from 1 TiB up, GiB from 1 GiB, else MiB, else KiB."""
    if n is None:
        return "-"
    n = float(n)
    if n == 0:
        return "0 B"
    if abs(n) >= 1 << 40:
        return f"{n / (1 << 40):,.2f} TiB"
    if abs(n) >= 1 << 30:
        return f"{n / (1 << 30):.2f} GiB"
    if abs(n) >= 1 << 20:
        return f"{n / (1 << 20):.1f} MiB"
    return f"{n / 1024:.1f} KiB"


def fmt_count(n: int | None) -> str:
    if n is None:
        return "-"
    for unit, size in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= size:
            return f"{n / size:.2f}{unit}"
    return str(n)


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2))


def console(stderr: bool = False):
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=True)


def print_table(out, columns: list[str], rows: list[list[str]], *, right: tuple[str, ...] = (),
                optional: tuple[str, ...] = (), note: str = "--json has every column") -> None:
    """A plain table whose cells are never cut or wrapped: a cut number is a wrong number and a
    cut name is one you cannot type. When the terminal is too narrow, the ``optional`` columns
    are left out, in that order, and a dim line says which; if it is still too narrow, lines run
    past the edge rather than break a cell."""
    from rich.markup import escape
    from rich.table import Table

    def width(cols: list[str]) -> int:
        idx = [columns.index(c) for c in cols]
        return sum(max([len(c)] + [len(r[i]) for r in rows]) for c, i in zip(cols, idx)) + 2 * (len(cols) - 1)

    shown = list(columns)
    dropped = []
    for col in optional:
        if width(shown) <= out.width:
            break
        shown.remove(col)
        dropped.append(col)
    table = Table(box=None, pad_edge=False, padding=(0, 1), header_style="bold")
    for col in shown:
        table.add_column(col, justify="right" if col in right else "left", no_wrap=True)
    for r in rows:
        table.add_row(*(escape(r[columns.index(c)]) for c in shown))
    needed = width(shown)
    if needed > out.width:  # too narrow even so: never squeeze a cell, let the lines run long
        from rich.console import Console

        out = Console(file=out.file, width=needed, highlight=False, soft_wrap=True,
                      color_system=out.color_system and "auto", force_terminal=out.is_terminal)
    out.print(table)
    if dropped:
        out.print(f"[dim](narrow terminal: {', '.join(dropped)} left out; {note})[/]")
