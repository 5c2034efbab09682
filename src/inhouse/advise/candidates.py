"""Which installed models fit this machine at a coding context, with the KV setting that fits.

Every GGUF ``inhouse models`` finds is sized by ``plan.estimate`` (its header is the truth) at
the asked context, or at the model's own context when that is shorter, trying the same settings
ladder as ``inhouse fit --recommend`` (f16 KV, then flash attention, then q8_0 and q4_0 caches).
Ranking: what fits first, then more parameters (a bigger model of a family codes better), then
more bits per weight, then the smaller memory footprint.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass
class Candidate:
    name: str
    path: str
    quant: str
    parameters: int
    n_ctx: int
    type_k: str
    type_v: str
    flash_attn: bool
    ram_bytes: int  # resident once loaded (what the budget is compared with)
    weights_bytes: int
    kv_bytes: int
    compute_bytes: int
    fits: bool
    reason: str
    chat: bool = True  # the GGUF has a chat template: an instruct model, not a base one

    def to_dict(self) -> dict:
        return asdict(self)


def size_installed(info, spec, context: int, budget_bytes: int) -> Candidate:
    """One installed model at ``context`` (capped by its own), with the first ladder step that fits."""
    from ..plan.recommend import first_that_fits
    from ..plan.settings import LoadSettings

    n_ctx = min(context, info.context_length or context)
    s, est = first_that_fits(spec, LoadSettings(n_ctx=n_ctx), budget_bytes)
    fits = est.ram_bytes <= budget_bytes
    kv_desc = f"{s.type_k} KV" + (", flash attention" if s.flash_attn else "")
    gib = 1 << 30
    if fits:
        reason = f"needs {est.ram_bytes / gib:.2f} GiB of {budget_bytes / gib:.2f} GiB at {n_ctx} tokens ({kv_desc})"
    else:
        reason = (f"needs {est.ram_bytes / gib:.2f} GiB at {n_ctx} tokens even with {kv_desc}; "
                  f"budget {budget_bytes / gib:.2f} GiB")
    if n_ctx < context:
        reason += f"; its own context is {n_ctx} tokens, below the {context} asked"
    return Candidate(name=info.name, path=str(info.path), quant=info.quantization, parameters=info.parameters,
                     n_ctx=n_ctx, type_k=s.type_k, type_v=s.type_v, flash_attn=s.flash_attn,
                     ram_bytes=est.ram_bytes, weights_bytes=est.weights_bytes, kv_bytes=est.kv_bytes,
                     compute_bytes=est.compute_bytes,
                     fits=fits, reason=reason, chat=bool(getattr(info, "has_chat_template", True)))


def rank(rows: list[Candidate]) -> list[Candidate]:
    from ..plan.recommend import QUANT_BITS

    # a base model without a chat template (the built-in Gemma 3 270M is one) cannot hold the
    # conversation a coding assistant needs: instruct models first, then the larger, then the finer
    return sorted(rows, key=lambda c: (not c.fits, not c.chat, -c.parameters, -QUANT_BITS.get(c.quant.upper(), 0),
                                       c.ram_bytes, c.name))


def installed_candidates(context: int, budget_bytes: int, store=None) -> tuple[list[Candidate], list[str]]:
    """Every installed GGUF sized and ranked, and one line per file that could not be read."""
    from ..models.discover import list_models, resolve_model_header
    from ..plan.spec import ModelSpec

    infos, problems = list_models(store=store)
    rows = []
    for info in infos:
        try:
            _, header = resolve_model_header(info.path, store=store)
            rows.append(size_installed(info, ModelSpec.from_header(header), context, budget_bytes))
        except Exception as exc:  # one unreadable or unsupported file must not stop the ranking
            problems.append(f"{info.path}: {exc}")
    return rank(rows), problems
