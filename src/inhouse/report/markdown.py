"""The report as Markdown: the same figures as the HTML, as tables, with their sources."""

from __future__ import annotations

from . import fmt
from .collect import ReportData


def _src(src: dict | None) -> list[str]:
    if not src:
        return []
    when = f", {src['when']}" if src.get("when") else ""
    return [f"_Source: {src['run']}{when}. Reproduce: `{src['command']}`_", ""]


def _table(head: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out + [""]


def render_markdown(data: ReportData) -> str:
    out = ["# inhouse report", "", f"Generated {data.generated_at} from {data.store_path or 'the store'} by "
           "`inhouse report`; nothing was measured to make it.", ""]
    m = data.machine
    if m:
        out += ["## This machine", "", f"{m.get('cpu')}, {m.get('physical_cores')} cores; RAM "
                f"{fmt.size(m.get('total_bytes'))}, available {fmt.size(m.get('available_bytes'))} when probed; "
                f"memory bandwidth {fmt.bandwidth(m.get('bandwidth_bytes_per_s'))}.", ""] + _src(m["source"])
    if data.advice and data.advice["partial"] and data.notes:
        out += [f"**{data.notes[0]}**", ""]
    r = data.recommendation
    if r:
        out += [f"## Recommendation: {r['label']}", "", r["why"], ""] + _src(r["source"])
    a = data.advice
    if a:
        titles = {"serve_config": ("`inhouse serve` config", "toml"), "llama_server": ("llama-server", "sh"),
                  "ollama_modelfile": ("Ollama Modelfile", "")}
        for key, text in a["commands"].items():
            if text:
                title, lang = titles.get(key, (key, ""))
                out += [f"### {title}", "", f"```{lang}", text, "```", ""]
        if a["policy"]:
            out += ["### Gateway policy from the eval", ""]
            out += _table(["requests", "goes to", "why"], [[p["request"], p["where"], p["why"]] for p in a["policy"]])
    if data.memory:
        out += ["## Memory vs context", ""]
        if m and m.get("budget_bytes") is not None:
            out += [f"Budget {fmt.size(m['budget_bytes'])} (available minus a headroom of "
                    f"{fmt.size(m['headroom_bytes'])}); other applications held {fmt.size(m['other_bytes'])}.", ""]
        for c in data.memory:
            out += [f"### {c['model']}", ""]
            out += _table(["context", "weights", "KV cache", "compute", "resident"],
                          [[fmt.tokens(p["n_ctx"]), fmt.size(p["weights_bytes"]), fmt.size(p["kv_bytes"]),
                            fmt.size(p["compute_bytes"]), fmt.size(p["resident_bytes"])] for p in c["points"]])
            out += _src(c["source"])
    if data.bench:
        out += ["## Speed vs context depth", ""]
        out += _table(["configuration", "depth", "decode tok/s", "ceiling tok/s", "prefill tok/s", "TTFT warm",
                       "peak RSS"],
                      [[s["label"], str(p["depth"]), fmt.tps(p["decode_tps"]), fmt.tps(p["ceiling_tps"]),
                        fmt.tps(p["prefill_tps"]), fmt.secs(p["ttft_warm_s"]), fmt.size(p["peak_rss_bytes"])]
                       for s in data.bench for p in s["points"]])
        for s in data.bench:
            out += _src(s["source"])
    if data.evals:
        out += ["## pass@1 per category", ""]
        rows = []
        for e in data.evals:
            for c, x in [("overall", e["overall"]), *e["categories"].items()]:
                rows.append([f"{e['model']} ({e['eval_id']})", c, f"{x['passed']}/{x['n']}", fmt.rate(x["rate"]),
                             f"{fmt.rate(x['low'])} to {fmt.rate(x['high'])}"])
        out += _table(["run", "category", "passed", "pass@1", "95% interval"], rows)
        for e in data.evals:
            out += _src(e["source"])
    if data.candidates:
        out += ["## Quality vs speed vs memory", ""]
        out += _table(["configuration", "pass@1", "decode tok/s", "peak RSS"],
                      [[("★ " if c["recommended"] else "") + c["label"], fmt.rate(c["pass_rate"]),
                        fmt.tps(c["decode_tps"]), fmt.size(c["peak_rss_bytes"])] for c in data.candidates])
    g = data.gateway
    if g:
        out += ["## Gateway: local vs cloud", ""]
        out += _table(["day", "local", "cloud", "saved", "cloud cost"],
                      [[d["day"], str(d["local"]), str(d["cloud"]), fmt.usd(d["saved_usd"]), fmt.usd(d["cost_usd"])]
                       for d in g["days"]])
        out += _src(g["source"])
    out += [f"_{n}_" for n in data.notes]
    return "\n".join(out).rstrip() + "\n"
