"""A model file's SHA-256: its identity for eval runs and the gateway's capability rules.

A name says little (a file can be renamed, moved, or another file can carry the same name); the
content's hash says which weights were evaluated. Hashing a multi-GB GGUF reads all of it, which
takes seconds, so with a ``store`` the hash is cached as headers are (``header_cache``): by the
file's real path, served only while its size, mtime, ctime, inode and device are unchanged, and
not cached while the file is too young for its stamp to tell a later change apart.
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

from ..errors import InvalidModelFile
from .gguf_header import file_stat
from .header_cache import RACY_WINDOW_NS, stamp_of

CHUNK_BYTES = 4 << 20


def file_sha256(path: str | os.PathLike[str], store=None) -> str:
    """The SHA-256 (hex) of the file at ``path``, from ``store``'s cache while the file is unchanged.

    >>> file_sha256("model.gguf", store)[:8]
    '1a2b3c4d'
    """
    path = Path(path)
    stat_time = time.time_ns()
    st = file_stat(path)
    if store is None:
        return _hash(path)
    key = str(path.resolve())
    stamp = stamp_of(st)
    cached = store.cached_file_hash(key, stamp)
    if cached is not None:
        return cached
    digest = _hash(path)
    if max(st.st_mtime_ns, st.st_ctime_ns) < stat_time - RACY_WINDOW_NS:
        store.save_file_hash(key, stamp, digest)
    return digest


def _hash(path: Path) -> str:
    h = hashlib.sha256()
    buf = bytearray(CHUNK_BYTES)
    view = memoryview(buf)
    try:
        with open(path, "rb", buffering=0) as fh:
            while n := fh.readinto(buf):
                h.update(view[:n])
    except OSError as exc:
        raise InvalidModelFile(f"Cannot read {path}: {exc.strerror or exc}.") from exc
    return h.hexdigest()
