"""The tensors a GGUF of a given architecture holds, with their shapes, as llama.cpp loads them.

Used two ways: to size the weights of a model known only by its Hugging Face ``config.json``, and
to write synthetic GGUFs (``synthetic.py``) whose headers llama.cpp accepts. Shapes are ggml's
order (innermost first), as in llama.cpp's ``create_tensor`` calls. Each tensor carries a role
that the quantization mix (``quant.py``) uses to pick its type.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ModelError
from .spec import ModelSpec


@dataclass(frozen=True)
class TensorLayout:
    name: str
    shape: tuple[int, ...]
    role: str  # embd, output, norm, bias, attn_q, attn_k, attn_v, attn_o, ffn_gate, ffn_up, ffn_down,
    #            router, exp_gate, exp_up, exp_down, shexp_*, mla_*, conv, ...

    @property
    def n_values(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n


SUPPORTED = ("llama", "qwen2", "qwen3", "qwen3moe", "gemma2", "gemma3", "deepseek2", "gpt-oss",
             "lfm2", "starcoder2", "glm4moe")


def layout(spec: ModelSpec) -> list[TensorLayout]:
    """Every tensor of ``spec``'s architecture, in file order."""
    arch = spec.architecture
    if arch not in SUPPORTED:
        raise ModelError(f"inhouse cannot lay out tensors for architecture {arch!r} yet "
                         f"(supported: {', '.join(SUPPORTED)}); use a GGUF file of the model instead.")
    E, V = spec.n_embd, spec.n_vocab
    out: list[TensorLayout] = [TensorLayout("token_embd.weight", (E, V), "embd")]

    def t(name: str, shape: tuple[int, ...], role: str) -> None:
        out.append(TensorLayout(name, tuple(int(d) for d in shape), role))

    for il in range(spec.n_layer):
        p = f"blk.{il}."
        hk, hv = spec.head_dim_k, spec.head_dim_v
        nq, nkv = spec.n_head[il], spec.n_head_kv[il]
        norm_bias = arch == "starcoder2"
        t(p + "attn_norm.weight", (E,), "norm")
        if norm_bias:
            t(p + "attn_norm.bias", (E,), "bias")
        if arch == "deepseek2":
            _mla(spec, p, t)
        elif spec.is_recurrent(il):
            if arch == "lfm2":
                t(p + "shortconv.conv.weight", (spec.shortconv_l_cache, E), "conv")
                t(p + "shortconv.in_proj.weight", (E, 3 * E), "attn_q")
                t(p + "shortconv.out_proj.weight", (E, E), "attn_o")
        else:
            t(p + "attn_q.weight", (E, nq * hk), "attn_q")
            t(p + "attn_k.weight", (E, nkv * hk), "attn_k")
            t(p + "attn_v.weight", (E, nkv * hv), "attn_v")
            if arch in ("qwen2", "starcoder2", "gpt-oss", "glm4moe"):
                t(p + "attn_q.bias", (nq * hk,), "bias")
                t(p + "attn_k.bias", (nkv * hk,), "bias")
                t(p + "attn_v.bias", (nkv * hv,), "bias")
            t(p + "attn_output.weight", (nq * hv, E), "attn_o")
            if arch in ("starcoder2", "gpt-oss"):
                t(p + "attn_output.bias", (E,), "bias")
            if arch in ("qwen3", "qwen3moe", "gemma3", "lfm2"):
                t(p + "attn_q_norm.weight", (hk,), "norm")
                t(p + "attn_k_norm.weight", (hk,), "norm")
            if arch == "gpt-oss":
                t(p + "attn_sinks.weight", (nq,), "norm")
        if arch in ("gemma2", "gemma3", "gpt-oss", "glm4moe"):
            t(p + "post_attention_norm.weight", (E,), "norm")
        if arch not in ("gpt-oss", "glm4moe"):
            t(p + "ffn_norm.weight", (E,), "norm")
        if norm_bias:
            t(p + "ffn_norm.bias", (E,), "bias")
        moe_layer = spec.n_expert and il >= spec.n_layer_dense_lead and arch != "lfm2"
        if moe_layer:
            _moe(spec, p, t)
        else:
            F = spec.n_ff[il]
            if arch != "starcoder2":
                t(p + "ffn_gate.weight", (E, F), "ffn_gate")
            t(p + "ffn_up.weight", (E, F), "ffn_up")
            t(p + "ffn_down.weight", (F, E), "ffn_down")
            if arch == "starcoder2":
                t(p + "ffn_up.bias", (F,), "bias")
                t(p + "ffn_down.bias", (E,), "bias")
        if arch in ("gemma2", "gemma3"):
            t(p + "post_ffw_norm.weight", (E,), "norm")
    t("token_embd_norm.weight" if arch == "lfm2" else "output_norm.weight", (E,), "norm")
    if arch == "starcoder2":
        t("output_norm.bias", (E,), "bias")
    if not spec.tied_embeddings:
        t("output.weight", (E, V), "output")
    return out


def _mla(spec: ModelSpec, p: str, t) -> None:
    E, il_heads = spec.n_embd, spec.n_head[0]
    rope = spec.n_rot
    nope = spec.head_dim_k_mla - rope
    kv_rank = spec.kv_lora_rank
    if spec.q_lora_rank:
        t(p + "attn_q_a_norm.weight", (spec.q_lora_rank,), "norm")
        t(p + "attn_q_a.weight", (E, spec.q_lora_rank), "attn_q")
        t(p + "attn_q_b.weight", (spec.q_lora_rank, il_heads * spec.head_dim_k_mla), "attn_q")
    else:
        t(p + "attn_q.weight", (E, il_heads * spec.head_dim_k_mla), "attn_q")
    t(p + "attn_kv_a_norm.weight", (kv_rank,), "norm")
    t(p + "attn_kv_a_mqa.weight", (E, kv_rank + rope), "attn_k")
    t(p + "attn_k_b.weight", (nope, kv_rank, il_heads), "attn_k")
    t(p + "attn_v_b.weight", (kv_rank, spec.head_dim_v_mla, il_heads), "attn_v")
    t(p + "attn_output.weight", (il_heads * spec.head_dim_v_mla, E), "attn_o")


def _moe(spec: ModelSpec, p: str, t) -> None:
    E, X, F = spec.n_embd, spec.n_expert, spec.n_ff_exp
    t(p + "ffn_gate_inp.weight", (E, X), "router")
    if spec.architecture == "gpt-oss":
        t(p + "ffn_gate_inp.bias", (X,), "bias")
    if spec.architecture in ("deepseek2", "glm4moe"):
        t(p + "exp_probs_b.bias", (X,), "bias")
    t(p + "ffn_gate_exps.weight", (E, F, X), "exp_gate")
    t(p + "ffn_down_exps.weight", (F, E, X), "exp_down")
    t(p + "ffn_up_exps.weight", (E, F, X), "exp_up")
    if spec.architecture == "gpt-oss":
        t(p + "ffn_gate_exps.bias", (F, X), "bias")
        t(p + "ffn_down_exps.bias", (E, X), "bias")
        t(p + "ffn_up_exps.bias", (F, X), "bias")
    if spec.n_expert_shared:
        S = (spec.n_ff_shexp or F) * spec.n_expert_shared
        t(p + "ffn_gate_shexp.weight", (E, S), "shexp_gate")
        t(p + "ffn_down_shexp.weight", (S, E), "shexp_down")
        t(p + "ffn_up_shexp.weight", (E, S), "shexp_up")
