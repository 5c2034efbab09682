"""Turn a GGUF header into a ``ModelInfo`` (headers are cached in the store: ``header_cache``)."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

from .ggml_types import file_type_name
from .gguf_header import GGUFHeader, read_header
from .info import ModelInfo


def _quantization(header: GGUFHeader) -> str:
    ftype = header.fields.get("general.file_type")
    name = file_type_name(ftype) if isinstance(ftype, int) else None
    if name is not None:
        return name.removeprefix("MOSTLY_").removeprefix("ALL_")
    # No (known) file type: name it after the tensor type holding most of the weight bytes.
    by_bytes: Counter[str] = Counter()
    for t in header.tensors:
        if len(t["shape"]) >= 2:
            by_bytes[t["type"]] += t["n_bytes"]
    return by_bytes.most_common(1)[0][0] if by_bytes else "unknown"


def info_from_header(header: GGUFHeader, *, name: str | None = None, source: str = "path") -> ModelInfo:
    template = header.fields.get("tokenizer.chat_template")
    ctx = header.arch_field("context_length")
    return ModelInfo(
        name=name or header.path.stem,
        path=str(header.path),
        source=source,
        architecture=header.architecture,
        parameters=sum(t["n_elements"] for t in header.tensors),
        quantization=_quantization(header),
        size_bytes=header.size_bytes,
        context_length=int(ctx) if isinstance(ctx, int) else None,
        has_chat_template=isinstance(template, str) and bool(template),
        chat_template_supports_tools=isinstance(template, str) and "tools" in template,
    )


def read_model(
    path: str | os.PathLike[str], *, name: str | None = None, source: str = "path", store=None
) -> tuple[ModelInfo, GGUFHeader]:
    """One model's facts and the header they came from, in one read (or none: ``store`` caches)."""
    header = read_header(Path(path), store=store)
    return info_from_header(header, name=name, source=source), header


def read_model_info(
    path: str | os.PathLike[str], *, name: str | None = None, source: str = "path", store=None
) -> ModelInfo:
    """Read one model's facts from its GGUF header; ``store`` (a ``Store``) caches the header."""
    return read_model(path, name=name, source=source, store=store)[0]
