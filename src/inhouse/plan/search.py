"""The largest context that fits a memory budget, per KV-cache type."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from .estimate import MemoryEstimate, estimate
from .settings import LoadSettings
from .spec import ModelSpec

STEP = 256  # llama.cpp pads the KV cache to 256 cells
# (K type, V type): quantized V caches need flash attention in llama.cpp
KV_LADDER = (("f16", "f16"), ("q8_0", "q8_0"), ("q4_0", "q4_0"))


@dataclass
class ContextFit:
    type_k: str
    type_v: str
    flash_attn: bool
    n_ctx: int  # 0 when not even the smallest context fits
    estimate: MemoryEstimate | None
    capped_by_model: bool

    def to_dict(self) -> dict:
        d = asdict(self)
        d["estimate"] = self.estimate.to_dict() if self.estimate else None
        return d


def _fits(spec: ModelSpec, s: LoadSettings, budget: int, vram: int) -> MemoryEstimate | None:
    est = estimate(spec, s)
    ok = est.ram_bytes <= budget and (est.vram_bytes <= vram if s.n_gpu_layers else True)
    return est if ok else None


def max_context(spec: ModelSpec, base: LoadSettings, budget_bytes: int, vram_bytes: int = 0,
                ceiling: int | None = None) -> ContextFit:
    """Binary search on n_ctx (multiples of 256) up to ``ceiling`` (default: the model's trained
    context). Memory grows with context, so the first failure bounds the search."""
    top = max(STEP, (ceiling or spec.n_ctx_train or 131072) // STEP * STEP)
    lo, hi, best = 0, top // STEP, None
    while lo < hi:
        mid = (lo + hi + 1) // 2
        est = _fits(spec, base.with_(n_ctx=mid * STEP), budget_bytes, vram_bytes)
        if est is not None:
            lo, best = mid, est
        else:
            hi = mid - 1
    return ContextFit(base.type_k, base.type_v, base.flash_attn, lo * STEP, best, lo * STEP >= top)


def fit_budget(spec: ModelSpec, base: LoadSettings, budget_bytes: int, vram_bytes: int = 0,
               ceiling: int | None = None) -> list[ContextFit]:
    """The largest context for each KV type in the ladder (flash attention on for quantized V)."""
    out = []
    for k, v in KV_LADDER:
        fa = base.flash_attn or v not in ("f16", "f32", "bf16")
        out.append(max_context(spec, base.with_(type_k=k, type_v=v, flash_attn=fa), budget_bytes,
                               vram_bytes, ceiling))
    return out
