"""The CPU features llama.cpp reports are asked once, then read from the store."""

from __future__ import annotations

import os
import subprocess
import sys

from inhouse.plan import estimate


def test_features_are_llama_cpps_and_cached_so_fit_need_not_import_llama_cpp(isolated_home):
    estimate.ggml_cpu_features.cache_clear()
    first = estimate.ggml_cpu_features()
    assert first == estimate._ask_llama_cpp()  # the truth: llama.cpp's own report
    estimate.ggml_cpu_features.cache_clear()
    code = ("import sys; from inhouse.plan.estimate import ggml_cpu_features; f = ggml_cpu_features(); "
            "print(sorted(f)); print('llama_cpp' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=os.environ.copy(),
                         timeout=60).stdout.splitlines()
    assert out[0] == str(sorted(first))
    assert out[1] == "False"  # served from the store


def test_the_cache_key_changes_with_the_library(tmp_path, monkeypatch):
    key = estimate._features_key()
    assert key is not None and key.startswith("ggml_cpu_features:")
    import importlib.util

    fake = tmp_path / "llama_cpp"
    (fake / "lib").mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    (fake / "lib" / "libllama.so").write_bytes(b"x")
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: importlib.machinery.ModuleSpec(
        name, None, origin=str(fake / "__init__.py")) if name == "llama_cpp" else real(name, *a))
    other = estimate._features_key()
    assert other is not None and other != key
