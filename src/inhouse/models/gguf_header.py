"""Read a GGUF file's header with the ``gguf`` library, safely.

``gguf.GGUFReader`` memory-maps the file and trusts what the header says. Before handing a file to
it we check the fixed-size preamble (magic, version, tensor and key counts) against the file's
real size, then walk the whole header with ``gguf_check`` (every length, count, type and
dimension against the file, and every tensor's data inside it). Anything the reader still raises
becomes an ``InvalidModelFile`` naming the file and what is wrong.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InvalidModelFile, ModelNotFound
from .gguf_check import check_gguf

GGUF_MAGIC = b"GGUF"
SUPPORTED_VERSIONS = (2, 3)
# Smallest possible on-disk records: a tensor info is a name length (8) + >=1 byte name + n_dims (4)
# + >=1 dim (8) + type (4) + offset (8); a key/value is key length (8) + key + type (4) + value.
_MIN_TENSOR_INFO = 8 + 1 + 4 + 8 + 4 + 8
_MIN_KV = 8 + 1 + 4 + 1


@dataclass
class GGUFHeader:
    """The parts of a GGUF header inhouse uses: key/values and tensor descriptions."""

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


def _check_preamble(path: Path, size: int) -> int:
    if size < 24:
        raise InvalidModelFile(
            f"{path} is not a GGUF model: it is only {size} bytes long. "
            "Re-download it or point inhouse at the right file."
        )
    with open(path, "rb") as fh:
        head = fh.read(24)
    if head[:4] != GGUF_MAGIC:
        raise InvalidModelFile(
            f"{path} is not a GGUF model (it does not start with the GGUF magic bytes). "
            "Convert it with llama.cpp's convert_hf_to_gguf.py or pick a .gguf file."
        )
    version, n_tensors, n_kv = struct.unpack("<IQQ", head[4:24])
    if version not in SUPPORTED_VERSIONS:
        raise InvalidModelFile(
            f"{path} is GGUF version {version}; inhouse reads versions "
            f"{', '.join(map(str, SUPPORTED_VERSIONS))}. Re-convert it with a current llama.cpp."
        )
    if n_tensors * _MIN_TENSOR_INFO + n_kv * _MIN_KV > size:
        raise InvalidModelFile(
            f"{path} has a corrupt GGUF header: it claims {n_tensors} tensors and {n_kv} keys, "
            f"more than a {size}-byte file can hold. Re-download the file."
        )
    return version


def _field_value(fld: Any) -> Any:
    from gguf import GGUFValueType

    if not fld.types:
        return None
    if fld.types[0] == GGUFValueType.ARRAY:
        # Large arrays (tokenizer vocab, merges) are not needed: keep their length only.
        if len(fld.data) > 64:
            return {"array_length": len(fld.data)}
    return fld.contents()


def read_header(path: str | os.PathLike[str]) -> GGUFHeader:
    """Read the header of the GGUF file at ``path``.

    >>> read_header("model.gguf").architecture
    'llama'
    """
    path = Path(path)
    try:
        st = path.stat()
    except FileNotFoundError as exc:
        raise ModelNotFound(f"No model file at {path}. Check the path, or run `inhouse models`.") from exc
    except OSError as exc:
        raise InvalidModelFile(f"Cannot read {path}: {exc.strerror}.") from exc
    if not path.is_file():
        raise InvalidModelFile(f"{path} is not a file. Give the path of a .gguf file.")
    size = st.st_size
    try:
        version = _check_preamble(path, size)
        check_gguf(path, size)
    except OSError as exc:
        raise InvalidModelFile(f"Cannot read {path}: {exc.strerror}.") from exc

    from gguf import GGUFReader

    try:
        reader = GGUFReader(path)
        fields = {name: _field_value(fld) for name, fld in reader.fields.items()}
        tensors = [
            {
                "name": t.name,
                "type": t.tensor_type.name,
                "shape": [int(d) for d in t.shape],
                "n_elements": int(t.n_elements),
                "n_bytes": int(t.n_bytes),
                "offset": int(t.data_offset),
            }
            for t in reader.tensors
        ]
    except InvalidModelFile:
        raise
    except (ValueError, IndexError, KeyError, TypeError, OverflowError, MemoryError, struct.error) as exc:
        raise InvalidModelFile(
            f"{path} has a corrupt or truncated GGUF header ({type(exc).__name__}: {exc}). "
            "Re-download the file."
        ) from exc
    except OSError as exc:
        raise InvalidModelFile(f"Cannot read {path}: {exc}.") from exc
    return GGUFHeader(path=path, size_bytes=size, version=version, fields=fields, tensors=tensors)
