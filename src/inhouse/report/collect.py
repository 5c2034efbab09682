"""Gather what the store holds into one ``ReportData``: machine, memory, speed, quality, gateway.

Nothing here measures. Every figure is a stored one (bench_results, eval_results, runs, machines,
gateway_requests) or, for the memory curves, ``plan.estimate`` evaluated on the stored GGUF header
(what ``inhouse fit MODEL --ctx N`` prints). Each section carries its source: run id, when, and
the command that reproduces it.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from ..errors import InhouseError

CONTEXTS = (512, 1024, 2048, 4096, 8192, 16384, 32768, 65536, 131072)
LEDGER = "gateway_requests"


@dataclass
class ReportData:
    generated_at: str
    store_path: str | None
    machine: dict[str, Any] | None = None
    memory: list[dict[str, Any]] = field(default_factory=list)
    bench: list[dict[str, Any]] = field(default_factory=list)
    evals: list[dict[str, Any]] = field(default_factory=list)
    candidates: list[dict[str, Any]] = field(default_factory=list)
    recommendation: dict[str, Any] | None = None
    gateway: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    advice: dict[str, Any] | None = None  # inhouse advise's commands, policy and state, when it ran

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def empty(self) -> bool:
        return not (self.memory or self.bench or self.evals or self.gateway)


def base_label(label: str) -> str:
    """A bench label without its settings suffix (`` [t2 q8_0]``) or `` (server)``: the model's name."""
    return re.sub(r"\s*\[[^\]]*\]$", "", label.removesuffix(" (server)")).strip()


def _machine(store) -> dict[str, Any] | None:
    row = store.conn.execute("SELECT * FROM machines ORDER BY updated_at DESC, id DESC LIMIT 1").fetchone()
    if row is None:
        return None
    info = json.loads(row["info_json"])
    mem = info.get("memory") or {}
    total, avail = mem.get("total_bytes"), mem.get("available_bytes")
    out: dict[str, Any] = {
        "hostname": info.get("hostname"), "os": info.get("os"), "cpu": (info.get("cpu") or {}).get("model"),
        "physical_cores": (info.get("cpu") or {}).get("physical_cores"),
        "total_bytes": total, "available_bytes": avail,
        "bandwidth_bytes_per_s": row["bandwidth_bytes_per_s"], "bandwidth_measured_at": row["bandwidth_measured_at"],
        "source": {"run": f"machine {row['fingerprint']}", "when": row["updated_at"], "command": "inhouse machine"},
    }
    if total and avail is not None:
        from ..plan.budget import default_headroom

        headroom = default_headroom(total)
        out.update(other_bytes=max(0, total - avail), headroom_bytes=headroom, budget_bytes=max(0, avail - headroom))
    return out


def _memory_curve(path: str, store) -> tuple[list[dict[str, Any]], int | None]:
    from ..plan.estimate import estimate
    from ..plan.settings import LoadSettings
    from ..plan.target import resolve_target

    target = resolve_target(path, store=store)
    limit = target.spec.n_ctx_train or CONTEXTS[-1]
    points = []
    for n_ctx in CONTEXTS:
        if n_ctx > limit:
            break
        est = estimate(target.spec, LoadSettings(n_ctx=n_ctx))
        bd = est.breakdown()
        points.append({"n_ctx": n_ctx, "weights_bytes": bd["weights_bytes"], "kv_bytes": bd["kv_bytes"],
                       "compute_bytes": bd["compute_bytes"] + bd["output_bytes"] + bd["state_bytes"],
                       "resident_bytes": est.resident_bytes})
    return points, target.spec.n_ctx_train


def _memory(store, bench_rows: list[dict], notes: list[str]) -> list[dict[str, Any]]:
    fits = [r for r in store.runs("fit") if r["result"] and r["settings"].get("path")]
    models: dict[str, dict[str, Any]] = {}
    for r in bench_rows:
        if r["engine"] == "llama_cpp" and r["model"].endswith(".gguf"):
            models.setdefault(r["model"], {"model": base_label(r["label"]), "path": r["model"]})
    for r in fits:
        models.setdefault(r["settings"]["path"], {"model": r["model"], "path": r["settings"]["path"]})
    out = []
    for path, m in models.items():
        try:
            curve, n_ctx_train = _memory_curve(path, store)
        except (InhouseError, OSError) as exc:
            notes.append(f"memory of {m['model']}: not shown ({exc})")
            continue
        stored = [{"run_id": r["id"], "when": r["finished_at"], "n_ctx": r["settings"]["n_ctx"],
                   "resident_bytes": r["result"]["estimate"]["resident_bytes"],
                   "llama_cpp_total_bytes": (r["result"].get("llama_cpp") or {}).get("total_bytes")}
                  for r in fits if r["settings"]["path"] == path]
        runs = ", ".join(f"fit run {s['run_id']}" for s in stored) or "no fit run stored"
        out.append({**m, "n_ctx_train": n_ctx_train, "points": curve, "fit_runs": stored,
                    "source": {"run": runs, "when": stored[-1]["when"] if stored else None,
                               "command": f"inhouse fit {path} --ctx N --json"}})
    return out


def _bench(bench_rows: list[dict]) -> list[dict[str, Any]]:
    series: dict[tuple[str, str], dict[str, Any]] = {}
    for r in bench_rows:
        key = (r["sweep_id"], r["label"])
        s = series.setdefault(key, {"label": r["label"], "model": base_label(r["label"]), "sweep_id": r["sweep_id"],
                                    "engine": r["engine"], "settings": r["settings"], "points": []})
        bw, bpt = r.get("bandwidth_bytes_per_s"), r.get("bytes_per_token")
        s["points"].append({
            "depth": r["depth"], "created_at": r["created_at"],
            "decode_tps": r["decode_tps"], "decode_low": r["decode"]["low"], "decode_high": r["decode"]["high"],
            "prefill_tps": r["prefill_tps"], "prefill_low": r["prefill"]["low"], "prefill_high": r["prefill"]["high"],
            "ttft_warm_s": r["ttft_warm_s"], "peak_rss_bytes": r["peak_rss_bytes"],
            "ceiling_tps": bw / bpt if bw and bpt else None, "bandwidth_share": r.get("bandwidth_share")})
    out = []
    for s in series.values():
        s["points"].sort(key=lambda p: p["depth"])
        depths = " ".join(f"-d {p['depth']}" for p in s["points"])
        when = s["points"][-1]["created_at"]
        model = "" if s["engine"] != "llama_cpp" else f" -m {s['model']}"
        s["source"] = {"run": f"bench sweep {s['sweep_id']}", "when": when,
                       "command": f"inhouse bench{model} {depths}".replace("  ", " ")}
        out.append(s)
    return out


def _evals(store) -> list[dict[str, Any]]:
    from ..evals.stats import summarize

    ids = store.conn.execute(
        "SELECT eval_id, model, suite, MIN(created_at) AS started, MAX(created_at) AS finished FROM eval_results "
        "GROUP BY eval_id ORDER BY MIN(id)").fetchall()
    out = []
    for row in ids:
        rows = store.eval_results(row["eval_id"])
        summary = summarize(rows)
        out.append({"eval_id": row["eval_id"], "model": row["model"], "suite": row["suite"],
                    "started": row["started"], "finished": row["finished"], "samples": len(rows),
                    "overall": summary["overall"], "categories": summary["categories"],
                    "outcomes": summary["outcomes"], "skipped": summary["skipped"],
                    "source": {"run": f"eval run {row['eval_id']}", "when": row["finished"],
                               "command": f"inhouse eval --resume {row['eval_id']} (or: inhouse eval -m MODEL)"}})
    return out


def _candidates(bench: list[dict], evals: list[dict]) -> list[dict[str, Any]]:
    """One point per benchmarked configuration whose model has an eval run: pass@1 (the model's
    latest eval), decode tok/s and peak memory at its shallowest measured depth."""
    latest_eval: dict[str, dict] = {}
    for e in evals:  # in store order: the last one wins
        if e["overall"]["n"]:
            latest_eval[e["model"]] = e
    out = []
    for s in bench:
        e = latest_eval.get(s["model"])
        if e is None:
            continue
        p = s["points"][0]
        out.append({"label": s["label"], "model": s["model"], "sweep_id": s["sweep_id"], "eval_id": e["eval_id"],
                    "depth": p["depth"], "decode_tps": p["decode_tps"], "peak_rss_bytes": p["peak_rss_bytes"],
                    "pass_rate": e["overall"]["rate"], "pass_low": e["overall"]["low"],
                    "pass_high": e["overall"]["high"], "recommended": False})
    return out


def _advise_run(store, advise_id) -> dict[str, Any] | None:
    runs = [r for r in store.advise_runs() if r["result"]]
    if advise_id is not None:
        runs = [r for r in runs if str(r["id"]) == str(advise_id)]
        if not runs:
            raise InhouseError(f"No stored advise run {advise_id!r}; run `inhouse advise` first.")
    return runs[-1] if runs else None


def _advice(run: dict[str, Any] | None) -> dict[str, Any] | None:
    if run is None:
        return None
    r = run["result"]
    return {"id": run["id"], "status": run["status"], "partial": bool(r.get("partial")),
            "current_step": r.get("current_step"), "steps_done": r.get("steps_done") or [],
            "commands": r.get("commands") or {}, "policy": r.get("policy") or [],
            "tuning": r.get("tuning") or {},
            "source": {"run": f"advise run {run['id']}", "when": run["updated_at"],
                       "command": "inhouse advise" + ("" if (r.get("options") or {}).get("quick", True)
                                                      else " --thorough")}}


def _recommendation(store, advise_id, candidates: list[dict], run=None) -> dict[str, Any] | None:
    if run is not None:
        rec = run["result"].get("recommendation") or {}
        label = rec.get("label") or rec.get("name") or rec.get("model")
        if label:
            for c in candidates:
                c["recommended"] = base_label(c["label"]) == label
            why = (f"{rec.get('name')} ({rec.get('quant')}) at context {rec.get('n_ctx')}, KV {rec.get('cache_type')}, "
                   f"flash attention {'on' if rec.get('flash_attn') else 'off'}, {rec.get('threads')} threads, "
                   f"ubatch {rec.get('n_ubatch')}: inhouse advise's recommendation" if rec.get("name")
                   else rec.get("why", "inhouse advise's recommendation"))
            return {"label": label, "why": why, "details": rec,
                    "source": {"run": f"advise run {run['id']}", "when": run["updated_at"],
                               "command": "inhouse advise"}}
    if not candidates:
        return None
    best = max(candidates, key=lambda c: (c["pass_low"], c["decode_tps"]))
    best["recommended"] = True
    return {"label": best["label"], "why": "best measured: the highest pass@1 lower bound, then the fastest decode "
            "(no advise run stored)", "details": {},
            "source": {"run": f"eval run {best['eval_id']}, bench sweep {best['sweep_id']}", "when": None,
                       "command": "inhouse advise (for a recommendation that weighs memory and settings too)"}}


def _gateway(store) -> dict[str, Any] | None:
    exists = store.conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (LEDGER,)).fetchone()
    if not exists:
        return None
    rows = store.conn.execute(
        f"SELECT substr(created_at, 1, 10) AS day, "
        f"SUM(kind = 'local') AS local, SUM(kind = 'cloud') AS cloud, SUM(kind IS NULL) AS unrouted, "
        f"TOTAL(saved_usd) AS saved_usd, TOTAL(cost_usd) AS cost_usd, "
        f"MIN(created_at) AS first, MAX(created_at) AS last FROM {LEDGER} GROUP BY day ORDER BY day").fetchall()
    if not rows:
        return None
    days = [{"day": r["day"], "local": r["local"] or 0, "cloud": r["cloud"] or 0, "unrouted": r["unrouted"] or 0,
             "saved_usd": r["saved_usd"], "cost_usd": r["cost_usd"]} for r in rows]
    total = {k: sum(d[k] for d in days) for k in ("local", "cloud", "unrouted", "saved_usd", "cost_usd")}
    return {"days": days, "totals": total,
            "source": {"run": f"gateway ledger ({sum(d['local'] + d['cloud'] + d['unrouted'] for d in days)} requests)",
                       "when": rows[-1]["last"], "command": "inhouse routes"}}


def collect(store, *, advise_id: str | int | None = None) -> ReportData:
    """Everything the report shows, read from ``store`` (an open ``inhouse.store.Store``)."""
    from ..store.db import now_iso

    notes: list[str] = []
    bench_rows = store.bench_results()
    bench = _bench(bench_rows)
    evals = _evals(store)
    candidates = _candidates(bench, evals)
    run = _advise_run(store, advise_id)
    data = ReportData(generated_at=now_iso(), store_path=str(store.path) if store.path else None,
                      machine=_machine(store), memory=_memory(store, bench_rows, notes), bench=bench, evals=evals,
                      candidates=candidates, recommendation=_recommendation(store, advise_id, candidates, run),
                      gateway=_gateway(store), notes=notes, advice=_advice(run))
    if data.advice and data.advice["partial"]:
        notes.insert(0, f"Partial report: advise run {data.advice['id']} stopped"
                     + (f" during \"{data.advice['current_step']}\"" if data.advice["current_step"] else "")
                     + f" ({data.advice['status']}); everything it finished is shown.")
    if data.empty:
        notes.append("The store holds no fit, bench, eval or gateway results yet: run `inhouse fit --ctx 8192`, "
                     "`inhouse bench`, `inhouse eval` (or `inhouse advise`), then `inhouse report` again.")
    return data


__all__ = ["ReportData", "collect", "base_label"]
