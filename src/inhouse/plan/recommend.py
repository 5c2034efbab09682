"""Which catalog coding models fit this machine, ranked, each with the reason it fits or not.

For every model and usual quantization: the first setting in a ladder (f16 KV without flash
attention, as llama-cpp-python defaults; then flash attention; then q8_0 and q4_0 KV caches) at
which the asked context fits the budget. Decode speed is the memory-bandwidth bound: the bytes
read per token (the active weights, only the routed experts' share for a MoE, plus the KV cache
at the depth given) divided into the measured bandwidth; real decoding reaches part of it
(``inhouse bench`` measures how much). Ranking: models that fit first (those slower than ``min_tps`` after the rest), then by quality (the
catalog's ordering), then by quantization bits, then by speed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from .catalog import CatalogModel, load_catalog
from .context import fmt_tokens
from .estimate import estimate
from .settings import LoadSettings
from .speed import bytes_per_token, decode_tps_bound

SETTINGS_LADDER = (("f16", "f16", False), ("f16", "f16", True), ("q8_0", "q8_0", True), ("q4_0", "q4_0", True))
QUANT_BITS = {"F16": 16, "Q8_0": 8.5, "Q6_K": 6.56, "Q5_K_M": 5.7, "Q4_K_M": 4.9, "MXFP4": 4.25}


@dataclass
class Recommendation:
    model_id: str
    name: str
    quant: str
    quality: int
    fits: bool
    reason: str
    n_ctx: int
    type_k: str | None
    type_v: str | None
    flash_attn: bool | None
    total_bytes: int | None  # what llama.cpp reports (repacked weights counted with their originals)
    weights_bytes: int
    active_bytes_per_token: int
    decode_tps_bound: float | None
    slow: bool = False  # fits, but the bandwidth bound is under min_tps
    ram_bytes: int | None = None  # resident in RAM once loaded: what the budget is compared with

    def to_dict(self) -> dict:
        return asdict(self)


def _gib(n: int) -> str:
    return f"{n / (1 << 30):.1f} GiB"


def first_that_fits(spec, settings: LoadSettings, budget_bytes: int):
    """(settings, estimate) of the first rung of ``SETTINGS_LADDER`` (f16 KV, flash attention,
    q8_0, q4_0) that fits ``budget_bytes`` at ``settings``' context; when none does, the smallest."""
    chosen = None
    for k, v, fa in SETTINGS_LADDER:
        s = settings.with_(type_k=k, type_v=v, flash_attn=fa)
        est = estimate(spec, s)
        if est.ram_bytes <= budget_bytes:
            return s, est
        if chosen is None or est.ram_bytes < chosen[1].ram_bytes:
            chosen = (s, est)
    return chosen


def recommend(budget_bytes: int, bandwidth_bytes_per_s: float | None, *, min_context: int = 32768,
              depth: int = 8192, catalog: list[CatalogModel] | None = None,
              base: LoadSettings | None = None, min_tps: float = 5.0) -> list[Recommendation]:
    base = base or LoadSettings()
    rows: list[Recommendation] = []
    for model in catalog or load_catalog():
        for quant in model.quants:
            spec = model.spec(quant)
            active = spec.active_weights_bytes()
            tps = decode_tps_bound(bytes_per_token(spec, depth, type_k=base.type_k, type_v=base.type_v,
                                                   swa_full=base.swa_full), bandwidth_bytes_per_s)
            common = dict(model_id=model.id, name=model.name, quant=quant, quality=model.quality,
                          weights_bytes=spec.weights_bytes, active_bytes_per_token=active, decode_tps_bound=tps)
            if model.max_context < min_context:
                rows.append(Recommendation(**common, fits=False, n_ctx=0, type_k=None, type_v=None,
                                           flash_attn=None, total_bytes=None,
                                           reason=f"its context is {fmt_tokens(model.max_context)}, below the "
                                                  f"{fmt_tokens(min_context)} asked"))
                continue
            s, est = first_that_fits(spec, base.with_(n_ctx=min_context), budget_bytes)
            fits = est.ram_bytes <= budget_bytes
            fits_fast = True
            kv_desc = f"{s.type_k} KV" + (", flash attention" if s.flash_attn else "")
            if fits:
                reason = (f"needs {_gib(est.ram_bytes)} of {_gib(budget_bytes)} at {fmt_tokens(min_context)} "
                          f"context ({kv_desc})")
                if tps is not None and tps < min_tps:
                    reason += f", but slow: at most {tps:.1f} tokens/s from memory bandwidth"
                    fits_fast = False
            else:
                reason = (f"needs {_gib(est.ram_bytes)} at {fmt_tokens(min_context)} context even with "
                          f"{kv_desc}; budget {_gib(budget_bytes)}")
            rows.append(Recommendation(**common, fits=fits, slow=not fits_fast, reason=reason, n_ctx=min_context, type_k=s.type_k,
                                       type_v=s.type_v, flash_attn=s.flash_attn, total_bytes=est.total_bytes,
                                       ram_bytes=est.ram_bytes))
    rows.sort(key=lambda r: (not r.fits, r.slow, -r.quality, -QUANT_BITS.get(r.quant, 0), -(r.decode_tps_bound or 0)))
    return rows


def best_per_model(rows: list[Recommendation]) -> list[Recommendation]:
    """One row per model: the quantization with the most bits that fits at a usable speed, else
    the most bits that fits, else the one that comes closest."""
    best: dict[str, Recommendation] = {}

    def score(r: Recommendation) -> tuple:
        return (r.fits and not r.slow, r.fits, QUANT_BITS.get(r.quant, 0) if r.fits else -(r.ram_bytes or 1 << 62))

    for r in rows:
        if r.model_id not in best or score(r) > score(best[r.model_id]):
            best[r.model_id] = r
    return [r for r in rows if best.get(r.model_id) is r]
