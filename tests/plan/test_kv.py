"""The KV cache and output buffer estimates equal what llama.cpp reports, to its printed precision."""

from __future__ import annotations

import pytest

from inhouse.models.defaults import PYPI_MODELS
from inhouse.models.gguf_header import read_header
from inhouse.plan.kv import KVSettings, kv_bytes, output_bytes
from inhouse.plan.observed import MIB, observe_load
from inhouse.plan.spec import ModelSpec

TOL = 0.005 * MIB  # llama.cpp prints MiB with two decimals

CASES = [
    ("smollm2-135m-instruct", KVSettings(n_ctx=2048)),
    ("smollm2-135m-instruct", KVSettings(n_ctx=3000, type_k="q8_0", type_v="q8_0", flash_attn=True)),
    ("smollm2-135m-instruct", KVSettings(n_ctx=1024, type_k="q4_0", type_v="f16")),
    ("gemma-3-270m", KVSettings(n_ctx=8192)),
    ("gemma-3-270m", KVSettings(n_ctx=8192, swa_full=False)),
    ("gemma-3-270m", KVSettings(n_ctx=4096, swa_full=False, n_ubatch=256, type_k="q8_0", type_v="q8_0", flash_attn=True)),
]


@pytest.mark.parametrize("model,settings", CASES, ids=[f"{m}-{s}" for m, s in CASES])
def test_kv_and_output_match_llama_cpp(model, settings):
    path = PYPI_MODELS[model].locate()
    spec = ModelSpec.from_header(read_header(path))
    obs = observe_load(path, settings)
    n_lines = 2 if spec.n_swa else 1
    assert abs(kv_bytes(spec, settings) - obs.kv_bytes) <= n_lines * TOL
    assert abs(output_bytes(spec) - obs.output_bytes) <= TOL


def test_gemma3_sliding_window_layout():
    spec = ModelSpec.from_header(read_header(PYPI_MODELS["gemma-3-270m"].locate()))
    assert spec.n_swa == 512
    assert [il for il, swa in enumerate(spec.swa_layers) if not swa] == [5, 11, 17]
