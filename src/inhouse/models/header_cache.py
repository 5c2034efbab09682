"""GGUF headers cached in the store, keyed by the file's real path and checked against its stat.

A cached header is served only while the file's size, mtime, ctime, inode and device are all
what they were when it was read: rewriting the file in place, touching it, or replacing it by a
rename (a new inode) makes the next use read it again. The stat is taken before the read, so a
file changed during the read has a newer stamp and is read again next time.

File times tick in coarse steps (a kernel tick, a second or two on some file systems), so a
file rewritten within one step of its previous change can keep its exact stamp. As Git does for
its index ("racily clean" entries), a header is cached only if the file last changed at least
``RACY_WINDOW_NS`` before the stat: a file that young is read again next time instead.
"""

from __future__ import annotations

import time
from pathlib import Path

from .gguf_header import GGUFHeader, _read, file_stat

RACY_WINDOW_NS = 2_000_000_000


def stamp_of(st) -> tuple[int, int, int, int, int]:
    """What identifies one version of a file: size, mtime_ns, ctime_ns, inode, device."""
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)


def cached_read(path: Path, store) -> GGUFHeader:
    """``path``'s header from ``store`` when the file is unchanged; else read it (and cache it
    unless the file changed too recently for its stamp to tell a later change apart)."""
    stat_time = time.time_ns()
    st = file_stat(path)
    key = str(path.resolve())
    stamp = stamp_of(st)
    data = store.cached_gguf_header(key, stamp)
    if data is not None:
        return GGUFHeader.from_dict(path, data)
    header = _read(path, st)
    if max(st.st_mtime_ns, st.st_ctime_ns) < stat_time - RACY_WINDOW_NS:
        store.save_gguf_header(key, stamp, header.to_dict())
    return header
