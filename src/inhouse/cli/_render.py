"""Shared rendering helpers: byte sizes, JSON output, consoles."""

from __future__ import annotations

import json
from typing import Any

import click


def fmt_bytes(n: int | float | None) -> str:
    """Bytes in binary units, consistently: GiB from 1 GiB up, else MiB, else KiB."""
    if n is None:
        return "-"
    n = float(n)
    if n == 0:
        return "0 B"
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
