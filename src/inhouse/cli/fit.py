"""``inhouse fit``: what a model needs in memory, what fits this machine, and why."""

from __future__ import annotations

import click

from ..plan.settings import CACHE_TYPES
from ._render import console, echo_json, fmt_bytes, print_table

ROWS = (
    ("weights_bytes", "weights"),
    ("repack_bytes", "repacked weights"),
    ("kv_bytes", "KV cache"),
    ("state_bytes", "recurrent state"),
    ("output_bytes", "output (logits)"),
    ("compute_bytes", "compute buffer"),
)
CACHE_CHOICES = list(CACHE_TYPES)


def _settings(ctx, batch, ubatch, parallel, type_k, type_v, flash_attn, swa_full, gpu_layers, repack):
    from ..plan.settings import LoadSettings

    return LoadSettings(n_ctx=ctx, n_batch=batch, n_ubatch=ubatch, n_seq=parallel, type_k=type_k, type_v=type_v,
                        flash_attn=flash_attn == "on", swa_full=swa_full, n_gpu_layers=gpu_layers, repack=repack)


def _describe(s) -> str:
    parts = [f"ctx {s.n_ctx}", f"ubatch {s.eff_ubatch}", f"K {s.type_k} / V {s.type_v}",
             f"flash attention {'on' if s.flash_attn else 'off'}", f"SWA cache {'full' if s.swa_full else 'windowed'}"]
    if s.n_seq > 1:
        parts.append(f"{s.n_seq} sequences")
    if s.n_gpu_layers:
        parts.append(f"{s.n_gpu_layers} GPU layers")
    if not s.repack:
        parts.append("no repacking")
    return ", ".join(parts)


def _check_sizes(budget: str | None, headroom: str | None) -> None:
    from ..plan.budget import parse_size

    if budget and budget != "auto":
        parse_size(budget)
    if headroom:
        parse_size(headroom)


def _machine_budget(headroom: str | None):
    from ..machine.probe import probe_machine
    from ..plan.budget import machine_budget, parse_size
    from ..store import Store

    with Store.open() as store, console(stderr=True).status("Reading this machine's memory and bandwidth..."):
        info = probe_machine(store)
    return machine_budget(info, parse_size(headroom) if headroom else None), info


def _print_budget(out, budget) -> None:
    if budget.source != "machine":
        out.print(f"Budget {fmt_bytes(budget.ram_bytes)} (given).")
        return
    out.print(f"[bold]Budget from this machine[/]: {fmt_bytes(budget.ram_bytes)} of RAM")
    out.print(f"  {'RAM in total':<52} {fmt_bytes(budget.total_ram_bytes):>11}")
    for line in budget.in_use:
        note = f"  ({line.note})" if line.note else ""
        out.print(f"  - {line.label:<50} {fmt_bytes(line.bytes):>11}{note}")
    out.print(f"  - {'headroom for your other work (--headroom)':<50} {fmt_bytes(budget.headroom_bytes):>11}")
    out.print(f"  = {'budget':<50} {fmt_bytes(budget.ram_bytes):>11}")
    if budget.vram_bytes:
        out.print(f"  VRAM budget {fmt_bytes(budget.vram_bytes)}")
    for note in budget.notes:
        out.print(f"  [dim]{note}[/]")


@click.command()
@click.argument("model", required=False)
@click.option("--quant", help="Quantization for a catalog model or config.json (e.g. Q4_K_M, Q8_0).")
@click.option("--ctx", "n_ctx", type=click.IntRange(1), default=512, show_default=True, help="Context length (n_ctx).")
@click.option("--batch", type=click.IntRange(1), default=512, show_default=True, help="Logical batch (n_batch).")
@click.option("--ubatch", type=click.IntRange(1), default=512, show_default=True, help="Micro-batch (n_ubatch).")
@click.option("--parallel", type=click.IntRange(1, 256), default=1, show_default=True,
              help="Parallel sequences (n_seq_max; llama.cpp takes at most 256).")
@click.option("--cache-type-k", type=click.Choice(CACHE_CHOICES), default="f16", show_default=True)
@click.option("--cache-type-v", type=click.Choice(CACHE_CHOICES), default="f16", show_default=True,
              help="A quantized V cache needs --flash-attn on.")
@click.option("--flash-attn", type=click.Choice(["on", "off"]), default="off", show_default=True)
@click.option("--swa-full/--no-swa-full", default=True, show_default=True,
              help="Full-size cache for sliding-window layers (llama-cpp-python's default) or only the window.")
@click.option("--gpu-layers", type=click.IntRange(0), default=0, show_default=True, help="Layers offloaded to a GPU.")
@click.option("--repack/--no-repack", default=True, show_default=True,
              help="CPU weight repacking (llama.cpp's extra buffer types), where this CPU gets it.")
@click.option("--verify", is_flag=True, help="Also load the model in llama.cpp and show what it really allocates.")
@click.option("--budget", help="A memory budget with its unit (12GiB, 12GB, 800MiB; a bare number is an error), "
                                "or 'auto' for this machine's: the largest context that fits.")
@click.option("--headroom", help="With --budget auto or --recommend: RAM to leave free, with its unit (e.g. 2GiB; "
                                  "default: 10% of RAM, at least 1 GiB).")
@click.option("--recommend", is_flag=True, help="Rank the catalog's coding models by what fits this machine.")
@click.option("--min-context", type=click.IntRange(256), default=32768, show_default=True,
              help="With --recommend: the context a model must hold.")
@click.option("--catalog", "show_catalog", is_flag=True, help="List the catalog of coding models.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def fit(model, quant, n_ctx, batch, ubatch, parallel, cache_type_k, cache_type_v, flash_attn, swa_full,
        gpu_layers, repack, verify, budget, headroom, recommend, min_context, show_catalog, as_json) -> None:
    """How much memory MODEL needs, as llama.cpp allocates it; what fits this machine.

    MODEL is a .gguf path, a model `inhouse models` lists (default: the built-in SmolLM2), a
    catalog id (`--catalog`) or a Hugging Face config.json. Defaults are llama-cpp-python's:
    n_ctx 512, n_batch 512, n_ubatch 512, one sequence, f16 K and V, flash attention off,
    full-size SWA cache, no GPU layers, repacking on.
    """
    from ..plan.context import check_context
    from ..plan.observed import MIB

    # Option values are checked before any model file is opened (a bad one fails at once).
    _check_sizes(budget, headroom)
    settings = _settings(n_ctx, batch, ubatch, parallel, cache_type_k, cache_type_v, flash_attn, swa_full,
                         gpu_layers, repack)
    if show_catalog:
        return _catalog(as_json)
    if recommend:
        check_context(min_context, option="--min-context")
        return _recommend(headroom, min_context, budget, as_json)
    from ..plan.target import resolve_target
    from ..store import Store

    with Store.open() as store:
        target = resolve_target(model, quant, store=store)
    if budget:
        return _budget(target, settings, budget, headroom, as_json)
    warnings = check_context(n_ctx, target.spec.n_ctx_train, model=target.label) + _gpu_warnings(gpu_layers)
    for w in warnings:  # on stderr in every mode; --json also lists them
        console(stderr=True).print(f"[yellow]Warning:[/] {w}")
    if verify:
        from ..plan.verify import verify as run_verify

        with console(stderr=True).status(f"llama.cpp is loading {target.label} to see what it allocates..."):
            est, obs = run_verify(target, settings)
    else:
        from ..plan.estimate import estimate

        est, obs = estimate(target.spec, settings), None
    from ..plan.record import record_fit

    with Store.open() as store:
        record_fit(store, target, settings, est, obs, ref=model)
    if as_json:
        data = {"model": target.label, "kind": target.kind, "settings": settings.to_dict(), **est.to_dict(),
                "n_ctx_train": target.spec.n_ctx_train, "warnings": warnings}
        if obs is not None:
            data["llama_cpp"] = {"total_bytes": obs.total_bytes, "breakdown": obs.breakdown(), "buffers": {
                "model": obs.model, "kv": obs.kv, "state": obs.state, "output": obs.output, "compute": obs.compute}}
        return echo_json(data)
    out = console()
    spec = target.spec
    out.print(f"[bold]{target.label}[/]  {spec.architecture}, {spec.n_layer} layers")
    out.print(f"  {_describe(settings)}")
    bd = est.breakdown()
    head = f"  {'':<20} {'estimate':>11}"
    if obs is not None:
        head += f" {'llama.cpp':>11} {'diff':>8}"
    out.print(head)
    rows = list(ROWS) + [("total_bytes", "total")]
    for key, label in rows:
        value = est.total_bytes if key == "total_bytes" else bd[key]
        line = f"  {label:<20} {fmt_bytes(value):>11}"
        if obs is not None:
            # llama.cpp's own figures as it printed them (MiB, two decimals); a difference within
            # that print precision is shown as "≈", not as a percentage it cannot support
            actual = obs.total_bytes if key == "total_bytes" else obs.breakdown()[key]
            slack = sum(obs.precision(k) for k in obs.breakdown()) if key == "total_bytes" else obs.precision(key)
            if abs(value - actual) <= slack:
                diff = "≈"
            else:
                diff = f"{(value - actual) / actual * 100:+.1f}%" if actual else "new"
            line += f" {actual / MIB:>7.2f} MiB {diff:>8}"
        out.print(("[bold]" if key == "total_bytes" else "") + line + ("[/]" if key == "total_bytes" else ""))
    if est.gpu:
        out.print(f"  on the GPU: {fmt_bytes(est.vram_bytes)}, in RAM: {fmt_bytes(est.ram_bytes)} "
                  "[dim](GPU split estimated, not checked on this machine)[/]")
    if est.repack_bytes:
        out.print(f"  resident once loaded: {fmt_bytes(est.resident_bytes)} [dim](the repacked weights are a "
                  "copy; the mapped originals are read once at load, then the page cache can drop them)[/]")
    biggest = max(est.phases, key=est.phases.get)
    out.print(f"  [dim]compute buffer set by the {biggest} phase of the graph[/]")
    if obs is not None:
        out.print("  [dim]≈: equal within llama.cpp's print precision (0.005 MiB per buffer line)[/]")
    if obs is not None and target.kind != "gguf":
        out.print("  [dim]llama.cpp loaded a synthetic GGUF with this model's shapes (no download)[/]")


def _gpu_warnings(gpu_layers: int) -> list[str]:
    """--gpu-layers on a machine where llama.cpp cannot offload: say so beside the GPU split."""
    if not gpu_layers:
        return []
    from ..machine.gpu import gpus

    found, why = gpus()
    if not found:
        return [f"--gpu-layers {gpu_layers}: no GPU on this machine ({why}); the GPU split is what a machine with "
                "one would need, and here llama.cpp keeps every layer in RAM."]
    try:
        import llama_cpp

        offload = bool(llama_cpp.llama_supports_gpu_offload())
    except (ImportError, OSError, AttributeError):
        offload = True  # cannot tell; the GPU is there
    if not offload:
        return [f"--gpu-layers {gpu_layers}: this llama-cpp-python build has no GPU backend; here llama.cpp keeps "
                "every layer in RAM (reinstall llama-cpp-python with CUDA to offload)."]
    return []


def _catalog(as_json: bool) -> None:
    from ..plan.catalog import load_catalog

    rows = []
    for m in load_catalog():
        sizes = {q: m.spec(q).weights_bytes for q in m.quants}
        spec = m.spec(m.quants[0])
        rows.append({"id": m.id, "name": m.name, "architecture": spec.architecture, "parameters": spec.n_params,
                     "max_context": m.max_context, "license": m.license, "weights_bytes": sizes})
    if as_json:
        return echo_json(rows)
    from ..plan.catalog import DEFAULT_QUANTS
    from ..plan.context import fmt_tokens

    quants = list(DEFAULT_QUANTS) + sorted({q for r in rows for q in r["weights_bytes"]} - set(DEFAULT_QUANTS))
    table = [[r["id"], f"{r['parameters'] / 1e9:.1f}B", fmt_tokens(r["max_context"]),
              *(fmt_bytes(r["weights_bytes"][q]) if q in r["weights_bytes"] else "-" for q in quants)] for r in rows]
    out = console()
    out.print("[bold]Catalog[/]: weights by quantization (what llama-quantize makes of each; "
              "`inhouse fit ID --quant Q` sizes the rest)")
    print_table(out, ["id", "params", "max ctx", *quants], table, right=("params", "max ctx", *quants),
                note="--json lists them")


def _budget(target, settings, budget_text: str, headroom, as_json: bool) -> None:
    from ..plan.budget import Budget, parse_size
    from ..plan.search import fit_budget

    if budget_text == "auto":
        budget, _ = _machine_budget(headroom)
    else:
        budget = Budget(ram_bytes=parse_size(budget_text), vram_bytes=parse_size(budget_text))
    fits = fit_budget(target.spec, settings, budget.ram_bytes, budget.vram_bytes)
    if as_json:
        return echo_json({"model": target.label, "budget": budget.to_dict(), "settings": settings.to_dict(),
                          "fits": [f.to_dict() for f in fits]})
    out = console()
    _print_budget(out, budget)
    out.print(f"\n[bold]{target.label}[/]: the largest context that fits")
    for f in fits:
        kv = f"K {f.type_k} / V {f.type_v}" + (", flash attention" if f.flash_attn else "")
        if not f.n_ctx:
            out.print(f"  {kv:<34} does not fit even at 256 tokens")
            continue
        cap = " (the model's own limit)" if f.capped_by_model else ""
        extra = (f" (llama.cpp reports {fmt_bytes(f.estimate.total_bytes)}: repacked weights counted twice)"
                 if f.estimate.repack_bytes else "")
        out.print(f"  {kv:<34} {f.n_ctx:>7} tokens{cap}  needs {fmt_bytes(f.estimate.ram_bytes)}{extra}")


def _recommend(headroom, min_context: int, budget_text: str | None, as_json: bool) -> None:
    from rich.markup import escape

    from ..plan.budget import Budget, parse_size
    from ..plan.context import fmt_tokens
    from ..plan.recommend import recommend

    budget, info = _machine_budget(headroom)
    if budget_text and budget_text != "auto":
        budget = Budget(ram_bytes=parse_size(budget_text))
    rows = recommend(budget.ram_bytes, info.bandwidth_bytes_per_s, min_context=min_context)
    if as_json:
        return echo_json({"budget": budget.to_dict(), "bandwidth_bytes_per_s": info.bandwidth_bytes_per_s,
                          "min_context": min_context, "models": [r.to_dict() for r in rows]})
    out = console()
    _print_budget(out, budget)
    bw = f"{info.bandwidth_bytes_per_s / 1e9:.1f} GB/s" if info.bandwidth_bytes_per_s else "unknown"
    out.print(f"\n[bold]Coding models for {fmt_tokens(min_context)}-token context[/] (decode bound at an 8k-token depth: "
              f"measured memory bandwidth {bw} / bytes read per token; real decoding reaches part of it)")
    from ..plan.recommend import best_per_model

    best = best_per_model(rows)
    width = max((len(r.name) for r in best), default=0)  # whole names: a cut name cannot be looked up
    for i, r in enumerate(best, 1):
        mark = "[green]fits[/] " if r.fits and not r.slow else ("[yellow]slow[/] " if r.fits else "[red]no[/]   ")
        tps = f"≤{r.decode_tps_bound:4.0f} tok/s" if r.decode_tps_bound else "    - tok/s"
        name = escape(r.name.ljust(width))
        out.print(f"{i:>3}. {mark} {name} {r.quant:<7} {tps}  {r.reason}")
    out.print("[dim]One row per model (its best quantization); --json lists every quantization.[/]")
