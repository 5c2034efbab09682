"""KV cache and output buffer sizes, as llama.cpp allocates them.

llama.cpp gives every attention layer a K and a V tensor of ``cells x n_embd_{k,v}_gqa``
elements in the cache type. Cells are the context length; sliding-window layers with
``swa_full=False`` get only ``min(n_ctx, pad(n_swa * n_seq + n_ubatch, 256))`` cells. Quantized
cache types store blocks of 32 values (q8_0: 34 bytes, q4_0: 18 bytes, ...).
"""

from __future__ import annotations

from dataclasses import dataclass

from .spec import ModelSpec

# ggml type -> (block size in values, bytes per block), and the ids llama.cpp's API uses.
CACHE_TYPES: dict[str, tuple[int, int, int]] = {
    "f32": (1, 4, 0),
    "f16": (1, 2, 1),
    "q4_0": (32, 18, 2),
    "q4_1": (32, 20, 3),
    "q5_0": (32, 22, 6),
    "q5_1": (32, 24, 7),
    "q8_0": (32, 34, 8),
    "iq4_nl": (32, 18, 20),
    "bf16": (1, 2, 30),
}
KV_PAD = 256


def pad(n: int, to: int) -> int:
    return (n + to - 1) // to * to


def row_bytes(cache_type: str, n_values: int) -> int:
    try:
        block, size, _ = CACHE_TYPES[cache_type]
    except KeyError:
        raise ValueError(f"unknown cache type {cache_type!r}; known: {', '.join(CACHE_TYPES)}") from None
    return n_values // block * size


@dataclass(frozen=True)
class KVSettings:
    n_ctx: int
    n_ubatch: int = 512
    n_seq: int = 1
    type_k: str = "f16"
    type_v: str = "f16"
    swa_full: bool = True  # llama-cpp-python's default


def kv_cells(spec: ModelSpec, s: KVSettings, swa: bool) -> int:
    full = pad(s.n_ctx, KV_PAD) if s.n_ctx % KV_PAD else s.n_ctx
    if not swa or s.swa_full:
        return full
    return min(full, pad(spec.n_swa * s.n_seq + s.n_ubatch, KV_PAD))


def kv_bytes(spec: ModelSpec, s: KVSettings) -> int:
    total = 0
    for il in range(spec.n_layer):
        if spec.n_head_kv[il] == 0:  # no attention in this layer (recurrent or MLP-only)
            continue
        swa = bool(spec.swa_layers and spec.swa_layers[il])
        cells = kv_cells(spec, s, swa)
        total += cells * (row_bytes(s.type_k, spec.n_embd_k_gqa(il)) + row_bytes(s.type_v, spec.n_embd_v_gqa(il)))
    return total


def output_bytes(spec: ModelSpec, n_seq: int = 1) -> int:
    """Logits for one output per sequence, float32."""
    return spec.n_vocab * 4 * max(1, n_seq)
