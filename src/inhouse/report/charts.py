"""Inline SVG charts, hand-written: no library, no script, no network.

Each chart is one ``<svg>`` with a ``viewBox`` (it scales to its container's width), a
``data-chart`` name, and every mark carrying ``data-value`` (the exact stored figure, ``repr``)
and a ``<title>`` (the tooltip), so a test can compare what is drawn with what is stored.
"""

from __future__ import annotations

import math
from html import escape
from typing import Callable, Sequence

W, H = 480, 300
LEFT, RIGHT, TOP, BOTTOM = 76, 12, 30, 58
PALETTE = ("#2563eb", "#d97706", "#059669", "#db2777", "#7c3aed", "#0891b2", "#65a30d", "#dc2626")

Fmt = Callable[[float], str]


def _num(v: float) -> str:
    return f"{v:.1f}"


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """Round tick values covering [lo, hi]."""
    if hi <= lo:
        hi = lo + 1
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.floor(lo / step) * step
    ticks, t = [], start
    while t <= hi + step * 1e-9:
        ticks.append(round(t, 10))
        t += step
    if ticks[-1] < hi:
        ticks.append(round(t, 10))
    return ticks


class _Frame:
    def __init__(self, name: str, title: str, y_lo: float, y_hi: float, y_fmt: Fmt, y_label: str, x_label: str):
        self.name = name
        self.ticks = nice_ticks(y_lo, y_hi)
        self.y_lo, self.y_hi = self.ticks[0], self.ticks[-1]
        self.parts: list[str] = [
            f'<svg class="chart" data-chart="{escape(name)}" viewBox="0 0 {W} {H}" role="img" '
            f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
            f'<title>{escape(title)}</title>']
        for t in self.ticks:
            y = self.y(t)
            self.parts.append(f'<line class="grid" x1="{LEFT}" x2="{W - RIGHT}" y1="{_num(y)}" y2="{_num(y)}"/>')
            self.parts.append(f'<text class="tick" x="{LEFT - 6}" y="{_num(y + 4)}" text-anchor="end">'
                              f'{escape(y_fmt(t))}</text>')
        self.parts.append(f'<text class="axis" x="4" y="16" text-anchor="start">{escape(y_label)}</text>')
        self.parts.append(f'<text class="axis" x="{LEFT + (W - LEFT - RIGHT) / 2}" y="{H - 8}" '
                          f'text-anchor="middle">{escape(x_label)}</text>')

    def y(self, v: float) -> float:
        span = (self.y_hi - self.y_lo) or 1
        return TOP + (H - TOP - BOTTOM) * (1 - (v - self.y_lo) / span)

    def hline(self, v: float, label: str, cls: str) -> None:
        y = self.y(v)
        self.parts.append(f'<g class="{cls}" data-value="{v!r}"><title>{escape(label)}</title>'
                          f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{_num(y)}" y2="{_num(y)}"/>'
                          f'<text x="{W - RIGHT - 4}" y="{_num(y - 4)}" text-anchor="end">{escape(label)}</text></g>')

    def done(self) -> str:
        return "".join(self.parts) + "</svg>"


def legend(names: Sequence[str], colors: Sequence[str]) -> str:
    """An HTML legend (wraps on narrow screens, unlike text inside the SVG)."""
    items = "".join(f'<li><span class="swatch" style="background:{c}"></span>{escape(n)}</li>'
                    for n, c in zip(names, colors))
    return f'<ul class="legend">{items}</ul>'


def stacked_bars(name: str, title: str, groups: Sequence[str], layers: Sequence[str],
                 values: Sequence[Sequence[float]], *, y_fmt: Fmt, y_label: str, x_label: str,
                 lines: Sequence[tuple[float, str, str]] = (), colors: Sequence[str] = PALETTE) -> str:
    """One bar per group, stacked by layer (``values[group][layer]``); ``lines``: (value, label, css class)."""
    bars = max([sum(v) for v in values] + [1e-9])
    # a line far above the bars (a 24 GiB machine, a 200 MiB model) would flatten them: it is
    # named at the top instead of drawn to scale
    shown = [ln for ln in lines if ln[0] <= 3 * bars]
    off = [ln for ln in lines if ln[0] > 3 * bars]
    top = max([bars * (1.3 if off else 1)] + [v for v, _, _ in shown])
    f = _Frame(name, title, 0, top, y_fmt, y_label, x_label)
    for i, (v, label, cls) in enumerate(off):
        f.parts.append(f'<g class="{cls} offscale" data-value="{v!r}"><title>{escape(label)}</title>'
                       f'<text x="{W - RIGHT - 4}" y="{TOP + 2 + 17 * i}" text-anchor="end">'
                       f'↑ {escape(label)} (above the scale)</text></g>')
    lines = shown
    slot = (W - LEFT - RIGHT) / max(1, len(groups))
    bw = slot * 0.64
    for i, (g, vals) in enumerate(zip(groups, values)):
        x = LEFT + i * slot + (slot - bw) / 2
        base = 0.0
        for layer, v, color in zip(layers, vals, colors):
            y0, y1 = f.y(base), f.y(base + v)
            f.parts.append(f'<rect class="mark" data-group="{escape(g)}" data-layer="{escape(layer)}" data-value="{v!r}" '
                           f'x="{_num(x)}" y="{_num(y1)}" width="{_num(bw)}" height="{_num(max(0.0, y0 - y1))}" '
                           f'fill="{color}"><title>{escape(f"{g}: {layer} {y_fmt(v)}")}</title></rect>')
            base += v
        f.parts.append(f'<text class="tick" x="{_num(x + bw / 2)}" y="{H - BOTTOM + 16}" text-anchor="middle">'
                       f'{escape(g)}</text>')
    for v, label, cls in lines:
        f.hline(v, label, cls)
    return f.done()


def _x_scale(xs: Sequence[float], log: bool):
    lo, hi = min(xs), max(xs)
    if log:
        t = lambda v: math.log2(v + 1)  # noqa: E731  (depth 0 sits at the left edge)
    else:
        t = lambda v: v  # noqa: E731
    a, b = t(lo), t(hi)
    pad = 0.06 * (b - a or 1)
    a, b = a - pad, b + pad
    return lambda v: LEFT + (W - LEFT - RIGHT) * (t(v) - a) / (b - a)


def lines(name: str, title: str, series: Sequence[dict], *, y_fmt: Fmt, x_fmt: Fmt, y_label: str, x_label: str,
          log_x: bool = False, colors: Sequence[str] = PALETTE) -> str:
    """``series``: {"name", "points": [(x, y, low, high)], "dashed": bool}; low/high may be None."""
    pts = [p for s in series for p in s["points"] if p[1] is not None]
    xs = [p[0] for p in pts]
    top = max([p[3] if p[3] is not None else p[1] for p in pts] + [1e-9])
    f = _Frame(name, title, 0, top, y_fmt, y_label, x_label)
    sx = _x_scale(xs or [0, 1], log_x)
    for x in sorted(set(xs)):
        f.parts.append(f'<text class="tick" x="{_num(sx(x))}" y="{H - BOTTOM + 16}" text-anchor="middle">'
                       f'{escape(x_fmt(x))}</text>')
    for s, color in zip(series, colors):
        ps = [p for p in s["points"] if p[1] is not None]
        if not ps:
            continue
        path = " ".join(f"{'M' if i == 0 else 'L'}{_num(sx(x))},{_num(f.y(y))}" for i, (x, y, _, _) in enumerate(ps))
        dash = ' stroke-dasharray="6 4"' if s.get("dashed") else ""
        f.parts.append(f'<path class="line" d="{path}" stroke="{color}"{dash}/>')
        for x, y, lo, hi in ps:
            cx, cy = sx(x), f.y(y)
            if lo is not None and hi is not None:
                f.parts.append(f'<line class="whisker" x1="{_num(cx)}" x2="{_num(cx)}" y1="{_num(f.y(lo))}" '
                               f'y2="{_num(f.y(hi))}" stroke="{color}"/>')
            ci = f" (95% CI {y_fmt(lo)} to {y_fmt(hi)})" if lo is not None and hi is not None else ""
            tip = escape(f"{s['name']} at {x_fmt(x)}: {y_fmt(y)}{ci}")
            f.parts.append(f'<circle class="mark" data-series="{escape(s["name"])}" data-x="{x!r}" data-value="{y!r}" '
                           f'cx="{_num(cx)}" cy="{_num(cy)}" r="{3.5 if not s.get("dashed") else 2.5}" fill="{color}">'
                           f'<title>{tip}</title></circle>')
    return f.done()


def grouped_bars(name: str, title: str, groups: Sequence[str], series: Sequence[dict], *, y_fmt: Fmt,
                 y_label: str, x_label: str, y_max: float | None = None, colors: Sequence[str] = PALETTE) -> str:
    """``series``: {"name", "values": [(value, low, high) or None per group]}; bars with interval whiskers."""
    top = y_max if y_max is not None else max([v[2] for s in series for v in s["values"] if v] + [1e-9])
    f = _Frame(name, title, 0, top, y_fmt, y_label, x_label)
    slot = (W - LEFT - RIGHT) / max(1, len(groups))
    bw = slot * 0.8 / max(1, len(series))
    for gi, g in enumerate(groups):
        f.parts.append(f'<text class="tick" x="{_num(LEFT + gi * slot + slot / 2)}" y="{H - BOTTOM + 16}" '
                       f'text-anchor="end" transform="rotate(-30 {_num(LEFT + gi * slot + slot / 2)} '
                       f'{H - BOTTOM + 16})">{escape(g)}</text>')
        for si, (s, color) in enumerate(zip(series, colors)):
            v = s["values"][gi]
            if v is None:
                continue
            value, lo, hi = v
            x = LEFT + gi * slot + slot * 0.1 + si * bw
            y = f.y(value)
            tip = escape(f"{s['name']}, {g}: {y_fmt(value)} (95% CI {y_fmt(lo)} to {y_fmt(hi)})")
            f.parts.append(f'<rect class="mark" data-group="{escape(g)}" data-series="{escape(s["name"])}" '
                           f'data-value="{value!r}" x="{_num(x)}" y="{_num(y)}" width="{_num(bw * 0.9)}" '
                           f'height="{_num(max(0.0, f.y(0) - y))}" fill="{color}"><title>{tip}</title></rect>')
            cx = x + bw * 0.45
            f.parts.append(f'<line class="whisker" x1="{_num(cx)}" x2="{_num(cx)}" y1="{_num(f.y(lo))}" '
                           f'y2="{_num(f.y(hi))}"/>')
    return f.done()


def scatter(name: str, title: str, points: Sequence[dict], *, x_fmt: Fmt, y_fmt: Fmt, r_fmt: Fmt, x_label: str,
            y_label: str, y_max: float = 1.0) -> str:
    """``points``: {"label", "x", "y", "r" (area-scaled size, may be None), "marked"}."""
    f = _Frame(name, title, 0, y_max, y_fmt, y_label, x_label)
    xs = [p["x"] for p in points]
    sx = _x_scale([0.0] + [x * 1.25 for x in xs], False)
    for t in nice_ticks(0, max(xs + [1e-9]), 4):
        if sx(t) <= W - RIGHT:
            f.parts.append(f'<text class="tick" x="{_num(sx(t))}" y="{H - BOTTOM + 16}" text-anchor="middle">'
                           f'{escape(x_fmt(t))}</text>')
    rmax = max([p["r"] or 0 for p in points] + [1])
    for i, p in enumerate(points):
        radius = 5 + 13 * math.sqrt((p["r"] or 0) / rmax)
        cx, cy = sx(p["x"]), f.y(p["y"])
        cls = "mark marked" if p.get("marked") else "mark"
        color = PALETTE[i % len(PALETTE)]
        tip = escape(f"{p['label']}: {y_fmt(p['y'])}, {x_fmt(p['x'])}, {r_fmt(p['r'])}")
        f.parts.append(f'<circle class="{cls}" data-label="{escape(p["label"])}" data-value="{p["y"]!r}" '
                       f'data-x="{p["x"]!r}" cx="{_num(cx)}" cy="{_num(cy)}" r="{_num(radius)}" fill="{color}">'
                       f'<title>{tip}</title></circle>')
        if p.get("marked"):
            above = cy - radius - 6 > TOP + 12
            ty = cy - radius - 6 if above else cy + radius + 16
            f.parts.append(f'<text class="callout" x="{_num(cx)}" y="{_num(ty)}" text-anchor="middle">'
                           f'★ recommended</text>')
    return f.done()
