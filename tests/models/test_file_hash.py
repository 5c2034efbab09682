"""A model file's SHA-256 is read once and cached in the store for that very file version."""

from __future__ import annotations

import hashlib
import os
import shutil

import pytest

from inhouse.errors import ModelNotFound
from inhouse.models import file_hash
from inhouse.models.file_hash import file_sha256
from inhouse.store import Store


@pytest.fixture
def reads(monkeypatch):
    """Counts real hashes (the whole file read)."""
    count = []
    real = file_hash._hash

    def counting(path):
        count.append(path)
        return real(path)

    monkeypatch.setattr(file_hash, "_hash", counting)
    return count


@pytest.fixture
def no_racy_window(monkeypatch):
    monkeypatch.setattr(file_hash, "RACY_WINDOW_NS", 0)


@pytest.fixture
def store(tmp_path):
    with Store.open(tmp_path / "s.db") as s:
        yield s


def _model(path, content: bytes):
    path.write_bytes(content)
    return path


def test_the_hash_is_the_files_sha256_and_a_second_lookup_reads_nothing(tmp_path, store, reads, no_racy_window):
    content = b"GGUF" + os.urandom(3 * file_hash.CHUNK_BYTES // 2)  # more than one chunk
    p = _model(tmp_path / "m.gguf", content)
    assert file_sha256(p, store) == hashlib.sha256(content).hexdigest()
    assert file_sha256(p, store) == hashlib.sha256(content).hexdigest()
    assert len(reads) == 1
    assert file_sha256(p) == hashlib.sha256(content).hexdigest() and len(reads) == 2  # no store: no cache


def test_a_changed_file_is_hashed_again(tmp_path, store, reads, no_racy_window):
    p = _model(tmp_path / "m.gguf", b"GGUF one")
    first = file_sha256(p, store)
    with open(p, "ab") as fh:  # grows: size and mtime change
        fh.write(b" more")
    assert file_sha256(p, store) == hashlib.sha256(b"GGUF one more").hexdigest() != first
    before = p.stat()
    p.write_bytes(b"GGUF two more")  # same size, and the old mtime: only ctime tells
    os.utime(p, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert file_sha256(p, store) == hashlib.sha256(b"GGUF two more").hexdigest()
    os.utime(p, ns=(1, 1))  # touched: hashed again, same content
    assert file_sha256(p, store) == hashlib.sha256(b"GGUF two more").hexdigest()
    assert len(reads) == 4


def test_a_copy_under_another_name_has_the_same_hash(tmp_path, store, reads, no_racy_window):
    p = _model(tmp_path / "m.gguf", b"GGUF weights")
    (tmp_path / "elsewhere").mkdir()
    copy = shutil.copy(p, tmp_path / "elsewhere" / "renamed.gguf")
    assert file_sha256(copy, store) == file_sha256(p, store)
    assert len(reads) == 2  # cached by path: each file is read once


def test_a_file_changed_just_now_is_not_cached(tmp_path, store, reads):
    p = _model(tmp_path / "m.gguf", b"GGUF young")
    file_sha256(p, store)
    file_sha256(p, store)
    assert len(reads) == 2  # within the racy window: its stamp could not tell a rewrite apart


def test_a_missing_file_says_what_to_do(tmp_path, store):
    with pytest.raises(ModelNotFound, match="No model file"):
        file_sha256(tmp_path / "gone.gguf", store)


def test_the_cache_serves_only_the_exact_stamp(tmp_path, store):
    stamp = (10, 20, 30, 40, 50)
    assert store.cached_file_hash("/m.gguf", stamp) is None
    store.save_file_hash("/m.gguf", stamp, "ab" * 32)
    assert store.cached_file_hash("/m.gguf", stamp) == "ab" * 32
    for i in range(5):
        other = tuple(v + 1 if j == i else v for j, v in enumerate(stamp))
        assert store.cached_file_hash("/m.gguf", other) is None
    store.save_file_hash("/m.gguf", (11, 20, 30, 40, 50), "cd" * 32)  # replaces
    assert store.cached_file_hash("/m.gguf", stamp) is None
