"""The compute buffer: ggml's allocator replayed on the rebuilt graph, against llama.cpp's report."""

from __future__ import annotations

import pytest

from inhouse.plan.catalog import find
from inhouse.plan.compute import compute_bytes
from inhouse.plan.galloc import Tensor, high_water_mark
from inhouse.plan.hf_config import spec_from_hf_config
from inhouse.plan.observed import observe_load
from inhouse.plan.settings import LoadSettings
from inhouse.plan.synthetic import with_tensors, write_synthetic_gguf


def test_allocator_reuses_freed_memory_and_in_place_ops():
    a = Tensor(1000, is_input=True)
    b = Tensor(64, (a,))
    c = Tensor(64, (b,), reuse=(0,))   # in place over b: no new memory
    d = Tensor(2000, (c,))
    e = Tensor(512, (d,))              # goes into the hole a left (best fit), not the end
    # exact: a[0,1024) b/c[1024,1088) d[1088,3104): a is freed after b runs, e fits in [0,1024)
    assert high_water_mark([b, c, d, e], [a]) == 3104


def _cut(model: str, quant: str, layers: int):
    config = dict(find(model).config, num_hidden_layers=layers)
    return with_tensors(spec_from_hf_config(config), quant)


CASES = [  # (catalog model, layers kept, settings): shapes other than the benchmark's held-out sweep
    ("qwen2.5-coder-1.5b", 2, LoadSettings(n_ctx=4096, n_batch=1024, n_ubatch=1024, repack=False)),
    ("codellama-7b", 2, LoadSettings(n_ctx=2048, n_ubatch=256, repack=False)),
    ("codellama-7b", 2, LoadSettings(n_ctx=2048, n_ubatch=256, flash_attn=True, repack=False)),
    ("qwen3-8b", 2, LoadSettings(n_ctx=8192, n_ubatch=128, repack=False)),
    ("qwen3-coder-30b-a3b", 2, LoadSettings(n_ctx=4096, n_batch=2048, n_ubatch=2048, flash_attn=True, repack=False)),
]


@pytest.mark.parametrize("model,layers,settings", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_compute_buffer_within_3_percent_of_llama_cpp(tmp_path, model, layers, settings):
    spec = _cut(model, "Q4_K_M", layers)
    obs = observe_load(write_synthetic_gguf(spec, "Q4_K_M", tmp_path / "m.gguf"), settings)
    assert obs.compute_bytes > 0
    assert abs(compute_bytes(spec, settings) - obs.compute_bytes) <= 0.03 * obs.compute_bytes


@pytest.mark.parametrize("model", ["qwen2.5-coder-32b", "qwen3-coder-30b-a3b", "codellama-7b"])
def test_replaying_a_few_layers_gives_the_mark_of_all_of_them(model):
    from inhouse.plan.graph import _graph, replayed_compute_bytes

    spec = find(model).spec("Q4_K_M")
    for s in (LoadSettings(n_ctx=32768, n_ubatch=128), LoadSettings(n_ctx=4096, n_batch=2048, n_ubatch=2048, flash_attn=True)):
        assert replayed_compute_bytes(spec, s) == high_water_mark(*_graph(spec, s, spec.n_layer))


def test_architectures_without_a_rebuilt_graph_use_the_phases():
    from inhouse.plan.compute import compute_phases
    from inhouse.plan.graph import replayed_compute_bytes

    spec = find("gemma-3-4b").spec("Q4_K_M")
    s = LoadSettings(n_ctx=4096)
    assert replayed_compute_bytes(spec, s) is None
    assert compute_bytes(spec, s) == max(compute_phases(spec, s).values())
