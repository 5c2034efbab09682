"""config.json -> ModelSpec agrees with the real GGUF headers of the same models."""

from __future__ import annotations

import pytest

from inhouse.errors import ConfigError
from inhouse.models.defaults import PYPI_MODELS
from inhouse.models.gguf_header import read_header
from inhouse.plan.catalog import find, load_catalog
from inhouse.plan.hf_config import spec_from_hf_config
from inhouse.plan.spec import ModelSpec

FIELDS = ("architecture", "n_layer", "n_embd", "n_vocab", "n_head", "n_head_kv", "head_dim_k", "head_dim_v",
          "n_ff", "n_swa", "swa_layers", "tied_embeddings")


@pytest.mark.parametrize("catalog_id,pypi", [("smollm2-135m", "smollm2-135m-instruct"),
                                              ("gemma-3-270m", "gemma-3-270m")])
def test_config_spec_equals_the_gguf_header(catalog_id, pypi):
    from_config = spec_from_hf_config(find(catalog_id).config)
    from_gguf = ModelSpec.from_header(read_header(PYPI_MODELS[pypi].locate()))
    for name in FIELDS:
        assert getattr(from_config, name) == getattr(from_gguf, name), name


def test_quantized_sizes_match_published_files():
    # Published GGUF sizes (bartowski's and the Qwen team's Q4_K_M files): 4.68 GB and 19.85 GB.
    assert find("qwen2.5-coder-7b").spec("Q4_K_M").weights_bytes == pytest.approx(4.68e9, rel=0.01)
    assert find("qwen2.5-coder-32b").spec("Q4_K_M").weights_bytes == pytest.approx(19.85e9, rel=0.01)


def test_catalog_has_25_coding_models_that_all_lay_out():
    models = load_catalog()
    assert len(models) >= 25
    for m in models:
        spec = m.spec(m.quants[0])
        assert spec.weights_bytes > 0 and spec.n_params > 0, m.id


def test_moe_active_weights_are_the_routed_share():
    spec = find("qwen3-coder-30b-a3b").spec("Q8_0")
    assert 28e9 < spec.n_params < 32e9
    ratio = spec.active_weights_bytes() / spec.weights_bytes
    assert 0.08 < ratio < 0.14  # ~3.3B of 30.5B parameters are read per token


def test_unknown_model_type_is_a_clear_error():
    with pytest.raises(ConfigError, match="model_type 'bert'"):
        spec_from_hf_config({"model_type": "bert", "num_hidden_layers": 2})
    with pytest.raises(ConfigError, match="lacks a required field"):
        spec_from_hf_config({"model_type": "llama"})
