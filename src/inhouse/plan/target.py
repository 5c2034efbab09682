"""What ``inhouse fit MODEL`` names: a GGUF (a path or a model ``inhouse models`` finds), a catalog
entry, or a Hugging Face ``config.json``; each becomes a ModelSpec. A GGUF on this machine wins
over a catalog entry of the same name: its header is the truth."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import InhouseError, ModelNotFound
from .hf_config import load_config, spec_from_hf_config
from .spec import ModelSpec


@dataclass
class FitTarget:
    label: str
    kind: str  # "gguf", "catalog" or "config"
    spec: ModelSpec
    quant: str | None = None
    path: Path | None = None  # the GGUF, when there is one


def resolve_target(ref: str | None, quant: str | None = None, store=None) -> FitTarget:
    """What ``ref`` names, as a ModelSpec; a GGUF's header is read once (``store`` caches it)."""
    from ..models.discover import resolve_model_header

    if ref and ref.endswith(".json"):
        from .synthetic import with_tensors  # numpy and gguf's writer: only for a config.json

        spec = with_tensors(spec_from_hf_config(load_config(ref)), quant or "Q4_K_M")
        return FitTarget(f"{Path(ref).parent.name or ref} ({quant or 'Q4_K_M'})", "config", spec,
                         quant or "Q4_K_M")
    try:
        info, header = resolve_model_header(ref, store=store)
    except ModelNotFound as exc:
        from .catalog import find, load_catalog  # numpy and gguf's writer: only for a catalog model

        if ref and ref.lower() in {m.id for m in load_catalog()}:
            model = find(ref)
            q = quant or model.quants[0]
            return FitTarget(f"{model.name} ({q})", "catalog", model.spec(q), q)
        raise ModelNotFound(f"{exc} Catalog models (`inhouse fit --catalog`) work too, as does a "
                            "Hugging Face config.json.") from None
    if quant:
        raise InhouseError(f"--quant applies to catalog models and config.json files; {info.name} is "
                           f"already quantized ({info.quantization}).")
    spec = ModelSpec.from_header(header)
    return FitTarget(f"{info.name} ({info.quantization})", "gguf", spec, info.quantization, Path(info.path))
