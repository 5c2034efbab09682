"""``inhouse report``: what the store holds (fit, bench, eval runs, the machine probe, the gateway
ledger) as one self-contained HTML file, Markdown and JSON. ``collect`` reads, ``render`` writes."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .collect import ReportData, collect

__all__ = ["ReportData", "ReportFiles", "collect", "render"]


@dataclass
class ReportFiles:
    html: Path
    markdown: Path
    json: Path


def render(data: ReportData, out_dir: Path | str) -> ReportFiles:
    """Write ``report.html``, ``report.md`` and ``report.json`` into ``out_dir`` (created)."""
    from ..errors import InhouseError
    from .html import render_html
    from .markdown import render_markdown

    out = Path(out_dir).expanduser()
    files = ReportFiles(out / "report.html", out / "report.md", out / "report.json")
    try:
        out.mkdir(parents=True, exist_ok=True)
        files.html.write_text(render_html(data), encoding="utf-8")
        files.markdown.write_text(render_markdown(data), encoding="utf-8")
        files.json.write_text(json.dumps(data.to_dict(), indent=2), encoding="utf-8")
    except OSError as exc:
        raise InhouseError(f"Cannot write the report to {out}: {exc}. Pass another folder with --out.") from exc
    return files
