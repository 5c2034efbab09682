"""Corrupt, truncated and hostile GGUF headers are rejected with a clear error and without large
allocations: each file is read in a child process whose address space is capped at 1 GiB, so a
reader that believed a claimed size would die instead of passing."""

from __future__ import annotations

import json
import struct
import subprocess
import sys

import pytest


def s(text: str) -> bytes:
    b = text.encode()
    return struct.pack("<Q", len(b)) + b


def head(n_tensors: int, n_kv: int) -> bytes:
    return b"GGUF" + struct.pack("<IQQ", 3, n_tensors, n_kv)


ARCH = s("general.architecture") + struct.pack("<I", 8) + s("llama")
PAD = b"\0" * 4096

HOSTILE = {
    "absurd tensor count": (head(2**40, 1) + ARCH + PAD, "claims 1099511627776 tensors"),
    "absurd key length": (head(0, 1) + struct.pack("<Q", 2**62) + b"general" + PAD, "at most 65536"),
    "absurd string value length": (head(0, 1) + s("general.architecture") + struct.pack("<IQ", 8, 2**60) + PAD, "needs"),
    "absurd array count": (head(0, 1) + s("x") + struct.pack("<IIQ", 9, 4, 2**50) + PAD, "array elements"),
    "absurd string array count": (head(0, 1) + s("x") + struct.pack("<IIQ", 9, 8, 2**40) + PAD, "more than the file can hold"),
    "deeply nested arrays": (head(0, 1) + s("x") + struct.pack("<I", 9) + struct.pack("<IQ", 9, 1) * 6 + PAD, "nests arrays"),
    "absurd dimensions": (head(1, 1) + ARCH + s("t") + struct.pack("<IQQIQ", 2, 2**40, 2**40, 0, 0) + PAD, "absurd dimensions"),
    "absurd dimension count": (head(1, 1) + ARCH + s("t") + struct.pack("<I", 2**31) + PAD, "dimensions (1 to 4"),
    "unknown value type": (head(0, 1) + s("k") + struct.pack("<I", 999) + PAD, "unknown value type"),
    "unknown tensor type": (head(1, 1) + ARCH + s("t") + struct.pack("<IQIQ", 1, 32, 999, 0) + PAD, "unknown type"),
    "tensor data past the end": (head(1, 1) + ARCH + s("t") + struct.pack("<IQIQ", 1, 1 << 20, 0, 0) + PAD, "truncated"),
    "bad alignment": (head(0, 1) + s("general.alignment") + struct.pack("<II", 4, 3) + PAD, "power of two"),
    "wrong version": (b"GGUF" + struct.pack("<IQQ", 99, 0, 0) + PAD, "version 99"),
    "empty file": (b"", "only 0 bytes"),
}

CHILD = """
import json, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
from inhouse.errors import InhouseError
from inhouse.models.gguf_header import read_header
try:
    read_header(sys.argv[1])
    print(json.dumps({"accepted": True}))
except InhouseError as exc:
    print(json.dumps({"error": type(exc).__name__, "message": str(exc)}))
"""


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_header_is_rejected_without_large_allocations(case, tmp_path):
    data, needle = HOSTILE[case]
    path = tmp_path / "hostile.gguf"
    path.write_bytes(data)
    proc = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout)
    assert out.get("error") == "InvalidModelFile", out
    assert needle in out["message"]
    assert str(path) in out["message"]
    assert len(out["message"].splitlines()) == 1
