"""How the report writes numbers: one formatter per kind of figure, shared by HTML and Markdown
(and by the test that checks every printed number against the store)."""

from __future__ import annotations


def size(n: float | None) -> str:
    """Bytes in binary units: GiB from 1 GiB up, else MiB, else KiB."""
    if n is None:
        return "-"
    n = float(n)
    if n == 0:
        return "0"
    if abs(n) >= 1 << 30:
        return f"{n / (1 << 30):.2f} GiB"
    if abs(n) >= 1 << 20:
        return f"{n / (1 << 20):.1f} MiB"
    return f"{n / 1024:.1f} KiB"


def tps(v: float | None) -> str:
    return "-" if v is None else f"{v:.1f}"


def rate(v: float | None) -> str:
    return "-" if v is None else f"{v * 100:.0f}%"


def usd(v: float | None) -> str:
    return "-" if v is None else f"${v:.2f}"


def secs(v: float | None) -> str:
    return "-" if v is None else f"{v * 1000:.0f} ms" if v < 1 else f"{v:.2f} s"


def tokens(n: float) -> str:
    n = int(n)
    return f"{n // 1024}k" if n >= 1024 and n % 1024 == 0 else str(n)


def bandwidth(v: float | None) -> str:
    return "-" if v is None else f"{v / 1e9:.1f} GB/s"


def count(v: float) -> str:
    return f"{v:g}"
