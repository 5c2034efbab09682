"""inhouse's copy of ggml's type tables equals the gguf library's, and falls back to it."""

from __future__ import annotations

from gguf import GGML_QUANT_SIZES, GGMLQuantizationType, LlamaFileType

from inhouse.models import ggml_types


def test_tensor_types_equal_gguf():
    assert ggml_types.GGML_TYPES == {int(t): (t.name, *GGML_QUANT_SIZES[t]) for t in GGMLQuantizationType}


def test_file_types_equal_gguf():
    assert ggml_types.FILE_TYPES == {int(t): t.name for t in LlamaFileType}


def test_a_number_missing_from_the_copy_is_asked_of_gguf(monkeypatch):
    monkeypatch.setattr(ggml_types, "GGML_TYPES", {})
    monkeypatch.setattr(ggml_types, "FILE_TYPES", {})
    assert ggml_types.ggml_type(12) == ("Q4_K", 256, 144)
    assert ggml_types.file_type_name(15) == "MOSTLY_Q4_K_M"
    assert ggml_types.ggml_type(999) is None and ggml_types.file_type_name(999) is None
