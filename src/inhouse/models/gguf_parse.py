"""One streaming pass over a GGUF header that validates and collects at the same time.

Why hand-written: ``gguf.GGUFReader`` memory-maps the file and builds a numpy view (plus Python
objects) for every element of every array: reading Gemma 3 270M's header (262,144 tokens,
scores and token types) took 13 to 39 s on the project's (busy) 2-core VM. This pass reads the
header with plain buffered ``read`` calls and ``struct``, keeps scalars, strings and small arrays
as values, and for the tokenizer's vocabulary arrays (and any array over ``MAX_KEPT_ARRAY``
elements) only walks past the bytes, recording count and element type: that is all sizing needs.
The same file takes about 30 ms of CPU (62 ms wall-clock from a dropped page cache on the busy
VM); ``python benchmarks/header_speed.py`` prints the figures.

It trusts nothing in the header: every length, count, type and dimension is checked against the
file's size before it is used, every tensor's data must lie inside the file, and nothing is
allocated that grows with a claimed size (a kept string is at most ``MAX_KEPT_STRING`` bytes).
Anything wrong raises a one-line ``InvalidModelFile`` naming the file and the byte where it was
found.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any, BinaryIO

from ..errors import InvalidModelFile
from .ggml_types import ggml_type

GGUF_MAGIC = b"GGUF"
SUPPORTED_VERSIONS = (2, 3)
MAX_KEY_BYTES = 1 << 16
MAX_DIMS = 4  # GGML_MAX_DIMS
MAX_ELEMENTS = 1 << 48  # no real tensor comes near; guards against overflowing products
MAX_ARRAY_DEPTH = 4
MAX_KEPT_ARRAY = 1024  # per-layer arrays are kept as values; vocabularies only as count and type
MAX_KEPT_STRING = 1 << 24  # a longer string value is kept as its length only
VOCAB_ARRAYS = frozenset({"tokenizer.ggml.tokens", "tokenizer.ggml.scores", "tokenizer.ggml.token_type",
                          "tokenizer.ggml.merges"})
_CHUNK = 1 << 16
# Smallest possible on-disk records: a tensor info is a name length (8) + >=1 byte name + n_dims (4)
# + >=1 dim (8) + type (4) + offset (8); a key/value is key length (8) + key + type (4) + value.
_MIN_TENSOR_INFO = 8 + 1 + 4 + 8 + 4 + 8
_MIN_KV = 8 + 1 + 4 + 1

# GGUF value types: id -> (name, struct format) for fixed-size ones; STRING=8 and ARRAY=9 vary.
_SCALARS = {0: ("UINT8", "B"), 1: ("INT8", "b"), 2: ("UINT16", "H"), 3: ("INT16", "h"), 4: ("UINT32", "I"),
            5: ("INT32", "i"), 6: ("FLOAT32", "f"), 7: ("BOOL", "?"), 10: ("UINT64", "Q"), 11: ("INT64", "q"),
            12: ("FLOAT64", "d")}
_STRING, _ARRAY = 8, 9
VALUE_TYPE_NAMES = {**{k: v[0] for k, v in _SCALARS.items()}, _STRING: "STRING", _ARRAY: "ARRAY"}
_ONE = {k: struct.Struct("<" + fmt) for k, (_, fmt) in _SCALARS.items()}
_U32, _U64, _U32U64 = struct.Struct("<I"), struct.Struct("<Q"), struct.Struct("<IQ")


class _Stream:
    """A forward reader over a file with its own buffer; ``pos`` is the file offset."""

    def __init__(self, fh: BinaryIO, size: int, path: Path) -> None:
        self.fh, self.size, self.path = fh, size, path
        self.buf = b""
        self.off = 0  # position in buf
        self.base = 0  # file offset of buf[0]; the file's own position is base + len(buf)

    @property
    def pos(self) -> int:
        return self.base + self.off

    def fail(self, what: str) -> InvalidModelFile:
        return InvalidModelFile(
            f"{self.path} has a corrupt or hostile GGUF header: {what} (at byte {self.pos}). "
            "Re-download the file; do not load it."
        )

    def need(self, n: int, what: str) -> None:
        if n < 0 or self.pos + n > self.size:
            raise self.fail(f"{what} needs {n} bytes but only {self.size - self.pos} remain")

    def _fill(self, n: int) -> None:
        """Make ``buf[off:off + n]`` readable (the caller checked the file holds it)."""
        if self.off + n <= len(self.buf):
            return
        rest = self.buf[self.off:]
        self.base += self.off
        self.buf = rest + self.fh.read(max(n - len(rest), _CHUNK))
        self.off = 0
        if len(self.buf) < n:
            raise self.fail("the file ended early (was it changed while being read?)")

    def take(self, n: int, what: str) -> bytes:
        self.need(n, what)
        self._fill(n)
        out = self.buf[self.off:self.off + n]
        self.off += n
        return out

    def unpack(self, st: struct.Struct, what: str) -> tuple:
        self.need(st.size, what)
        self._fill(st.size)
        out = st.unpack_from(self.buf, self.off)
        self.off += st.size
        return out

    def skip(self, n: int, what: str) -> None:
        self.need(n, what)
        if self.off + n <= len(self.buf):
            self.off += n
            return
        self.base, self.buf, self.off = self.pos + n, b"", 0
        self.fh.seek(self.base)

    def text(self, what: str, limit: int) -> str:
        (length,) = self.unpack(_U64, f"length of {what}")
        if length > limit:
            raise self.fail(f"{what} claims {length} bytes (at most {limit} allowed)")
        return self.take(length, what).decode("utf-8", errors="replace")

    def skip_strings(self, count: int, what: str) -> None:
        """Walk past ``count`` strings: the hot loop of a 262k-token vocabulary."""
        unpack = _U64.unpack_from
        buf, off = self.buf, self.off
        end = len(buf)
        for i in range(count):
            if off + 8 > end:
                self.off = off
                self.need(8, f"length of element {i} of {what}")
                self._fill(8)
                buf, off = self.buf, self.off
                end = len(buf)
            (n,) = unpack(buf, off)
            off += 8 + n
            if off > end:  # the string runs past the buffer: skip the rest by seeking
                self.off = off - n
                self.skip(n, f"element {i} of {what}")
                buf, off = self.buf, self.off
                end = len(buf)
        self.off = off

    def value(self, vtype: int, what: str, key: str, depth: int = 0) -> Any:
        if vtype in _ONE:
            return self.unpack(_ONE[vtype], what)[0]
        if vtype == _STRING:
            (length,) = self.unpack(_U64, f"length of {what}")
            if length > MAX_KEPT_STRING:
                self.skip(length, what)
                return {"string_length": length}
            return self.take(length, what).decode("utf-8", errors="replace")
        if vtype != _ARRAY:
            raise self.fail(f"{what} has unknown value type {vtype}")
        if depth >= MAX_ARRAY_DEPTH:
            raise self.fail(f"{what} nests arrays more than {MAX_ARRAY_DEPTH} deep")
        etype, count = self.unpack(_U32U64, f"array header of {what}")
        keep = count <= MAX_KEPT_ARRAY and key not in VOCAB_ARRAYS
        if etype in _SCALARS:
            st = _ONE[etype]
            n_bytes = count * st.size
            if not keep:
                self.skip(n_bytes, f"{count} array elements of {what}")
                return {"array_length": count, "type": VALUE_TYPE_NAMES[etype]}
            data = self.take(n_bytes, f"{count} array elements of {what}")
            return [v for (v,) in st.iter_unpack(data)]
        if etype not in (_STRING, _ARRAY):
            raise self.fail(f"{what} has unknown array element type {etype}")
        # Every variable-size element takes at least 8 bytes (its length or array header).
        if count * 8 > self.size - self.pos:
            raise self.fail(f"{what} claims {count} elements, more than the file can hold")
        if keep:
            return [self.value(etype, what, key, depth + 1) for _ in range(count)]
        if etype == _STRING:
            self.skip_strings(count, what)
        else:
            for _ in range(count):
                self.value(etype, what, key, depth + 1)
        return {"array_length": count, "type": VALUE_TYPE_NAMES[etype]}


def parse_gguf(fh: BinaryIO, size: int, path: Path) -> tuple[int, dict[str, Any], list[dict[str, Any]]]:
    """``(version, fields, tensors)`` of the GGUF open in ``fh`` (``size`` bytes, at offset 0).

    ``fields`` maps each key to a Python value, a list for small arrays, or
    ``{"array_length": n, "type": "STRING"}`` for the vocabulary and other large arrays. Each tensor is
    ``{"name", "type", "shape", "n_elements", "n_bytes", "offset"}`` as ``gguf.GGUFReader`` gives
    them: ``shape`` in the file's order (fastest-varying first), ``offset`` from the file's start.
    """
    if size < 24:
        raise InvalidModelFile(
            f"{path} is not a GGUF model: it is only {size} bytes long. "
            "Re-download it or point inhouse at the right file."
        )
    r = _Stream(fh, size, path)
    if r.take(4, "magic") != GGUF_MAGIC:
        raise InvalidModelFile(
            f"{path} is not a GGUF model (it does not start with the GGUF magic bytes). "
            "Convert it with llama.cpp's convert_hf_to_gguf.py or pick a .gguf file."
        )
    version, n_tensors, n_kv = r.unpack(struct.Struct("<IQQ"), "version and counts")
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
    fields: dict[str, Any] = {}
    for i in range(n_kv):
        key = r.text(f"key #{i}", MAX_KEY_BYTES)
        if key in fields:
            raise r.fail(f"key {key!r} appears twice")
        (vtype,) = r.unpack(_U32, f"type of {key!r}")
        if key == "general.alignment" and vtype != 4:
            raise r.fail(f"general.alignment has value type {vtype}, not UINT32 (4)")
        fields[key] = r.value(vtype, f"value of {key!r}", key)
    alignment = fields.get("general.alignment", 32)
    if alignment == 0 or alignment & (alignment - 1):
        raise r.fail(f"general.alignment is {alignment}, not a power of two")
    tensors: list[dict[str, Any]] = []
    names: set[str] = set()
    for i in range(n_tensors):
        name = r.text(f"tensor #{i} name", MAX_KEY_BYTES)
        if name in names:
            raise r.fail(f"tensor {name} appears twice")
        names.add(name)
        (n_dims,) = r.unpack(_U32, f"dimension count of {name}")
        if not 1 <= n_dims <= MAX_DIMS:
            raise r.fail(f"tensor {name} has {n_dims} dimensions (1 to {MAX_DIMS} allowed)")
        dims = list(r.unpack(struct.Struct(f"<{n_dims}Q"), f"dimensions of {name}"))
        n_elements = 1
        for d in dims:
            n_elements *= d
            if n_elements > MAX_ELEMENTS:
                raise r.fail(f"tensor {name} has absurd dimensions {dims}")
        ttype, offset = r.unpack(_U32U64, f"type and offset of {name}")
        known = ggml_type(ttype)
        if known is None:
            raise r.fail(f"tensor {name} has unknown type {ttype}")
        type_name, block, type_size = known
        if dims[0] % block:
            raise r.fail(f"tensor {name}: first dimension {dims[0]} is not a multiple of "
                         f"{type_name}'s block size {block}")
        tensors.append({"name": name, "type": type_name, "shape": dims, "n_elements": n_elements,
                        "n_bytes": n_elements * type_size // block, "offset": offset})
    data_start = (r.pos + alignment - 1) // alignment * alignment
    for t in tensors:
        t["offset"] += data_start
        end = t["offset"] + t["n_bytes"]
        if end > size:
            raise InvalidModelFile(
                f"{path} is truncated: tensor {t['name']} ends at byte {end} but the file has "
                f"{size} bytes. Re-download the file."
            )
    return version, fields, tensors
