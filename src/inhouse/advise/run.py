"""``run_advise``: the steps of ``inhouse advise``, each stored the moment it finishes.

Steps: probe the machine and its memory budget; size and rank every installed GGUF (and the
catalog, for what to download); for the installed candidates that fit, a short bench and a short
eval on a fixed stratified subset of the core suite; a settings sweep for the top candidate; the
recommendation with its command lines and a gateway policy. The advise row is rewritten after
every step (``advise_runs``); bench and eval rows are stored by ``run_sweep`` and ``run_eval`` as
they are measured. Ctrl-C stops the run and is re-raised, with the result so far stored as
``interrupted`` and in ``result`` (passed in by the caller) marked partial.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from typing import Protocol

from ..errors import InhouseError


QUICK_DEPTH = 4096  # --quick measures the deep point here, not at the full context (--thorough does)


class Reporter(Protocol):
    def step(self, name: str, units: int) -> None: ...
    def advance(self, n: int = 1) -> None: ...


class _Silent:
    def step(self, name: str, units: int) -> None:
        pass

    def advance(self, n: int = 1) -> None:
        pass


@dataclass(frozen=True)
class AdviseOptions:
    context: int = 32768
    budget_bytes: int | None = None  # None: this machine's (``fit --budget auto``)
    quick: bool = True
    max_candidates: int | None = None  # None: 1 when quick, 3 otherwise
    per_category: int | None = None  # eval tasks per category; None: 1 when quick, 2 otherwise
    sandbox: bool = True
    models: tuple[str, ...] = ()  # only these installed models (names as `inhouse models` lists them, or paths)

    @property
    def n_candidates(self) -> int:
        return self.max_candidates or (1 if self.quick else 3)

    @property
    def n_per_category(self) -> int:
        return self.per_category or (1 if self.quick else 2)

    def workload(self):
        from ..bench.config import Workload

        if self.quick:
            return Workload(depths=(0, min(self.context, QUICK_DEPTH)), prompt_tokens=128, gen_tokens=32, reps=2,
                            warmup=1)
        return Workload(depths=(0, self.context), prompt_tokens=512, gen_tokens=128, reps=5, warmup=1)

    def tuning_workload(self):
        from ..bench.config import Workload

        if self.quick:
            return Workload(depths=(0,), prompt_tokens=128, gen_tokens=32, reps=2, warmup=1)
        return Workload(depths=(0,), prompt_tokens=512, gen_tokens=64, reps=3, warmup=1)


@dataclass
class AdviseResult:
    advise_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    started_at: str = ""
    status: str = "running"  # running, ok, interrupted, failed
    partial: bool = True
    options: dict = field(default_factory=dict)
    steps_done: list[str] = field(default_factory=list)
    current_step: str | None = None
    machine: dict = field(default_factory=dict)
    budget: dict = field(default_factory=dict)
    candidates: list[dict] = field(default_factory=list)
    catalog: list[dict] = field(default_factory=list)
    benches: list[dict] = field(default_factory=list)
    evals: list[dict] = field(default_factory=list)
    tuning: dict = field(default_factory=dict)
    recommendation: dict = field(default_factory=dict)
    commands: dict = field(default_factory=dict)
    policy: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def stratified(tasks: list, per_category: int) -> list:
    """The first ``per_category`` tasks of each category by task id: a fixed subset, so runs compare."""
    by_cat: dict[str, list] = {}
    for t in sorted(tasks, key=lambda t: t.id):
        by_cat.setdefault(t.category, []).append(t)
    return [t for cat in sorted(by_cat) for t in by_cat[cat][:per_category]]


BENCH_KEYS = ("label", "depth", "load_s", "ttft_cold_s", "ttft_warm_s", "prefill_tps", "decode_tps", "peak_rss_bytes",
              "bandwidth_share", "bytes_per_token")


def _bench_row(r) -> dict:
    d = r.to_dict()
    return {k: d.get(k) for k in BENCH_KEYS}


def _measure(store, info, config, workload, reporter: Reporter, into: list | None = None):
    """One configuration benchmarked (each result stored by ``run_sweep``); ``into`` gets the
    summarized rows finished so far even when the sweep is interrupted."""
    from ..bench.run import Sweep, run_sweep

    sweep = Sweep()
    try:
        run_sweep([config], workload, store=store, machine_fingerprint=info.fingerprint,
                  bandwidth=info.bandwidth_bytes_per_s, progress=reporter.advance, sweep=sweep)
    finally:
        if into is not None:
            into.append({"name": config.label, "sweep_id": sweep.sweep_id,
                         "results": [_bench_row(r) for r in sweep.results]})
    return sweep


def run_advise(store, options: AdviseOptions, *, reporter: Reporter | None = None,
               result: AdviseResult | None = None) -> AdviseResult:
    from ..store.db import now_iso

    reporter = reporter or _Silent()
    result = result or AdviseResult()
    result.started_at = now_iso()
    result.options = asdict(options)

    def save(status: str = "running") -> None:
        result.status = status
        store.save_advise(result.advise_id, result.started_at, status, result.to_dict())

    def done(name: str) -> None:
        result.steps_done.append(name)
        result.current_step = None
        save()

    def begin(name: str, units: int) -> None:
        result.current_step = name
        reporter.step(name, units)

    save()
    try:
        _steps(store, options, reporter, result, begin, done)
    except KeyboardInterrupt:
        result.partial = True
        save("interrupted")
        raise
    except InhouseError as exc:
        result.partial, result.error = True, str(exc)
        save("failed")
        raise
    result.partial = False
    save("ok")
    return result


def _steps(store, options: AdviseOptions, reporter: Reporter, result: AdviseResult, begin, done) -> None:
    from ..bench.config import BenchConfig
    from ..machine.probe import probe_machine
    from ..plan.budget import Budget, machine_budget
    from .candidates import installed_candidates

    begin("probing this machine", 1)
    info = probe_machine(store)
    budget = machine_budget(info) if options.budget_bytes is None else Budget(ram_bytes=options.budget_bytes)
    result.machine = {"fingerprint": info.fingerprint, "cpu": info.cpu_model, "physical_cores": info.physical_cores,
                      "logical_threads": info.logical_threads, "default_threads": info.default_threads,
                      "ram_bytes": info.memory.total_bytes, "available_bytes": info.memory.available_bytes,
                      "bandwidth_bytes_per_s": info.bandwidth_bytes_per_s}
    result.budget = budget.to_dict()
    reporter.advance()
    done("machine")

    begin("ranking models by what fits", 1)
    cands, problems = installed_candidates(options.context, budget.ram_bytes, store=store)
    result.candidates = [c.to_dict() for c in cands]
    result.notes += problems
    try:
        from ..plan.recommend import best_per_model, recommend

        rows = best_per_model(recommend(budget.ram_bytes, info.bandwidth_bytes_per_s, min_context=options.context))
        result.catalog = [r.to_dict() for r in rows[:10]]
    except InhouseError as exc:
        result.notes.append(f"catalog ranking skipped: {exc}")
    reporter.advance()
    done("candidates")

    pool = [c for c in cands if c.fits]
    if options.models:
        wanted = set(options.models)
        pool = [c for c in pool if c.name in wanted or c.path in wanted]
        missing = wanted - {c.name for c in cands} - {c.path for c in cands}
        if missing:
            raise InhouseError(f"not an installed model: {', '.join(sorted(missing))}; `inhouse models` lists them.")
    chosen = pool[: options.n_candidates]
    if not chosen:
        raise InhouseError(f"no installed model fits the budget of {budget.ram_bytes / (1 << 30):.2f} GiB at "
                           f"{options.context} tokens; try --context 8192, or see the catalog rows for one to download.")
    workload = options.workload()
    from ..bench.run import plan_depths

    for c in chosen:
        deep = min(c.n_ctx, max(workload.depths))
        w = workload.__class__(**{**workload.to_dict(), "depths": (0, deep)})
        depths, _ = plan_depths(w, c.n_ctx)
        deep = [d for d in depths if d > 0]
        if not deep:
            room = c.n_ctx - w.prompt_tokens - w.gen_tokens - 8
            depths = [0, room] if room > 0 else [0]
        w = workload.__class__(**{**w.to_dict(), "depths": tuple(depths)})
        begin(f"bench {c.name}", len(depths) * (w.warmup + w.reps))
        config = BenchConfig(model=c.path, label=c.name, type_k=c.type_k, type_v=c.type_v, flash_attn=c.flash_attn)
        _measure(store, info, config, w, reporter, into=result.benches)
        done(f"bench {c.name}")

    for c in chosen:
        _eval(store, options, reporter, result, c, begin, done)

    top = _top(chosen, result)
    _tune(store, info, options, reporter, result, top, budget.ram_bytes, begin, done)
    _recommend(result, top)
    done("recommendation")


def _eval(store, options, reporter, result, c, begin, done) -> None:
    from ..engines.llama_cpp import LlamaCppEngine
    from ..sandbox import SandboxUnavailable
    from ..evals.run import run_eval, runs_code
    from ..evals.stats import summarize
    from ..evals.tasks import load_suite
    from ..sandbox import require_isolation

    tasks = stratified(load_suite("core"), options.n_per_category)
    if options.sandbox:
        try:
            require_isolation()
        except SandboxUnavailable as exc:
            tasks = [t for t in tasks if not runs_code(t)]
            result.notes.append(f"eval: categories that run model code were skipped ({exc})")
    begin(f"eval {c.name}", len(tasks))
    with LlamaCppEngine(c.path, n_ctx=min(c.n_ctx, 8192), model_name=c.name) as engine:
        run = run_eval(engine, tasks, model=c.name, suite="core", store=store, progress=reporter.advance,
                       sandbox=options.sandbox)
    summary = summarize(run.rows)
    skipped = sorted({r["category"] for r in run.rows if r["outcome"] == "skipped"})
    if skipped:
        why = next(r["detail"] for r in run.rows if r["outcome"] == "skipped")
        result.notes.append(f"eval {c.name}: {', '.join(skipped)} skipped: {why}")
    result.evals.append({"name": c.name, "eval_id": run.eval_id, "tasks": [t.id for t in tasks],
                         "overall": summary["overall"], "categories": summary["categories"],
                         "outcomes": summary["outcomes"], "skipped": summary["skipped"]})
    done(f"eval {c.name}")


def _top(chosen, result: AdviseResult):
    """The candidate with the best eval pass@1 (then the faster decode at depth 0)."""
    evals = {e["name"]: e["overall"] for e in result.evals}
    speed = {b["name"]: (b["results"][0]["decode_tps"] if b["results"] else 0) for b in result.benches}
    return max(chosen, key=lambda c: ((evals.get(c.name) or {}).get("rate") or 0, speed.get(c.name) or 0))


def _tune(store, info, options, reporter, result, c, budget_bytes, begin, done) -> None:
    from ..bench.config import BenchConfig
    from ..machine.cpu import usable_cpus
    from ..models.discover import resolve_model_header
    from ..plan.estimate import estimate
    from ..plan.settings import LoadSettings
    from ..plan.spec import ModelSpec
    from .tuning import MIN_GAIN, factor_values, llama_cpp_python_defaults, pick, sweep, turn_seconds

    _, header = resolve_model_header(c.path, store=store)
    spec = ModelSpec.from_header(header)
    values = factor_values(usable_cpus(), options.quick)
    w = options.tuning_workload()
    base = llama_cpp_python_defaults()
    n_trials = 1 + sum(len(v) for v in values.values())
    begin(f"settings sweep {c.name}", n_trials * (w.warmup + w.reps))

    def fits(s):
        est = estimate(spec, LoadSettings(n_ctx=c.n_ctx, type_k=s.cache_type, type_v=s.cache_type,
                                          flash_attn=s.flash_attn, n_ubatch=s.n_ubatch))
        return est.ram_bytes <= budget_bytes, est.ram_bytes

    def measure(s):
        config = BenchConfig(model=c.path, label=f"{c.name} [{s.label()}]", threads=s.threads, n_ubatch=s.n_ubatch,
                             type_k=s.cache_type, type_v=s.cache_type, flash_attn=s.flash_attn)
        rows: list[dict] = []
        try:
            sw = _measure(store, info, config, w, reporter, into=rows)
        finally:
            result.tuning["sweep_ids"] += [r["sweep_id"] for r in rows]
        r = sw.results[0]
        return r.prefill_tps, r.decode_tps, config.label

    result.tuning = {"name": c.name, "baseline": base.to_dict(), "workload": w.to_dict(), "sweep_ids": [],
                     "min_gain": MIN_GAIN}
    trials = sweep(base, values, measure, fits,
                   on_trial=lambda ts: result.tuning.__setitem__("trials", [t.to_dict() for t in ts]))
    best = pick(trials, base)
    baseline = next(t for t in trials if t.setting == base)
    if best is not None and baseline.fits and best.setting != base:
        # Confirm on a second, alternated pair before leaving the defaults: one short run each is noisy.
        begin(f"confirming {best.setting.label()} vs defaults", 2 * (w.warmup + w.reps))
        again = {}
        for s in (best.setting, base):
            pre, dec, _ = measure(s)
            again[s] = turn_seconds(pre, dec)
        confirmed = again[best.setting] is not None and again[base] is not None and \
            (best.turn_s + again[best.setting]) <= (baseline.turn_s + again[base]) * (1 - MIN_GAIN)
        result.tuning["confirm"] = {"setting": best.setting.label(), "turn_s": again[best.setting],
                                    "baseline_turn_s": again[base], "confirmed": confirmed}
        if not confirmed:
            best = baseline
    result.tuning["trials"] = [t.to_dict() for t in trials]
    result.tuning["best"] = best.to_dict() if best else None
    if best and baseline.turn_s:
        result.tuning["gain"] = {"turn_s": baseline.turn_s / best.turn_s,
                                 "decode": (best.decode_tps or 0) / baseline.decode_tps if baseline.decode_tps else None,
                                 "prefill": (best.prefill_tps or 0) / baseline.prefill_tps if baseline.prefill_tps else None}
    done(f"settings sweep {c.name}")


def _recommend(result: AdviseResult, c) -> None:
    from .commands import gateway_policy, llama_server_flags, ollama_modelfile, serve_config

    best = (result.tuning.get("best") or {}).get("setting")
    if best is None:
        best = {"threads": result.machine.get("default_threads") or 1, "flash_attn": c.flash_attn,
                "cache_type": c.type_k, "n_ubatch": 512}
    rec = {"name": c.name, "path": c.path, "quant": c.quant, "n_ctx": c.n_ctx, **best}
    cats = next((e["categories"] for e in result.evals if e["name"] == c.name), {})
    result.recommendation = rec
    result.policy = gateway_policy(cats)
    result.commands = {"serve_config": serve_config(rec, result.policy), "llama_server": llama_server_flags(rec),
                       "ollama_modelfile": ollama_modelfile(rec)}
