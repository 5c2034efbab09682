"""Layouts match real GGUFs, and synthetic GGUFs of every supported architecture load in llama.cpp
with the buffers the estimate predicts."""

from __future__ import annotations

import pytest

from inhouse.models.defaults import PYPI_MODELS
from inhouse.models.gguf_header import read_header
from inhouse.plan.catalog import find
from inhouse.plan.estimate import estimate
from inhouse.plan.layout import layout
from inhouse.plan.observed import MIB, observe_load
from inhouse.plan.settings import LoadSettings
from inhouse.plan.spec import ModelSpec
from inhouse.plan.synthetic import write_synthetic_gguf

PRINTED = 0.005 * MIB  # llama.cpp prints MiB with two decimals


@pytest.mark.parametrize("model", ["smollm2-135m-instruct", "gemma-3-270m"])
def test_layout_names_and_shapes_equal_a_real_gguf(model):
    header = read_header(PYPI_MODELS[model].locate())
    spec = ModelSpec.from_header(header)
    real = {t["name"]: list(t["shape"]) for t in header.tensors}
    ours = {t.name: list(t.shape) for t in layout(spec)}
    # converters may add tensors llama.cpp does not load (e.g. rope_freqs); ours must all be there
    assert ours.items() <= real.items()
    assert set(real) - set(ours) <= {"rope_freqs.weight"}


def test_synthetic_file_is_sparse_and_its_header_reads_back(tmp_path):
    spec = find("qwen3-coder-30b-a3b").spec("Q4_K_M")
    path = write_synthetic_gguf(spec, "Q4_K_M", tmp_path / "big.gguf")
    assert path.stat().st_size > 17 * (1 << 30)  # the apparent size of a 30B Q4_K_M
    assert path.stat().st_blocks * 512 < 16 * MIB  # what it really takes on disk
    back = ModelSpec.from_header(read_header(path))
    assert back.tensor_bytes == spec.tensor_bytes
    assert (back.n_expert, back.n_expert_used, back.n_ff_exp) == (128, 8, 768)
    assert not (tmp_path / "big.gguf.part").exists()


CASES = [
    # (catalog id or hf config, quant, settings): one per architecture family
    ("qwen2.5-coder-0.5b", "Q8_0", LoadSettings(n_ctx=2048)),               # dense GQA, qkv bias
    ("codellama-7b", "Q4_K_M", LoadSettings(n_ctx=1024, repack=False)),       # MHA
    ("qwen3-coder-30b-a3b", "Q4_K_M", LoadSettings(n_ctx=1024, repack=False)),  # MoE
    ("deepseek-coder-v2-lite", "Q4_K_M", LoadSettings(n_ctx=1024, repack=False)),  # MLA + MoE + shared
    ("gpt-oss-20b", "MXFP4", LoadSettings(n_ctx=2048, swa_full=False, repack=False)),  # SWA + sinks
    ("gemma-3-4b", "Q4_K_M", LoadSettings(n_ctx=2048, swa_full=False, repack=False)),  # gemma3 iSWA
    ("starcoder2-3b", "Q4_K_M", LoadSettings(n_ctx=1024, flash_attn=True, repack=False)),
]


@pytest.mark.parametrize("model,quant,settings", CASES, ids=[c[0] for c in CASES])
def test_synthetic_architectures_load_and_match_the_estimate(tmp_path, model, quant, settings):
    spec = find(model).spec(quant)
    obs = observe_load(write_synthetic_gguf(spec, quant, tmp_path / "m.gguf"), settings)
    est = estimate(spec, settings)
    assert abs(est.weights_bytes - obs.weights_bytes) <= PRINTED * max(1, len(obs.model))
    assert abs(est.repack_bytes - obs.repack_bytes) <= PRINTED * 2
    assert abs(est.kv_bytes - obs.kv_bytes) <= PRINTED * 2
    assert abs(est.output_bytes - obs.output_bytes) <= PRINTED
    assert abs(est.compute_bytes - obs.compute_bytes) <= 0.15 * obs.compute_bytes
    assert abs(est.total_bytes - obs.total_bytes) <= 0.03 * obs.total_bytes


def test_hybrid_recurrent_state_matches(tmp_path):
    from inhouse.plan.hf_config import spec_from_hf_config
    from inhouse.plan.synthetic import with_tensors

    cfg = {"model_type": "lfm2", "num_hidden_layers": 6, "hidden_size": 1024, "num_attention_heads": 16,
           "num_key_value_heads": 8, "intermediate_size": 6656, "block_auto_adjust_ff_dim": True,
           "block_multiple_of": 256, "vocab_size": 65536, "conv_L_cache": 3,
           "layer_types": ["conv", "conv", "full_attention", "conv", "full_attention", "conv"]}
    spec = with_tensors(spec_from_hf_config(cfg), "Q8_0")
    settings = LoadSettings(n_ctx=2048, n_seq=3)
    obs = observe_load(write_synthetic_gguf(spec, "Q8_0", tmp_path / "lfm2.gguf"), settings)
    est = estimate(spec, settings)
    assert obs.state_bytes > 0
    assert abs(est.state_bytes - obs.state_bytes) <= PRINTED
    assert abs(est.kv_bytes - obs.kv_bytes) <= PRINTED
    assert abs(est.total_bytes - obs.total_bytes) <= 0.03 * obs.total_bytes
