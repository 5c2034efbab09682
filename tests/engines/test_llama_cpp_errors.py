"""Bad model files reach the user as InhouseErrors with a clear message, before llama.cpp runs."""

from __future__ import annotations

import pytest

from inhouse.engines.llama_cpp import LlamaCppEngine, parse_tool_block
from inhouse.errors import ContextOverflow, InvalidModelFile, ModelNotFound
from inhouse.engines import ChatRequest


def test_missing_path(tmp_path):
    with pytest.raises(ModelNotFound, match="No model file"):
        LlamaCppEngine(tmp_path / "nope.gguf")


def test_text_file_named_gguf(tmp_path):
    p = tmp_path / "notes.gguf"
    p.write_text("these are my notes, not a model\n" * 4)
    with pytest.raises(InvalidModelFile, match="not a GGUF model"):
        LlamaCppEngine(p)


def test_truncated_gguf(tmp_path, smollm2_path):
    p = tmp_path / "truncated.gguf"
    with open(smollm2_path, "rb") as src:
        p.write_bytes(src.read(20_000_000))
    with pytest.raises(InvalidModelFile, match="truncated"):
        LlamaCppEngine(p)


def test_directory_instead_of_file(tmp_path):
    with pytest.raises(InvalidModelFile, match="not a file"):
        LlamaCppEngine(tmp_path)


def test_prompt_longer_than_context(llama_engine):
    with pytest.raises(ContextOverflow, match="context window"):
        llama_engine.chat(ChatRequest.from_prompt("word " * 2000))


def test_tool_block_parsing():
    assert parse_tool_block('{"name": "f", "arguments": {"a": 1}}') == ("f", '{"a": 1}')
    assert parse_tool_block('{"name": "f", "arguments": "{}"}') == ("f", "{}")
    assert parse_tool_block("not json") == ("", "not json")
