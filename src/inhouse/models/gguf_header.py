"""A GGUF file's header: the key/values and tensor descriptions inhouse uses.

``read_header`` makes one validating streaming pass over the file (``gguf_parse``); it never
memory-maps the file and never reads tensor data. With a ``store`` the result is cached by path
and checked against the file's size, mtime, ctime and inode on every use (``header_cache``).
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InvalidModelFile, ModelNotFound
from .gguf_parse import parse_gguf


@dataclass
class GGUFHeader:
    """The parts of a GGUF header inhouse uses: key/values and tensor descriptions.

    Large arrays (the tokenizer's vocabulary) appear in ``fields`` as
    ``{"array_length": n, "type": "STRING"}``; everything else as its value.
    """

    path: Path
    size_bytes: int
    version: int
    fields: dict[str, Any]
    tensors: list[dict[str, Any]] = field(default_factory=list)

    @property
    def architecture(self) -> str:
        return str(self.fields.get("general.architecture", "unknown"))

    def arch_field(self, key: str, default: Any = None) -> Any:
        return self.fields.get(f"{self.architecture}.{key}", default)

    def to_dict(self) -> dict[str, Any]:
        """Everything but the path, as JSON-ready data (what the store caches)."""
        return {"size_bytes": self.size_bytes, "version": self.version, "fields": self.fields,
                "tensors": self.tensors}

    @classmethod
    def from_dict(cls, path: Path, data: dict[str, Any]) -> "GGUFHeader":
        return cls(path=path, size_bytes=data["size_bytes"], version=data["version"], fields=data["fields"],
                   tensors=data["tensors"])


def file_stat(path: Path) -> os.stat_result:
    """``path``'s stat, with the errors a user can act on."""
    try:
        st = path.stat()
    except FileNotFoundError as exc:
        raise ModelNotFound(f"No model file at {path}. Check the path, or run `inhouse models`.") from exc
    except OSError as exc:
        raise InvalidModelFile(f"Cannot read {path}: {exc.strerror}.") from exc
    if not stat.S_ISREG(st.st_mode):
        raise InvalidModelFile(f"{path} is not a file. Give the path of a .gguf file.")
    return st


def read_header(path: str | os.PathLike[str], store=None) -> GGUFHeader:
    """Read the header of the GGUF file at ``path`` (from ``store``'s cache when still valid).

    >>> read_header("model.gguf").architecture
    'llama'
    """
    path = Path(path)
    if store is not None:
        from .header_cache import cached_read

        return cached_read(path, store)
    return _read(path, file_stat(path))


def _read(path: Path, st: os.stat_result) -> GGUFHeader:
    try:
        with open(path, "rb", buffering=0) as fh:
            version, fields, tensors = parse_gguf(fh, st.st_size, path)
    except OSError as exc:
        raise InvalidModelFile(f"Cannot read {path}: {exc.strerror or exc}.") from exc
    return GGUFHeader(path=path, size_bytes=st.st_size, version=version, fields=fields, tensors=tensors)
