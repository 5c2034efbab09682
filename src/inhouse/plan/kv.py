"""KV cache and output buffer sizes, as llama.cpp allocates them.

llama.cpp gives every attention layer a K and a V tensor of ``cells x n_embd_{k,v}_gqa``
elements in the cache type. Cells are the context length (see ``kv_cells_per_stream`` for the
padding and the split between sequences); sliding-window layers with ``swa_full=False`` get only
the window plus one micro-batch. Quantized
cache types store blocks of 32 values (q8_0: 34 bytes, q4_0: 18 bytes, ...).
"""

from __future__ import annotations

from .settings import CACHE_TYPES, LoadSettings
from .spec import ModelSpec

KV_PAD = 256


def pad(n: int, to: int) -> int:
    return (n + to - 1) // to * to


def row_bytes(cache_type: str, n_values: int) -> int:
    try:
        block, size, _ = CACHE_TYPES[cache_type]
    except KeyError:
        raise ValueError(f"unknown cache type {cache_type!r}; known: {', '.join(CACHE_TYPES)}") from None
    return n_values // block * size


KVSettings = LoadSettings  # the name the KV tests grew up with


def kv_cells_per_stream(spec: ModelSpec, s: LoadSettings, swa: bool) -> int:
    """Cells of one sequence's cache. llama.cpp pads n_ctx to 256 and, with one stream per
    sequence (its default: the cache is not unified), gives each ``pad(n_ctx / n_seq, 256)``;
    a windowed SWA cache gets ``pad(min(that, n_swa + n_ubatch), 256)``."""
    per = pad(pad(s.n_ctx, KV_PAD) // s.n_seq, KV_PAD)
    if swa and not s.swa_full:
        per = pad(min(per, spec.n_swa + s.eff_ubatch), KV_PAD)
    return per


def kv_cells(spec: ModelSpec, s: LoadSettings, swa: bool) -> int:
    return kv_cells_per_stream(spec, s, swa) * s.n_seq


def kv_layer_bytes(spec: ModelSpec, s: LoadSettings, il: int) -> int:
    """K and V bytes of layer ``il``; 0 for a recurrent or attention-free layer. MLA models
    (deepseek2) cache one compressed latent per token as K and keep no V."""
    if not spec.has_kv(il):
        return 0
    swa = bool(spec.swa_layers and spec.swa_layers[il])
    cells = kv_cells(spec, s, swa)
    k = row_bytes(s.type_k, spec.n_embd_k_gqa(il))
    v = 0 if spec.is_mla else row_bytes(s.type_v, spec.n_embd_v_gqa(il))
    return cells * (k + v)


def kv_bytes(spec: ModelSpec, s: LoadSettings) -> int:
    return sum(kv_layer_bytes(spec, s, il) for il in range(spec.n_layer))


def state_bytes(spec: ModelSpec, s: LoadSettings) -> int:
    """Recurrent state (llama.cpp's "RS" buffer): per recurrent layer and sequence, a convolution
    state of ``n_embd_r`` and an SSM state of ``n_embd_s`` float32 values."""
    n_rec = sum(1 for il in range(spec.n_layer) if spec.is_recurrent(il))
    return n_rec * max(1, s.n_seq) * (spec.n_embd_r + spec.n_embd_s) * 4


def output_bytes(spec: ModelSpec, n_seq: int = 1) -> int:
    """Logits for one output per sequence, float32."""
    return spec.n_vocab * 4 * max(1, n_seq)
