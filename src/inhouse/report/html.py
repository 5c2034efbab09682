"""The report as one self-contained HTML file: inline CSS and SVG, no script, no external URL."""

from __future__ import annotations

from html import escape
from itertools import accumulate

from . import charts, fmt
from .collect import ReportData

CSS = """
:root { color-scheme: light; --ink: #1f2937; --dim: #6b7280; --line: #e5e7eb; }
* { box-sizing: border-box; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; background: #f3f4f6; padding: .6em .8em; border-radius: 6px;
      font-size: 13px; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink);
       background: #f9fafb; }
main { max-width: 1120px; margin: 0 auto; padding: 16px; }
h1 { font-size: 1.5rem; margin: 8px 0 4px; } h2 { font-size: 1.2rem; margin: 0 0 8px; }
h3 { font-size: 1rem; margin: 12px 0 4px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 16px; margin: 16px 0; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(100%, 460px), 1fr)); gap: 16px; }
figure { margin: 0; min-width: 0; } figcaption { font-size: .85rem; color: var(--dim); }
svg.chart { width: 100%; height: auto; display: block; font-size: 15px; }
svg .grid { stroke: var(--line); } svg .tick { fill: var(--dim); font-size: 14px; }
svg .axis { fill: var(--ink); font-size: 15px; } svg .line { fill: none; stroke-width: 2; }
svg .whisker { stroke: #111827; stroke-width: 1.5; } svg .mark { stroke: #fff; stroke-width: .5; }
svg .budget line { stroke: #dc2626; stroke-width: 2; stroke-dasharray: 6 4; } svg .budget text { fill: #dc2626; font-weight: 600; }
svg .total line { stroke: #6b7280; stroke-width: 1.5; } svg .total text { fill: #6b7280; }
svg circle.mark { fill-opacity: .75; } svg circle.marked { stroke: #111827; stroke-width: 3; }
svg .callout { font-weight: 600; fill: #111827; }
.legend { list-style: none; padding: 0; margin: 4px 0; display: flex; flex-wrap: wrap; gap: 4px 14px;
          font-size: .85rem; }
.swatch { display: inline-block; width: 12px; height: 12px; border-radius: 2px; margin-right: 5px;
          vertical-align: -1px; }
.source { font-size: .8rem; color: var(--dim); overflow-wrap: anywhere; }
.source code, .rec code { font-size: .8rem; background: #f3f4f6; padding: 1px 4px; border-radius: 3px; }
.scroll { overflow-x: auto; } table { border-collapse: collapse; font-size: .85rem; margin-top: 8px; }
th, td { padding: 3px 10px; border-bottom: 1px solid var(--line); text-align: right; white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
td.text { white-space: normal; text-align: left; min-width: 12em; }
.rec { border-left: 4px solid #059669; } .note { color: var(--dim); font-size: .9rem; }
.facts { display: flex; flex-wrap: wrap; gap: 4px 24px; margin: 0; padding: 0; list-style: none; }
@media (max-width: 600px) { main { padding: 8px; } section { padding: 10px; } body { font-size: 14px; } }
"""

LAYERS = ("weights", "KV cache", "compute and output")


def _source(src: dict | None) -> str:
    if not src:
        return ""
    when = f", {escape(src['when'])}" if src.get("when") else ""
    return (f'<p class="source">Source: {escape(src["run"])}{when}. Reproduce: '
            f'<code>{escape(src["command"])}</code></p>')


def _td(value, text: str) -> str:
    return f'<td data-value="{value!r}">{escape(text)}</td>' if value is not None else f"<td>{escape(text)}</td>"


def _table(head: list[str], rows: list[str]) -> str:
    th = "".join(f"<th>{escape(h)}</th>" for h in head)
    return f'<div class="scroll"><table><thead><tr>{th}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>'


def _machine(m: dict | None) -> str:
    if not m:
        return '<p class="note">No machine probe stored yet (<code>inhouse machine</code>).</p>'
    items = [f"{escape(m.get('cpu') or '?')}, {m.get('physical_cores')} cores",
             f"RAM {fmt.size(m.get('total_bytes'))}, available {fmt.size(m.get('available_bytes'))} when probed",
             f"memory bandwidth {fmt.bandwidth(m.get('bandwidth_bytes_per_s'))}"]
    return f'<ul class="facts">{"".join(f"<li>{i}</li>" for i in items)}</ul>{_source(m["source"])}'


def _memory(data: ReportData) -> str:
    if not data.memory:
        return ""
    m = data.machine or {}
    figs = []
    for c in data.memory:
        lines = []
        if m.get("budget_bytes") is not None:
            lines.append((m["budget_bytes"], f"budget {fmt.size(m['budget_bytes'])}", "budget"))
            lines.append((m["total_bytes"], f"RAM {fmt.size(m['total_bytes'])}", "total"))
        svg = charts.stacked_bars(
            f"memory:{c['model']}", f"Memory of {c['model']} by context length",
            [fmt.tokens(p["n_ctx"]) for p in c["points"]], LAYERS,
            [(p["weights_bytes"], p["kv_bytes"], p["compute_bytes"]) for p in c["points"]],
            y_fmt=fmt.size, y_label="memory", x_label="context length (tokens)", lines=lines)
        rows = [f"<tr><td>{fmt.tokens(p['n_ctx'])}</td>{_td(p['weights_bytes'], fmt.size(p['weights_bytes']))}"
                f"{_td(p['kv_bytes'], fmt.size(p['kv_bytes']))}{_td(p['compute_bytes'], fmt.size(p['compute_bytes']))}"
                f"{_td(p['resident_bytes'], fmt.size(p['resident_bytes']))}</tr>" for p in c["points"]]
        fit_rows = [f"<tr><td>fit run {r['run_id']}</td><td>{fmt.tokens(r['n_ctx'])}</td>"
                    f"{_td(r['resident_bytes'], fmt.size(r['resident_bytes']))}"
                    f"{_td(r['llama_cpp_total_bytes'], fmt.size(r['llama_cpp_total_bytes']))}</tr>"
                    for r in c["fit_runs"]]
        others = ""
        if m.get("other_bytes") is not None:
            others = (f"<p class=\"note\">Other applications, the OS and caches held {fmt.size(m['other_bytes'])} when "
                      f"the machine was probed; the budget is what was available minus a headroom of "
                      f"{fmt.size(m['headroom_bytes'])} for your other work.</p>")
        figs.append(
            f"<figure><h3>{escape(c['model'])}</h3>{svg}{charts.legend(LAYERS, charts.PALETTE)}{others}"
            f"<figcaption>Estimated by inhouse.plan for llama-cpp-python's default settings (f16 KV, no flash "
            f"attention) from the GGUF header; resident memory.</figcaption>"
            f"{_table(['context', 'weights', 'KV cache', 'compute', 'resident'], rows)}"
            + (_table(["stored fit", "context", "estimate", "llama.cpp"], fit_rows) if fit_rows else "")
            + f"{_source(c['source'])}</figure>")
    return f'<section id="memory"><h2>Memory vs context</h2><div class="grid">{"".join(figs)}</div></section>'


def _speed(data: ReportData) -> str:
    if not data.bench:
        return ""
    names = [s["label"] for s in data.bench]
    decode = [{"name": s["label"], "points": [(p["depth"], p["decode_tps"], p["decode_low"], p["decode_high"])
                                              for p in s["points"]]} for s in data.bench]
    ceiling = [{"name": f"{s['label']}: bandwidth ceiling", "dashed": True,
                "points": [(p["depth"], p["ceiling_tps"], None, None) for p in s["points"]]}
               for s in data.bench if any(p["ceiling_tps"] for p in s["points"])]
    n = len(decode)
    colors = list(charts.PALETTE[:n]) + list(charts.PALETTE[:n])
    dec_svg = charts.lines("decode", "Decode tokens/s vs context depth", decode + ceiling, y_fmt=fmt.tps,
                           x_fmt=fmt.tokens, y_label="decode tokens/s", x_label="context depth (tokens)",
                           log_x=True, colors=colors)
    pre = [{"name": s["label"], "points": [(p["depth"], p["prefill_tps"], p["prefill_low"], p["prefill_high"])
                                           for p in s["points"]]} for s in data.bench]
    pre_svg = charts.lines("prefill", "Prefill tokens/s vs context depth", pre, y_fmt=fmt.tps, x_fmt=fmt.tokens,
                           y_label="prefill tokens/s", x_label="context depth (tokens)", log_x=True)
    rows = []
    for s in data.bench:
        for p in s["points"]:
            rows.append(f"<tr><td>{escape(s['label'])}</td><td>{p['depth']}</td>"
                        f"{_td(p['decode_tps'], fmt.tps(p['decode_tps']))}"
                        f"{_td(p['ceiling_tps'], fmt.tps(p['ceiling_tps']))}"
                        f"{_td(p['prefill_tps'], fmt.tps(p['prefill_tps']))}"
                        f"{_td(p['ttft_warm_s'], fmt.secs(p['ttft_warm_s']))}"
                        f"{_td(p['peak_rss_bytes'], fmt.size(p['peak_rss_bytes']))}</tr>")
    sources = "".join(_source(s["source"]) for s in data.bench)
    return (f'<section id="speed"><h2>Speed vs context depth</h2>{charts.legend(names, charts.PALETTE)}'
            f'<div class="grid"><figure>{dec_svg}<figcaption>Median of the timed repetitions with its 95% '
            f'interval; dashed: the bandwidth ceiling (measured memory bandwidth / bytes read per token).'
            f'</figcaption></figure><figure>{pre_svg}<figcaption>Prompt tokens evaluated per second on top '
            f'of the cached depth.</figcaption></figure></div>'
            f"{_table(['configuration', 'depth', 'decode tok/s', 'ceiling tok/s', 'prefill tok/s', 'TTFT warm', 'peak RSS'], rows)}"
            f"{sources}</section>")


def _quality(data: ReportData) -> str:
    if not data.evals:
        return ""
    cats = sorted({c for e in data.evals for c in e["categories"]})
    series = [{"name": f"{e['model']} ({e['eval_id']})",
               "values": [(e["categories"][c]["rate"], e["categories"][c]["low"], e["categories"][c]["high"])
                          if c in e["categories"] else None for c in cats]} for e in data.evals]
    svg = charts.grouped_bars("eval", "pass@1 per category", cats, series, y_fmt=fmt.rate, y_label="pass@1",
                              x_label="", y_max=1.0)
    rows = []
    for e in data.evals:
        for c, r in [("overall", e["overall"]), *e["categories"].items()]:
            rows.append(f"<tr><td>{escape(e['model'])} ({escape(e['eval_id'])})</td><td>{escape(c)}</td>"
                        f"<td>{r['passed']}/{r['n']}</td>{_td(r['rate'], fmt.rate(r['rate']))}"
                        f"{_td(r['low'], fmt.rate(r['low']))}{_td(r['high'], fmt.rate(r['high']))}</tr>")
    return (f'<section id="quality"><h2>Can it do the work: pass@1 per category</h2>'
            f'{charts.legend([s["name"] for s in series], charts.PALETTE)}<div class="grid"><figure>{svg}<figcaption>Share of '
            f'samples that passed, with the 95% Wilson interval (small samples give wide intervals).'
            f'</figcaption></figure></div>{_table(["run", "category", "passed", "pass@1", "low", "high"], rows)}'
            f'{"".join(_source(e["source"]) for e in data.evals)}</section>')


def _tradeoff(data: ReportData) -> str:
    if not data.candidates:
        return ""
    pts = [{"label": c["label"], "x": c["decode_tps"], "y": c["pass_rate"], "r": c["peak_rss_bytes"],
            "marked": c["recommended"]} for c in data.candidates]
    svg = charts.scatter("tradeoff", "Quality vs speed vs memory", pts, x_fmt=fmt.tps, y_fmt=fmt.rate,
                         r_fmt=lambda v: f"peak {fmt.size(v)}", x_label="decode tokens/s (shallowest depth)",
                         y_label="pass@1")
    rows = [f"<tr><td>{'★ ' if c['recommended'] else ''}{escape(c['label'])}</td>"
            f"{_td(c['pass_rate'], fmt.rate(c['pass_rate']))}{_td(c['decode_tps'], fmt.tps(c['decode_tps']))}"
            f"{_td(c['peak_rss_bytes'], fmt.size(c['peak_rss_bytes']))}<td>{escape(c['eval_id'])}</td>"
            f"<td>{escape(c['sweep_id'])}</td></tr>" for c in data.candidates]
    return (f'<section id="tradeoff"><h2>Quality vs speed vs memory</h2>'
            f'{charts.legend([p["label"] for p in pts], charts.PALETTE)}<div class="grid"><figure>{svg}'
            f'<figcaption>One point per benchmarked configuration of an evaluated model; the area is its peak '
            f'resident memory; ★ the recommendation.</figcaption></figure></div>'
            f'{_table(["configuration", "pass@1", "decode tok/s", "peak RSS", "eval run", "bench sweep"], rows)}'
            f'</section>')


def _recommendation(data: ReportData) -> str:
    r = data.recommendation
    if not r:
        return ""
    return (f'<section class="rec" id="recommendation"><h2>Recommendation: {escape(r["label"])}</h2>'
            f'<p>{escape(r["why"])}</p>{_source(r["source"])}{_advice(data)}</section>')


def _advice(data: ReportData) -> str:
    a = data.advice
    if not a:
        return ""
    titles = {"serve_config": "inhouse serve config", "llama_server": "llama-server",
              "ollama_modelfile": "Ollama Modelfile"}
    blocks = "".join(f"<h3>{escape(titles.get(k, k))}</h3><pre><code>{escape(v)}</code></pre>"
                     for k, v in a["commands"].items() if v)
    rows = [f"<tr><td class=\"text\">{escape(p['request'])}</td><td>{escape(p['where'])}</td>"
            f"<td class=\"text\">{escape(p['why'])}</td></tr>" for p in a["policy"]]
    policy = f"<h3>Gateway policy from the eval</h3>{_table(['requests', 'goes to', 'why'], rows)}" if rows else ""
    return blocks + policy


def _gateway(data: ReportData) -> str:
    g = data.gateway
    if not g:
        return ""
    days = [d["day"] for d in g["days"]]
    counts = charts.stacked_bars("gateway", "Requests kept local vs sent to the cloud, per day", days,
                                 ("local", "cloud"), [(d["local"], d["cloud"]) for d in g["days"]],
                                 y_fmt=fmt.count, y_label="requests", x_label="day (UTC)")
    saved = list(accumulate(d["saved_usd"] for d in g["days"]))
    money = charts.lines("saved", "Money saved, cumulative", [
        {"name": "saved", "points": [(i, v, None, None) for i, v in enumerate(saved)]}],
        y_fmt=fmt.usd, x_fmt=lambda i: days[int(i)][5:], y_label="saved (USD)", x_label="day (UTC)",
        colors=("#059669",))
    rows = [f"<tr><td>{d['day']}</td>{_td(d['local'], str(d['local']))}{_td(d['cloud'], str(d['cloud']))}"
            f"{_td(d['saved_usd'], fmt.usd(d['saved_usd']))}{_td(d['cost_usd'], fmt.usd(d['cost_usd']))}</tr>"
            for d in g["days"]]
    t = g["totals"]
    return (f'<section id="gateway"><h2>Gateway: local vs cloud</h2>'
            f'<p>{t["local"]} requests served locally, {t["cloud"]} by the cloud; saved '
            f'<span data-value="{t["saved_usd"]!r}">{fmt.usd(t["saved_usd"])}</span> at the cloud prices of the '
            f'models the clients asked for.</p><div class="grid"><figure>{counts}'
            f'{charts.legend(("local", "cloud"), charts.PALETTE)}</figure><figure>{money}</figure></div>'
            f'{_table(["day", "local", "cloud", "saved", "cloud cost"], rows)}{_source(g["source"])}</section>')


def render_html(data: ReportData) -> str:
    notes = "".join(f'<p class="note">{escape(n)}</p>' for n in data.notes)
    if data.advice and data.advice["partial"]:
        notes = ""  # shown at the top instead
        partial = "".join(f'<p class="note partial"><strong>{escape(n)}</strong></p>' for n in data.notes[:1])
    else:
        partial = ""
    body = (f"<h1>inhouse report</h1><p class=\"note\">Generated {escape(data.generated_at)} from "
            f"{escape(data.store_path or 'the store')} by <code>inhouse report</code>; nothing was measured "
            f"to make it.</p>{partial}<section id=\"machine\"><h2>This machine</h2>{_machine(data.machine)}</section>"
            f"{_recommendation(data)}{_memory(data)}{_speed(data)}{_quality(data)}{_tradeoff(data)}"
            f"{_gateway(data)}{notes}")
    return ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
            "img-src data:\">"
            f"<title>inhouse report</title><style>{CSS}</style></head><body><main>{body}</main></body></html>")
