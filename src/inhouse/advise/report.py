"""Writing the advise result as a report folder: ``report.json``, ``report.md``, ``report.html``.

With a store, the report is ``inhouse.report``'s (every stored figure, the charts, and this run's
recommendation, commands and policy). Without one, a plain report from the advise result alone:
the same figures as stored, no charts, no network requests (inline CSS only).
"""

from __future__ import annotations

import html
import json
from pathlib import Path


def write_report(result: dict, out_dir: Path, store=None) -> dict[str, Path]:
    """Write the report files; returns their paths by format."""
    out_dir.mkdir(parents=True, exist_ok=True)
    if store is not None:  # the full report: every stored figure, charts, this run's advice
        from ..report import render
        from ..report.collect import collect

        files = render(collect(store, advise_id=result["advise_id"]), out_dir)
        return {"json": files.json, "md": files.markdown, "html": files.html}
    paths = {"json": out_dir / "report.json", "md": out_dir / "report.md", "html": out_dir / "report.html"}
    paths["json"].write_text(json.dumps(result, indent=2), encoding="utf-8")
    md = markdown(result)
    paths["md"].write_text(md, encoding="utf-8")
    paths["html"].write_text(_html(md, result), encoding="utf-8")
    return paths


def _f(x, digits=1, unit=""):
    return "-" if x is None else f"{x:.{digits}f}{unit}"


def _gib(n):
    return "-" if n is None else f"{n / (1 << 30):.2f} GiB"


def markdown(r: dict) -> str:
    lines = [f"# inhouse advise {r['advise_id']}", ""]
    if r.get("partial"):
        lines += [f"**Partial report** (status {r['status']}): the run stopped"
                  + (f" during \"{r['current_step']}\"" if r.get("current_step") else "")
                  + f"; finished steps: {', '.join(r['steps_done']) or 'none'}.", ""]
    lines += [f"Started {r['started_at']}. Reproduce: `inhouse advise{' --quick' if r['options'].get('quick') else ' --thorough'}"
              f" --context {r['options'].get('context')}`.", ""]
    m, b = r.get("machine") or {}, r.get("budget") or {}
    if m:
        bw = m.get("bandwidth_bytes_per_s")
        lines += ["## Machine", "", f"{m['cpu']}, {m['physical_cores']} cores, RAM {_gib(m['ram_bytes'])}, "
                  f"available {_gib(m['available_bytes'])}, memory bandwidth {_f(bw and bw / 1e9, 1, ' GB/s')}; "
                  f"budget {_gib(b.get('ram_bytes'))}.", ""]
    rec = r.get("recommendation") or {}
    if rec:
        lines += ["## Recommendation", "", f"**{rec['name']}** ({rec['quant']}), context {rec['n_ctx']}, "
                  f"KV {rec['cache_type']}, flash attention {'on' if rec['flash_attn'] else 'off'}, "
                  f"threads {rec['threads']}, ubatch {rec['n_ubatch']}.", ""]
        for key, title, lang in (("serve_config", "`inhouse serve` config", "toml"),
                                 ("llama_server", "llama-server", "sh"), ("ollama_modelfile", "Ollama Modelfile", "")):
            lines += [f"### {title}", "", f"```{lang}", r["commands"][key], "```", ""]
    if r.get("policy"):
        lines += ["## Gateway policy (from the eval)", "", "| requests | goes to | why |", "|---|---|---|"]
        lines += [f"| {p['request']} | {p['where']} | {p['why']} |" for p in r["policy"]]
        lines.append("")
    if r.get("candidates"):
        lines += ["## Installed models at this context", "", "| model | quant | context | KV | memory | fits |",
                  "|---|---|---|---|---|---|"]
        lines += [f"| {c['name']} | {c['quant']} | {c['n_ctx']} | {c['type_k']}{' +FA' if c['flash_attn'] else ''} | "
                  f"{_gib(c['ram_bytes'])} | {'yes' if c['fits'] else 'no'}: {c['reason']} |" for c in r["candidates"]]
        lines.append("")
    for bench in r.get("benches", []):
        lines += [f"## Speed: {bench['name']} (bench sweep {bench['sweep_id']})", "",
                  "| depth | load s | TTFT cold s | TTFT warm s | prefill tok/s | decode tok/s | peak RSS | bandwidth share |",
                  "|---|---|---|---|---|---|---|---|"]
        for x in bench["results"]:
            share = x.get("bandwidth_share")
            lines.append(f"| {x['depth']} | {_f(x['load_s'], 2)} | {_f(x['ttft_cold_s'], 3)} | {_f(x['ttft_warm_s'], 3)} | "
                         f"{_f(x['prefill_tps'])} | {_f(x['decode_tps'])} | {_gib(x['peak_rss_bytes'])} | "
                         f"{_f(share and share * 100, 0, '%')} |")
        lines.append("")
    for ev in r.get("evals", []):
        o = ev["overall"]
        lines += [f"## Quality: {ev['name']} (eval {ev['eval_id']}, {len(ev['tasks'])} core tasks)", "",
                  f"pass@1 {o['rate'] * 100:.0f}% (95% CI {o['low'] * 100:.0f}-{o['high'] * 100:.0f}%, "
                  f"{o['passed']}/{o['n']}).", "", "| category | pass@1 | 95% CI | passed |", "|---|---|---|---|"]
        lines += [f"| {k} | {v['rate'] * 100:.0f}% | {v['low'] * 100:.0f}-{v['high'] * 100:.0f}% | {v['passed']}/{v['n']} |"
                  for k, v in ev["categories"].items()]
        lines.append("")
    t = r.get("tuning") or {}
    if t.get("trials"):
        lines += [f"## Settings sweep: {t['name']} (bench sweeps {', '.join(t['sweep_ids'])})", "",
                  "Typical turn: 2048 prompt tokens + 256 generated, from the measured rates.", "",
                  "| setting | prefill tok/s | decode tok/s | turn s | memory | fits |", "|---|---|---|---|---|---|"]
        lines += [f"| {x['label']} | {_f(x['prefill_tps'])} | {_f(x['decode_tps'])} | {_f(x['turn_s'], 2)} | "
                  f"{_gib(x['ram_bytes'])} | {'yes' if x['fits'] else 'no'} |" for x in t["trials"]]
        conf = t.get("confirm")
        if conf:
            lines += ["", f"Confirmation run (alternated): {conf['setting']} {_f(conf['turn_s'], 2)} s vs defaults "
                      f"{_f(conf['baseline_turn_s'], 2)} s: {'kept' if conf['confirmed'] else 'not confirmed, defaults kept'}."]
        g = t.get("gain")
        if g:
            lines += ["", f"Fastest that fits: {t['best']['label']}; vs llama-cpp-python's defaults: turn "
                      f"x{g['turn_s']:.2f} faster, decode x{_f(g['decode'], 2)}, prefill x{_f(g['prefill'], 2)}."]
        lines.append("")
    if r.get("catalog"):
        lines += ["## Catalog models for this machine (not measured: estimates)", "",
                  "| model | quant | fits | why |", "|---|---|---|---|"]
        lines += [f"| {c['name']} | {c['quant']} | {'yes' if c['fits'] else 'no'} | {c['reason']} |" for c in r["catalog"]]
        lines.append("")
    for n in r.get("notes", []):
        lines.append(f"- note: {n}")
    return "\n".join(lines) + "\n"


def _html(md: str, r: dict) -> str:
    """The markdown shown as preformatted text in a self-contained page (no scripts, no links out)."""
    title = html.escape(f"inhouse advise {r['advise_id']}")
    return (f"<!doctype html><html><head><meta charset='utf-8'><meta name='viewport' "
            f"content='width=device-width, initial-scale=1'><title>{title}</title><style>"
            "body{font-family:system-ui,sans-serif;margin:1rem;max-width:80rem}"
            "pre{white-space:pre-wrap;word-break:break-word;font-size:0.9rem}</style></head>"
            f"<body><pre>{html.escape(md)}</pre></body></html>")
