"""A ModelSpec from a Hugging Face ``config.json`` and a quantization, for models not downloaded.

The config gives the shapes; ``layout`` turns them into the tensors llama.cpp's converter writes,
and ``quant`` gives each tensor the type ``llama-quantize`` would. Field names differ between
model families (``num_experts`` / ``n_routed_experts`` / ``num_local_experts``, ...); each is
looked up under all of its spellings.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .spec import SWA_PATTERNS, ModelSpec

# Hugging Face model_type -> llama.cpp GGUF architecture
ARCHITECTURES = {
    "llama": "llama", "mistral": "llama", "granite": "llama", "codellama": "llama",
    "qwen2": "qwen2", "qwen3": "qwen3", "qwen3_moe": "qwen3moe",
    "gemma2": "gemma2", "gemma3": "gemma3", "gemma3_text": "gemma3",
    "deepseek_v2": "deepseek2", "deepseek_v3": "deepseek2",
    "gpt_oss": "gpt-oss", "lfm2": "lfm2", "starcoder2": "starcoder2", "glm4_moe": "glm4moe",
}


def _get(cfg: dict[str, Any], *names: str, default: Any = None) -> Any:
    for name in names:
        if cfg.get(name) is not None:
            return cfg[name]
    return default


def load_config(path: str | Path) -> dict[str, Any]:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read {path} as a Hugging Face config.json ({exc}).") from exc


def spec_from_hf_config(cfg: dict[str, Any]) -> ModelSpec:
    """The ModelSpec (without tensors: see ``synthetic.with_tensors``) of a ``config.json``."""
    if "text_config" in cfg and "num_hidden_layers" not in cfg:  # multimodal wrappers (gemma3)
        cfg = {**cfg["text_config"], "model_type": cfg["text_config"].get("model_type", cfg.get("model_type"))}
    model_type = str(cfg.get("model_type", ""))
    arch = ARCHITECTURES.get(model_type)
    if arch is None:
        raise ConfigError(f"config.json model_type {model_type!r} is not supported yet "
                          f"(supported: {', '.join(sorted(ARCHITECTURES))}).")
    try:
        L = int(cfg["num_hidden_layers"])
        E = int(cfg["hidden_size"])
        H = int(cfg["num_attention_heads"])
        V = int(cfg["vocab_size"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"config.json lacks a required field ({exc}).") from exc
    KV = int(_get(cfg, "num_key_value_heads", default=H))
    hd = int(_get(cfg, "head_dim", default=E // H))
    F = int(_get(cfg, "intermediate_size", "ffn_hidden_size", default=4 * E))
    spec = ModelSpec(
        architecture=arch, n_layer=L, n_embd=E, n_vocab=V,
        n_ctx_train=_get(cfg, "max_position_embeddings", "seq_length"),
        n_head=[H] * L, n_head_kv=[KV] * L, head_dim_k=hd, head_dim_v=hd, n_ff=[F] * L, n_rot=hd,
        tied_embeddings=bool(cfg.get("tie_word_embeddings", arch in ("gemma2", "gemma3"))),
        swa_layers=[False] * L,
    )
    # mixture of experts
    n_expert = int(_get(cfg, "num_experts", "n_routed_experts", "num_local_experts", default=0) or 0)
    if n_expert:
        spec.n_expert = n_expert
        spec.n_expert_used = int(_get(cfg, "num_experts_per_tok", "experts_per_token", default=1))
        spec.n_ff_exp = int(_get(cfg, "moe_intermediate_size", "intermediate_size", default=F))
        spec.n_expert_shared = int(_get(cfg, "n_shared_experts", default=0) or 0)
        shexp = int(_get(cfg, "shared_expert_intermediate_size", default=0) or 0)
        if shexp:
            spec.n_expert_shared = spec.n_expert_shared or 1
            spec.n_ff_shexp = shexp
        spec.n_layer_dense_lead = int(_get(cfg, "first_k_dense_replace", default=0) or 0)
    # multi-head latent attention
    if cfg.get("kv_lora_rank"):
        rope = int(cfg["qk_rope_head_dim"])
        spec.kv_lora_rank = int(cfg["kv_lora_rank"])
        spec.q_lora_rank = int(cfg.get("q_lora_rank") or 0)
        spec.head_dim_k_mla = int(cfg["qk_nope_head_dim"]) + rope
        spec.head_dim_v_mla = int(cfg["v_head_dim"])
        spec.n_rot = rope
        spec.n_head_kv = [1] * L
        spec.head_dim_k = spec.kv_lora_rank + rope
        spec.head_dim_v = spec.kv_lora_rank
    # sliding window
    layer_types = cfg.get("layer_types")
    window = cfg.get("sliding_window")
    if window and (arch in SWA_PATTERNS or layer_types) and cfg.get("use_sliding_window", True) is not False:
        spec.n_swa = int(window)
        if isinstance(layer_types, list) and any("sliding" in str(t) for t in layer_types):
            spec.swa_layers = ["sliding" in str(t) for t in layer_types][:L]
        else:
            n = int(cfg.get("sliding_window_pattern") or SWA_PATTERNS.get(arch, 0))
            spec.swa_layers = [n == 0 or (il % n) < (n - 1) for il in range(L)]
    elif arch == "llama" and window:  # Mistral 7B v0.1's window; llama.cpp ignores it
        pass
    # hybrid: LFM2 short convolutions
    if arch == "lfm2":
        types = layer_types or []
        spec.recurrent_layers = [t == "conv" for t in types][:L]
        spec.n_head_kv = [0 if r else KV for r in spec.recurrent_layers]
        spec.shortconv_l_cache = int(cfg.get("conv_L_cache", 3))
        spec.n_embd_r = E * (spec.shortconv_l_cache - 1)
        ff = int(_get(cfg, "block_ff_dim", "intermediate_size", default=F))
        if cfg.get("block_auto_adjust_ff_dim"):
            ff = int(2 * ff / 3)
            if cfg.get("block_ffn_dim_multiplier"):
                ff = int(float(cfg["block_ffn_dim_multiplier"]) * ff)
            mult = int(cfg.get("block_multiple_of", 256))
            ff = mult * math.ceil(ff / mult)
        spec.n_ff = [ff] * L
    return spec
