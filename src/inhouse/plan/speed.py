"""How many bytes one decoded token reads, and the decode speed memory bandwidth allows.

Decoding a token at position ``p`` (``p`` tokens already cached) reads every active weight once
(for a MoE only the routed experts' share, and one row of a looked-up embedding) and the K and V
cells attention looks at: llama.cpp reads the used cells padded to 256, so a cache of ``p + 1``
cells, a sliding-window layer only its window when ``swa_full`` is off. Both ``inhouse fit``'s
speed bound and ``inhouse bench``'s bandwidth share use this one function.
"""

from __future__ import annotations

from .kv import kv_bytes
from .settings import LoadSettings
from .spec import ModelSpec


def bytes_per_token(spec: ModelSpec, position: int, *, type_k: str = "f16", type_v: str = "f16",
                    swa_full: bool = LoadSettings.swa_full) -> int:
    """Bytes read to decode one token at ``position`` (tokens already in the KV cache)."""
    if position < 0:
        raise ValueError("position must be >= 0")
    quantized_v = type_v not in ("f16", "f32", "bf16")
    kv = kv_bytes(spec, LoadSettings(n_ctx=position + 1, type_k=type_k, type_v=type_v, swa_full=swa_full,
                                     flash_attn=quantized_v))
    return spec.active_weights_bytes() + kv


def decode_tps_bound(bytes_per_token: int, bandwidth_bytes_per_s: float | None) -> float | None:
    """The most tokens per second a read bandwidth allows: every token reads its bytes once."""
    if not bandwidth_bytes_per_s or bytes_per_token <= 0:
        return None
    return bandwidth_bytes_per_s / bytes_per_token


def bandwidth_share(bytes_per_token: int | None, tokens_per_s: float, bandwidth_bytes_per_s: float | None
                    ) -> float | None:
    """The share of the read bandwidth a decode speed uses; above 1 means the bandwidth figure or
    the byte count is wrong (the caller must not print it as a share)."""
    if not bytes_per_token or not bandwidth_bytes_per_s:
        return None
    return bytes_per_token * tokens_per_s / bandwidth_bytes_per_s
