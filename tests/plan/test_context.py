"""Context lengths: llama.cpp's hard limits, the training context, and this machine's memory."""

from __future__ import annotations

import ctypes

import pytest

from inhouse.errors import ConfigError
from inhouse.machine.memory import MemoryInfo
from inhouse.plan.context import MAX_CTX, PAD, check_allocation, check_context, fmt_tokens
from inhouse.plan.kv import kv_bytes
from inhouse.plan.settings import LoadSettings
from inhouse.plan.spec import ModelSpec

GIB = 1 << 30


def test_the_limit_matches_llama_cpp_types():
    import llama_cpp

    fields = dict(llama_cpp.llama_context_params._fields_)
    assert fields["n_ctx"] is ctypes.c_uint32  # n_ctx is a uint32_t in the C API
    assert ctypes.sizeof(llama_cpp.llama_pos) == 4 and llama_cpp.llama_pos(-1).value == -1  # int32 positions
    # the largest context: positions 0 .. 2**31-1, and padding to 256 cannot wrap the uint32
    assert MAX_CTX - 1 == 2**31 - 1 and MAX_CTX % PAD == 0 and MAX_CTX <= 2**32 - PAD
    # what a larger value would become on its way into llama.cpp (the 10**12 -> 3567587328)
    params = llama_cpp.llama_context_default_params()
    params.n_ctx = 10**12
    assert params.n_ctx == 3567587328


def test_beyond_the_limit_is_an_error_that_names_the_training_context():
    with pytest.raises(ConfigError, match="beyond what llama.cpp can hold") as info:
        check_context(10**12, 8192, model="smollm2")
    assert "8192" in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(ConfigError):
        check_context(MAX_CTX + 1, None)
    with pytest.raises(ConfigError):
        check_context(0, 8192)


def test_above_the_training_context_is_a_warning():
    assert check_context(8192, 8192) == []
    assert check_context(MAX_CTX, None) == []
    [warning] = check_context(8193, 8192, model="smollm2")
    assert "8192" in warning and "smollm2" in warning


@pytest.mark.parametrize("n,text", [(32768, "32k"), (65536, "64k"), (100000, "100000"), (1 << 20, "1M"),
                                    (1000, "1000"), (10**12, "1000000000000"), (1536, "1536"), (2**30, "1073741824"), (3 << 20, "3M")])
def test_fmt_tokens_never_rounds(n, text):
    assert fmt_tokens(n) == text


def _spec(tmp_path):
    from inhouse.models.gguf_header import read_header
    from tests.helpers import write_tiny_gguf

    return ModelSpec.from_header(read_header(write_tiny_gguf(tmp_path / "t.gguf", ctx=2048)))


def test_allocation_beyond_ram_and_swap_is_refused(tmp_path):
    spec = _spec(tmp_path)
    mem = MemoryInfo(total_bytes=GIB, available_bytes=GIB, swap_total_bytes=GIB, swap_free_bytes=GIB,
                     cgroup_limit_bytes=None, cgroup_usage_bytes=None)
    check_allocation(spec, LoadSettings(n_ctx=4096), memory=mem)  # tiny: fits
    # the KV cache alone is over RAM + swap (2 GiB) here; the independent truth is plan.kv
    n_ctx = 1 << 24
    assert kv_bytes(spec, LoadSettings(n_ctx=n_ctx)) > 2 * GIB
    with pytest.raises(ConfigError, match="more than this machine's 2.0 GiB of RAM and swap") as info:
        check_allocation(spec, LoadSettings(n_ctx=n_ctx), model="tiny", memory=mem)
    assert "tiny was trained for 2048" in str(info.value)
