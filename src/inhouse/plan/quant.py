"""Quantization mixes: which ggml type each tensor gets, as llama.cpp's ``llama-quantize`` picks.

A "Q4_K_M" file is not 4.5 bits everywhere: norms stay float32, the output matrix gets Q6_K, and
a share of the attention-V and FFN-down matrices get more bits. This follows the main rules of
``llama_tensor_get_type`` in the pinned llama.cpp; it is used to size models that exist only as a
``config.json`` and to write synthetic GGUFs.
"""

from __future__ import annotations

from gguf import GGML_QUANT_SIZES, GGMLQuantizationType as T

from ..errors import ConfigError
from .layout import TensorLayout

# scheme -> (base type, type for "more bits" layers of attn_v / ffn_down, output type)
SCHEMES: dict[str, tuple[T, T, T]] = {
    "F16": (T.F16, T.F16, T.F16),
    "BF16": (T.BF16, T.BF16, T.BF16),
    "Q8_0": (T.Q8_0, T.Q8_0, T.Q8_0),
    "Q6_K": (T.Q6_K, T.Q6_K, T.Q6_K),
    "Q5_K_M": (T.Q5_K, T.Q6_K, T.Q6_K),
    "Q5_K_S": (T.Q5_K, T.Q5_K, T.Q6_K),
    "Q4_K_M": (T.Q4_K, T.Q6_K, T.Q6_K),
    "Q4_K_S": (T.Q4_K, T.Q4_K, T.Q6_K),
    "Q4_0": (T.Q4_0, T.Q4_0, T.Q6_K),
    "IQ4_NL": (T.IQ4_NL, T.IQ4_NL, T.Q6_K),
    "IQ4_XS": (T.IQ4_XS, T.IQ4_XS, T.Q6_K),
    "Q3_K_M": (T.Q3_K, T.Q4_K, T.Q6_K),
    "Q2_K": (T.Q2_K, T.Q3_K, T.Q6_K),
    "MXFP4": (T.Q8_0, T.Q8_0, T.Q8_0),  # gpt-oss's native format: experts MXFP4, the rest Q8_0
}
# what llama-quantize falls back to when a row is not a multiple of the 256-value K-quant block
_FALLBACK = {T.Q2_K: T.IQ4_NL, T.Q3_K: T.IQ4_NL, T.Q4_K: T.Q5_0, T.Q5_K: T.Q5_1, T.Q6_K: T.Q8_0,
             T.IQ4_XS: T.IQ4_NL}
_FLOAT_ROLES = {"norm", "bias", "router", "conv"}


def known_schemes() -> list[str]:
    return list(SCHEMES)


def _use_more_bits(i: int, n: int) -> bool:
    return i < n // 8 or i >= 7 * n // 8 or (i - n // 8) % 3 == 2


def tensor_type(t: TensorLayout, scheme: str, n_layer: int, tied: bool) -> T:
    try:
        base, more, output = SCHEMES[scheme.upper()]
    except KeyError:
        raise ConfigError(f"unknown quantization {scheme!r}; known: {', '.join(SCHEMES)}") from None
    if t.role in _FLOAT_ROLES or len(t.shape) == 1:
        return T.F32
    if scheme.upper() == "MXFP4" and t.role.startswith("exp_"):
        return T.MXFP4
    if t.role == "output" or (t.role == "embd" and tied):
        chosen = output
    elif t.role in ("attn_v", "ffn_down", "exp_down", "shexp_down"):
        il = int(t.name.split(".")[1]) if t.name.startswith("blk.") else 0
        chosen = more if _use_more_bits(il, n_layer) else base
    else:
        chosen = base
    block = GGML_QUANT_SIZES[chosen][0]
    while t.shape[0] % block:
        chosen = _FALLBACK.get(chosen, T.F16)
        block = GGML_QUANT_SIZES[chosen][0]
    return chosen


def tensor_nbytes(shape: tuple[int, ...], qtype: T) -> int:
    block, size = GGML_QUANT_SIZES[qtype]
    n = 1
    for d in shape:
        n *= d
    return n // block * size
