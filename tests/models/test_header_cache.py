"""Headers cached in the store are served only for the very file version they were read from."""

from __future__ import annotations

import os
import time

import pytest

from inhouse.errors import ModelNotFound
from inhouse.models import gguf_header, header_cache
from inhouse.models.discover import resolve_model_header
from inhouse.models.reader import read_model_info
from inhouse.store import Store
from tests.helpers import write_tiny_gguf


@pytest.fixture
def reads(monkeypatch):
    """Counts real header reads (file opened and parsed)."""
    count = []
    real = gguf_header._read

    def counting(path, st):
        count.append(path)
        return real(path, st)

    monkeypatch.setattr(header_cache, "_read", counting)
    return count


@pytest.fixture
def no_racy_window(monkeypatch):
    monkeypatch.setattr(header_cache, "RACY_WINDOW_NS", 0)


@pytest.fixture
def store(tmp_path):
    with Store.open(tmp_path / "s.db") as s:
        yield s


def test_second_read_is_a_cache_hit_with_the_same_facts(tmp_path, store, reads, no_racy_window):
    p = write_tiny_gguf(tmp_path / "m.gguf", ctx=100)
    first = gguf_header.read_header(p, store=store)
    again = gguf_header.read_header(p, store=store)
    assert len(reads) == 1
    assert again == first and again.path == p
    assert again == gguf_header.read_header(p)  # and equal to an uncached read


def test_rewrite_in_place_with_same_size_and_mtime_is_not_served_stale(tmp_path, store, reads, no_racy_window):
    p = write_tiny_gguf(tmp_path / "m.gguf", ctx=100)
    assert read_model_info(p, store=store).context_length == 100
    before = p.stat()
    write_tiny_gguf(p, ctx=200)  # same size, same inode
    os.utime(p, ns=(before.st_atime_ns, before.st_mtime_ns))  # and the old mtime: only ctime tells
    after = p.stat()
    assert (after.st_size, after.st_ino, after.st_mtime_ns) == (before.st_size, before.st_ino, before.st_mtime_ns)
    assert read_model_info(p, store=store).context_length == 200
    assert len(reads) == 2


def test_replace_by_rename_is_not_served_stale(tmp_path, store, reads, no_racy_window):
    p = write_tiny_gguf(tmp_path / "m.gguf", ctx=100)
    assert read_model_info(p, store=store).context_length == 100
    before = p.stat()
    new = write_tiny_gguf(tmp_path / "new.gguf", ctx=300)
    os.utime(new, ns=(before.st_atime_ns, before.st_mtime_ns))
    os.replace(new, p)  # same size and mtime, another inode
    assert p.stat().st_ino != before.st_ino
    assert read_model_info(p, store=store).context_length == 300


def test_touch_or_growth_is_a_miss(tmp_path, store, reads, no_racy_window):
    p = write_tiny_gguf(tmp_path / "m.gguf", ctx=100)
    gguf_header.read_header(p, store=store)
    os.utime(p, ns=(1, 1))
    gguf_header.read_header(p, store=store)
    with open(p, "ab") as fh:
        fh.write(b"\0" * 32)
    assert gguf_header.read_header(p, store=store).size_bytes == p.stat().st_size
    assert len(reads) == 3


def test_a_file_changed_just_now_is_not_cached(tmp_path, store, reads):
    """Within the racy window a rewrite could keep the exact stamp, so nothing is cached."""
    p = write_tiny_gguf(tmp_path / "m.gguf", ctx=100)
    gguf_header.read_header(p, store=store)
    gguf_header.read_header(p, store=store)
    assert len(reads) == 2
    old = time.time_ns() - 3 * header_cache.RACY_WINDOW_NS
    os.utime(p, ns=(old, old))  # mtime is old now, but ctime is not: still not cached
    gguf_header.read_header(p, store=store)
    assert len(reads) == 3


def test_deleted_file_is_not_served_from_the_cache(tmp_path, store, no_racy_window):
    p = write_tiny_gguf(tmp_path / "m.gguf")
    gguf_header.read_header(p, store=store)
    p.unlink()
    with pytest.raises(ModelNotFound, match="No model file"):
        gguf_header.read_header(p, store=store)


def test_symlinked_paths_share_one_entry_and_keep_their_own_name(tmp_path, store, reads, no_racy_window):
    p = write_tiny_gguf(tmp_path / "blob")
    link = tmp_path / "snapshot" / "model.gguf"
    link.parent.mkdir()
    link.symlink_to(p)
    gguf_header.read_header(p, store=store)
    info = read_model_info(link, store=store)
    assert len(reads) == 1 and info.path == str(link) and info.name == "model"


def test_resolve_reads_the_header_once(tmp_path, store, reads, no_racy_window):
    p = write_tiny_gguf(tmp_path / "m.gguf", ctx=777)
    info, header = resolve_model_header(str(p), store=store)
    assert info.context_length == 777 and header.arch_field("context_length") == 777
    assert len(reads) == 1
