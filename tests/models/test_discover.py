"""Discovery over a fake Ollama store, HF cache, LM Studio folder and user folder in a temp dir."""

from __future__ import annotations

import json
import os

from inhouse.config import Settings
from inhouse.models.discover import list_models, resolve_model
from tests.helpers import write_tiny_gguf

import pytest


def make_ollama_store(root):
    blob_dir = root / "blobs"
    blob = write_tiny_gguf(blob_dir / "tmp.gguf", layers=3)
    digest = "sha256-" + "ab" * 32
    blob.rename(blob_dir / digest)
    (blob_dir / ("sha256-" + "cd" * 32)).write_text("{}")  # a config layer, not a model
    manifest = root / "manifests" / "registry.ollama.ai" / "library" / "qwen2.5-coder" / "7b"
    manifest.parent.mkdir(parents=True)
    manifest.write_text(json.dumps({
        "schemaVersion": 2,
        "layers": [
            {"mediaType": "application/vnd.ollama.image.model", "digest": digest.replace("-", ":")},
            {"mediaType": "application/vnd.ollama.image.params", "digest": "sha256:" + "cd" * 32},
        ],
    }))
    return blob_dir / digest


def test_fake_ollama_store_and_hf_cache(tmp_path, isolated_home):
    home = tmp_path / "user-home"
    blob = make_ollama_store(home / ".ollama" / "models")
    snap = home / ".cache" / "huggingface" / "hub" / "models--Qwen--Qwen2.5-Coder-1.5B-Instruct-GGUF" / "snapshots" / "abc123"
    hf = write_tiny_gguf(snap / "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf", layers=4)
    write_tiny_gguf(snap / "big-00002-of-00002.gguf")  # a later shard: part of shard 1, not listed
    lms = write_tiny_gguf(home / ".lmstudio" / "models" / "lmstudio-community" / "m" / "m-Q8_0.gguf")
    mine = write_tiny_gguf(tmp_path / "mine" / "my-model.gguf", ctx=1234)

    found, problems = list_models(Settings(model_dirs=[tmp_path / "mine"]))
    by_name = {m.name: m for m in found}
    assert problems == []
    assert {"smollm2-135m-instruct", "gemma-3-270m"} <= set(by_name)

    ollama = by_name["ollama:qwen2.5-coder:7b"]
    assert ollama.path == str(blob) and ollama.source == "ollama"
    assert ollama.size_bytes == os.path.getsize(blob)

    hf_info = by_name["hf:Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"]
    assert hf_info.path == str(hf) and hf_info.source == "hf-cache"
    assert not any("00002-of" in m.path for m in found)

    assert by_name["lmstudio:lmstudio-community/m/m-Q8_0"].path == str(lms)
    assert by_name["my-model"].context_length == 1234 and by_name["my-model"].path == str(mine)
    assert by_name["my-model"].parameters == 32 * 64 + 2 * 64 * 64
    assert by_name["my-model"].quantization == "F32"

    assert resolve_model("qwen2.5-coder:7b").path == str(blob)


def test_broken_file_in_a_folder_is_skipped_with_a_reason(tmp_path):
    folder = tmp_path / "models"
    write_tiny_gguf(folder / "good.gguf")
    (folder / "bad.gguf").write_text("not a model")
    found, problems = list_models(Settings(model_dirs=[folder]))
    assert "good" in {m.name for m in found}
    assert len(problems) == 1 and "bad.gguf" in problems[0] and "not a GGUF" in problems[0]


def test_unknown_model_name():
    from inhouse.errors import ModelNotFound

    with pytest.raises(ModelNotFound, match="inhouse models"):
        resolve_model("no-such-model")


def test_model_dirs_from_settings_file_and_env(tmp_path, isolated_home, monkeypatch):
    (isolated_home / "settings.json").write_text(json.dumps({"model_dirs": [str(tmp_path / "a")]}))
    monkeypatch.setenv("INHOUSE_MODEL_DIRS", str(tmp_path / "b"))
    assert Settings.load().model_dirs == [tmp_path / "a", tmp_path / "b"]
