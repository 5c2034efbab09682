"""The worst-case graph llama.cpp builds for one micro-batch, as tensor sizes and lifetimes.

For the decoder families we know node by node (``REPLAYED``), we rebuild the graph llama.cpp's
``sched_reserve`` allocates: ``n_ubatch`` tokens, every one an output, the KV cache at its full
size. Only what ggml's allocator looks at is kept: each tensor's bytes, its sources, views and
in-place reuse, in llama.cpp's node order (``llm_graph_context``: ``build_norm``, ``build_attn``,
``build_ffn``, ``build_moe_ffn``). ``galloc.high_water_mark`` then places them as ggml does.
Weights and the KV cache live in their own buffers and are left out.
"""

from __future__ import annotations

from .galloc import Tensor, high_water_mark
from .kv import kv_cells_per_stream
from .settings import LoadSettings
from .spec import ModelSpec

F32, I32, I64 = 4, 4, 8
# llama.cpp architectures built by the same dense template (llama-style pre-norm, RMSNorm,
# rotary Q and K, gated SiLU feed-forward); qwen2 adds Q/K/V biases, qwen3 Q/K norms.
DENSE = {"llama": (False, False), "qwen2": (True, False), "qwen3": (False, True)}
MOE = {"qwen3moe": (False, True)}
REPLAYED = frozenset(DENSE) | frozenset(MOE)
LAYERS_REPLAYED = 4


class _Graph:
    def __init__(self) -> None:
        self.nodes: list[Tensor] = []

    def op(self, nbytes: int, *srcs: Tensor, inplace: bool = False, name: str = "") -> Tensor:
        """A new node; ``inplace``: ggml may write it over its first source (same layout)."""
        t = Tensor(nbytes, tuple(srcs), (0,) if inplace else (), name=name)
        self.nodes.append(t)
        return t

    def same(self, a: Tensor, *srcs: Tensor, name: str = "") -> Tensor:
        """An element-wise op ggml can run in place (norm, mul, add, rope, scale, soft_max)."""
        t = Tensor(a.nbytes, (a, *srcs), (0,), name=name)
        self.nodes.append(t)
        return t

    def view(self, a: Tensor, nbytes: int | None = None) -> Tensor:
        root = a.view_of or a
        t = Tensor(a.nbytes if nbytes is None else nbytes, (a,), view_of=root, external=root.external)
        self.nodes.append(t)
        return t


def _graph(spec: ModelSpec, s: LoadSettings, n_layer: int) -> tuple[list[Tensor], list[Tensor]]:
    """The graph with its first ``n_layer`` layers, the last of them built as the model's last."""
    T = s.eff_ubatch
    E = spec.n_embd
    Hq, Hkv = max(spec.n_head), max(spec.n_head_kv)
    Dk, Dv = spec.head_dim_k, spec.head_dim_v
    n_kv = kv_cells_per_stream(spec, s, swa=False)
    bias, qk_norm = DENSE.get(spec.architecture) or MOE[spec.architecture]
    g = _Graph()
    act = T * E * F32
    mask_elem = 2 if s.flash_attn else F32

    def inp(nbytes: int, name: str) -> Tensor:
        return Tensor(nbytes, is_input=True, name=name)

    tokens, embd_in, pos = inp(T * I32, "inp_tokens"), inp(act, "inp_embd"), inp(T * I32, "inp_pos")
    k_idxs = inp(T * I64, "k_idxs")
    v_idxs = inp(T * I64 * (1 if s.flash_attn else Hkv * Dv), "v_idxs")
    mask = inp(n_kv * T * mask_elem, "kq_mask")
    out_ids = inp(T * I32, "out_ids")
    leafs = [tokens, embd_in, pos, k_idxs, v_idxs, mask, out_ids]
    cache = Tensor(0, external=True, name="kv_cache")

    x = g.op(act, tokens, name="embd")
    for il in range(n_layer):
        last = il == n_layer - 1
        cur = g.same(g.op(act, x, inplace=True, name="norm"), name="attn_norm")

        def proj(width: int, rope: bool, norm: bool, name: str) -> Tensor:
            t = g.op(T * width * F32, cur, name=name)
            if bias:
                t = g.same(t)
            t = g.view(t)
            if norm:  # a view cannot be overwritten in place: the norm is a new tensor
                t = g.same(g.op(t.nbytes, t), name=name + "_normed")
            if rope:
                t = g.op(t.nbytes, t, pos, inplace=not norm) if not norm else g.same(t, pos)
            return t

        q = proj(Hq * Dk, True, qk_norm, "Qcur")
        v = proj(Hkv * Dv, False, False, "Vcur")
        k = proj(Hkv * Dk, True, qk_norm, "Kcur")
        g.op(0, g.view(k), k_idxs, cache)  # set_rows into the cache: no new memory
        g.op(0, g.view(v), v_idxs, cache)
        qp = g.view(g.view(q))
        if s.flash_attn:
            o = g.view(g.op(T * Hq * Dv * F32, qp, mask, name="fattn"))
        else:
            kq = g.op(n_kv * T * Hq * F32, qp, name="kq")
            sm = g.same(kq, mask, name="kq_soft_max")
            kqv = g.op(T * Hq * Dv * F32, sm, name="kqv")
            o = g.op(kqv.nbytes, g.view(kqv), name="kqv_out")  # cont of the permuted result
        a = g.op(act, o, name="attn_out")
        if last:  # llama.cpp keeps only the output rows (all n_ubatch of them when reserving)
            a = g.op(act, a, out_ids)
            x = g.op(act, x, out_ids)
        f = g.same(a, x, name="ffn_inp")
        cur = g.same(g.op(act, f, inplace=True), name="ffn_norm")
        if spec.n_expert and il >= spec.n_layer_dense_lead:
            out = _moe(g, spec, T, cur)
        else:
            F = spec.n_ff[il]
            gate, up = g.op(T * F * F32, cur, name="ffn_gate"), g.op(T * F * F32, cur, name="ffn_up")
            out = g.op(act, g.op(T * F * F32, gate, up, name="ffn_swiglu"), name="ffn_down")
        x = g.same(out, f, name="l_out")
    n = g.op(act, x, inplace=True, name="result_norm_0")
    result_norm = g.same(n, name="result_norm")
    result_norm.is_output = True
    logits = g.op(T * spec.n_vocab * F32, result_norm, name="result_output")
    logits.is_output = True
    return g.nodes, leafs


def _moe(g: _Graph, spec: ModelSpec, T: int, cur: Tensor) -> Tensor:
    """``build_moe_ffn`` with softmax gating and normalized top-k weights (qwen3moe)."""
    n_exp, k, F, E = spec.n_expert, spec.n_expert_used, spec.n_ff_exp, spec.n_embd
    probs = g.same(g.op(T * n_exp * F32, cur, name="ffn_moe_logits"), name="ffn_moe_probs")
    probs_r = g.view(probs)
    topk = g.view(g.op(T * n_exp * I32, probs, name="ffn_moe_argsort"), T * k * I32)
    weights = g.op(T * k * F32, probs_r, topk, name="ffn_moe_weights")
    w_r = g.view(weights)
    wsum = g.same(g.op(T * F32, w_r, name="ffn_moe_weights_sum"))
    w_norm = g.view(g.op(weights.nbytes, w_r, wsum, inplace=True, name="ffn_moe_weights_norm"))
    x = g.view(cur)
    gate = g.op(T * k * F * F32, x, topk, name="ffn_moe_gate")
    up = g.op(T * k * F * F32, x, topk, name="ffn_moe_up")
    act = g.op(gate.nbytes, gate, up, name="ffn_moe_swiglu")
    down = g.op(T * k * E * F32, act, topk, name="ffn_moe_down")
    weighted = g.same(down, w_norm, name="ffn_moe_weighted")
    views = [g.view(weighted, T * E * F32) for _ in range(k)]
    out = g.op(T * E * F32, views[0], views[1])
    for v in views[2:]:
        out = g.same(out, v)
    return out


def replayed_compute_bytes(spec: ModelSpec, s: LoadSettings) -> int | None:
    """The compute buffer llama.cpp reserves, by replaying its allocator on the rebuilt graph;
    ``None`` for an architecture or setting we have no node-by-node graph for."""
    if (spec.architecture not in REPLAYED or s.n_seq != 1 or spec.n_swa or any(spec.recurrent_layers)
            or s.type_k != "f16" or s.type_v != "f16"):
        return None
    # Identical layers leave the allocator in the same state each time, so the mark is reached
    # within a few of them (and the last); replaying four past any leading dense layers gives the
    # same figure as all of them (tests/plan/test_compute.py checks it) in a fraction of the time.
    n_layer = spec.n_layer
    if len(set(spec.n_ff)) <= 1 and len(set(spec.n_head)) <= 1 and len(set(spec.n_head_kv)) <= 1:
        n_layer = min(n_layer, spec.n_layer_dense_lead + LAYERS_REPLAYED)
    nodes, leafs = _graph(spec, s, n_layer)
    return high_water_mark(nodes, leafs)
