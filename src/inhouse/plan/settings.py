"""``LoadSettings``: the llama.cpp load and context parameters a memory figure depends on.

Defaults are llama-cpp-python's (``Llama()``): n_ctx 512, n_batch 512, n_ubatch 512, one
sequence, f16 K and V caches, flash attention off, full-size SWA cache, no GPU layers, and CPU
weight repacking where the CPU and the weight type get it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

from ..errors import ConfigError

# ggml type name -> (block size in values, bytes per block, ggml type id) for the cache types
# llama.cpp accepts for K and V.
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


@dataclass(frozen=True)
class LoadSettings:
    n_ctx: int = 512
    n_batch: int = 512
    n_ubatch: int = 512
    n_seq: int = 1
    type_k: str = "f16"
    type_v: str = "f16"
    flash_attn: bool = False
    swa_full: bool = True  # llama-cpp-python's default
    n_gpu_layers: int = 0
    repack: bool = True  # llama.cpp's use_extra_bufts

    def __post_init__(self) -> None:
        for name in ("type_k", "type_v"):
            if getattr(self, name) not in CACHE_TYPES:
                raise ConfigError(f"unknown cache type {getattr(self, name)!r} for {name}; "
                                  f"known: {', '.join(CACHE_TYPES)}")
        if self.n_ctx < 1 or self.n_ubatch < 1 or self.n_batch < 1 or self.n_seq < 1:
            raise ConfigError("context, batch, ubatch and parallel sequences must be at least 1")
        if self.type_v != "f16" and self.type_v not in ("f32", "bf16") and not self.flash_attn:
            raise ConfigError(f"a quantized V cache ({self.type_v}) needs flash attention in llama.cpp: "
                              "add --flash-attn on")

    @property
    def eff_batch(self) -> int:
        """llama-cpp-python caps n_batch at n_ctx, and llama.cpp caps n_ubatch at n_batch."""
        return min(self.n_batch, self.n_ctx)

    @property
    def eff_ubatch(self) -> int:
        return min(self.n_ubatch, self.eff_batch)

    def with_(self, **changes) -> "LoadSettings":
        return replace(self, **changes)

    def to_dict(self) -> dict:
        return asdict(self)
