"""ggml's tensor types as GGUF numbers them: id -> (name, block size, bytes per block)."""

from __future__ import annotations

from gguf import GGML_QUANT_SIZES, GGMLQuantizationType

GGML_TYPES: dict[int, tuple[str, int, int]] = {
    int(t): (t.name, *GGML_QUANT_SIZES[t]) for t in GGMLQuantizationType if t in GGML_QUANT_SIZES
}
