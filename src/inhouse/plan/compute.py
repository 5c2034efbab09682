"""The compute buffer: the scratch memory llama.cpp reserves for its worst-case graph.

llama.cpp builds the graph for one full micro-batch (``n_ubatch`` tokens, every token an output)
and lets ggml's allocator place every intermediate tensor, reusing memory once a tensor's last
reader is done. The buffer is the allocator's high-water mark. For the architectures whose graph
we rebuild node by node (``graph.REPLAYED``) we replay the allocator itself (``galloc``). For the
others we size the phases that set the mark, each as the tensors alive at that point (float32
unless said otherwise):

- output: the logits for every token of the micro-batch (``n_ubatch x n_vocab``), the
  reason a 262k-vocabulary model such as Gemma 3 needs half a GiB here;
- attention without flash attention: the ``KQ`` score matrix (``n_ubatch x n_kv x n_head``)
  and the mask, the term that grows with context;
- attention with flash attention: the mask (float16) and the per-token activations;
- feed-forward: gate, up and their product (``n_ff``, or the active experts' for a MoE).

The attention mask (one per cache: two for sliding-window models) is an input that stays alive
through every layer. Coefficients on the per-token activations were fitted against llama.cpp's
reports over synthetic models (``benchmarks/memory_accuracy.py`` checks them).
"""

from __future__ import annotations

from .kv import kv_cells_per_stream as kv_cells
from .settings import LoadSettings
from .spec import ModelSpec

F32 = 4


def _masks_bytes(spec: ModelSpec, s: LoadSettings, T: int) -> int:
    elem = 2 if s.flash_attn else F32
    full = kv_cells(spec, s, swa=False)
    total = T * full * elem
    if spec.n_swa and any(spec.swa_layers):
        total += T * kv_cells(spec, s, swa=True) * elem
    return total


def _ffn_width(spec: ModelSpec) -> int:
    """The widest feed-forward activation per token."""
    dense = max(spec.n_ff) if spec.n_ff else 0
    if not spec.n_expert:
        return dense
    moe = spec.n_expert_used * spec.n_ff_exp + spec.n_expert_shared * (spec.n_ff_shexp or spec.n_ff_exp)
    lead = dense if spec.n_layer_dense_lead else 0
    return max(moe, lead)


def _gated(spec: ModelSpec) -> bool:
    """Does the feed-forward have a gate projection? Without tensor names, assume it does."""
    names = spec.tensor_shapes or spec.tensor_bytes
    return not names or any(".ffn_gate" in n for n in names)


def compute_phases(spec: ModelSpec, s: LoadSettings) -> dict[str, int]:
    """Bytes alive at each phase that can set the high-water mark."""
    T = s.eff_ubatch
    E = spec.n_embd
    H = max(spec.n_head) if spec.n_head else 0
    masks = _masks_bytes(spec, s, T) if any(spec.has_kv(il) for il in range(spec.n_layer)) else 0
    n_kv = kv_cells(spec, s, swa=False)
    if spec.is_mla:
        qk_dim = spec.kv_lora_rank + spec.n_rot  # MLA attends in the compressed latent space
        v_dim = spec.kv_lora_rank
    else:
        qk_dim, v_dim = spec.head_dim_k, spec.head_dim_v
    act = T * E * F32
    phases = {
        "output": T * spec.n_vocab * F32 + 3 * act,
        # gated (gate, up and their product alive) or plain (up, activated in place, as starcoder2)
        "ffn": masks + T * (3 if _gated(spec) else 1) * _ffn_width(spec) * F32 + 4 * act,
    }
    if spec.n_expert:
        phases["ffn"] += T * spec.n_expert * F32 * 2  # router logits and probabilities
    if masks:
        q = T * H * qk_dim * F32
        if s.flash_attn:
            phases["attention"] = masks + q + T * H * v_dim * F32 + 3 * act
        else:
            phases["attention"] = masks + T * n_kv * H * F32 + q + 4 * act
    if any(spec.recurrent_layers):
        d_inner = spec.ssm.get("d_inner", 0) or 3 * E
        phases["recurrent"] = masks + T * d_inner * 3 * F32 + 4 * act
    return phases


def compute_bytes(spec: ModelSpec, s: LoadSettings) -> int:
    """The compute buffer: ggml's allocator replayed on the worst-case graph where we know the
    graph's shape (``graph.REPLAYED``), else the largest phase."""
    from .graph import replayed_compute_bytes

    replayed = replayed_compute_bytes(spec, s)
    return replayed if replayed is not None else max(compute_phases(spec, s).values())
