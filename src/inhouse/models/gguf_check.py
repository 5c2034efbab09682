"""Walk a GGUF header without trusting it, before ``gguf.GGUFReader`` sees the file.

The reader believes every length and count in the header: an array claiming 2**50 elements makes
it build 2**50 Python objects, and a string claiming 2**60 bytes is silently cut short. This walk
reads the same structure with a small buffered file reader, checks each length, count, type and
dimension against what the file can hold, and computes each tensor's size so truncation is found
too. It allocates nothing that grows with a claimed size.
"""

from __future__ import annotations

import struct
from pathlib import Path

from ..errors import InvalidModelFile

# GGUF value types -> fixed byte size (STRING=8 and ARRAY=9 are variable).
_SCALAR_SIZES = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
_STRING, _ARRAY = 8, 9
MAX_KEY_BYTES = 1 << 16
MAX_DIMS = 4  # GGML_MAX_DIMS
MAX_ELEMENTS = 1 << 48  # no real tensor comes near; guards against overflowing products
MAX_ARRAY_DEPTH = 4


class _Reader:
    def __init__(self, fh, size: int, path: Path) -> None:
        self.fh, self.size, self.path = fh, size, path

    @property
    def pos(self) -> int:
        return self.fh.tell()

    def fail(self, what: str) -> InvalidModelFile:
        return InvalidModelFile(
            f"{self.path} has a corrupt or hostile GGUF header: {what} (at byte {self.pos}). "
            "Re-download the file; do not load it."
        )

    def need(self, n: int, what: str) -> None:
        if n < 0 or self.pos + n > self.size:
            raise self.fail(f"{what} needs {n} bytes but only {self.size - self.pos} remain")

    def unpack(self, fmt: str, what: str):
        n = struct.calcsize(fmt)
        self.need(n, what)
        return struct.unpack(fmt, self.fh.read(n))

    def skip(self, n: int, what: str) -> None:
        self.need(n, what)
        self.fh.seek(n, 1)

    def string(self, what: str, limit: int | None = None) -> bytes | None:
        (length,) = self.unpack("<Q", f"length of {what}")
        if limit is not None and length > limit:
            raise self.fail(f"{what} claims {length} bytes (at most {limit} allowed)")
        if limit is None:
            self.skip(length, what)
            return None
        self.need(length, what)
        return self.fh.read(length)

    def value(self, vtype: int, what: str, depth: int = 0) -> None:
        if vtype in _SCALAR_SIZES:
            self.skip(_SCALAR_SIZES[vtype], what)
        elif vtype == _STRING:
            self.string(what)
        elif vtype == _ARRAY:
            if depth >= MAX_ARRAY_DEPTH:
                raise self.fail(f"{what} nests arrays more than {MAX_ARRAY_DEPTH} deep")
            etype, count = self.unpack("<IQ", f"array header of {what}")
            if etype in _SCALAR_SIZES:
                self.skip(count * _SCALAR_SIZES[etype], f"{count} array elements of {what}")
                return
            if etype not in (_STRING, _ARRAY):
                raise self.fail(f"{what} has unknown array element type {etype}")
            # Every variable-size element takes at least 8 bytes (its length or array header).
            if count * 8 > self.size - self.pos:
                raise self.fail(f"{what} claims {count} elements, more than the file can hold")
            for _ in range(count):
                self.value(etype, what, depth + 1)
        else:
            raise self.fail(f"{what} has unknown value type {vtype}")


def check_gguf(path: Path, size: int) -> None:
    """Raise ``InvalidModelFile`` unless every part of the header is consistent with the file."""
    from gguf import GGML_QUANT_SIZES, GGMLQuantizationType

    quant_sizes = {int(k): v for k, v in GGML_QUANT_SIZES.items()}
    with open(path, "rb", buffering=1 << 16) as fh:
        r = _Reader(fh, size, path)
        r.skip(8, "magic and version")
        n_tensors, n_kv = r.unpack("<QQ", "tensor and key counts")
        alignment = 32
        for i in range(n_kv):
            key = r.string(f"key #{i}", MAX_KEY_BYTES) or b""
            (vtype,) = r.unpack("<I", f"type of {key!r}")
            if key == b"general.alignment" and vtype == 4:
                (alignment,) = r.unpack("<I", "general.alignment")
                if alignment == 0 or alignment & (alignment - 1):
                    raise r.fail(f"general.alignment is {alignment}, not a power of two")
                continue
            r.value(vtype, f"value of {key.decode(errors='replace')!r}")
        tensors = []
        for i in range(n_tensors):
            name = (r.string(f"tensor #{i} name", MAX_KEY_BYTES) or b"").decode(errors="replace")
            (n_dims,) = r.unpack("<I", f"dimension count of {name}")
            if not 1 <= n_dims <= MAX_DIMS:
                raise r.fail(f"tensor {name} has {n_dims} dimensions (1 to {MAX_DIMS} allowed)")
            dims = r.unpack(f"<{n_dims}Q", f"dimensions of {name}")
            n_elements = 1
            for d in dims:
                n_elements *= d
                if n_elements > MAX_ELEMENTS:
                    raise r.fail(f"tensor {name} has absurd dimensions {list(dims)}")
            ttype, offset = r.unpack("<IQ", f"type and offset of {name}")
            if ttype not in quant_sizes:
                raise r.fail(f"tensor {name} has unknown type {ttype}")
            block, type_size = quant_sizes[ttype]
            if dims[0] % block:
                raise r.fail(f"tensor {name}: first dimension {dims[0]} is not a multiple of "
                             f"{GGMLQuantizationType(ttype).name}'s block size {block}")
            tensors.append((name, offset, n_elements // block * type_size))
        data_start = (r.pos + alignment - 1) // alignment * alignment
        for name, offset, n_bytes in tensors:
            end = data_start + offset + n_bytes
            if end > size:
                raise InvalidModelFile(
                    f"{path} is truncated: tensor {name} ends at byte {end} but the file has "
                    f"{size} bytes. Re-download the file."
                )
