"""Bytes read per decoded token: one function for fit's speed bound and bench's bandwidth share,
checked against the GGUF read directly."""

from __future__ import annotations

import pytest

from inhouse.plan.speed import bandwidth_share, bytes_per_token, decode_tps_bound


@pytest.fixture(scope="module")
def smollm2(smollm2_path):
    from inhouse.models.gguf_header import read_header
    from inhouse.plan.spec import ModelSpec

    return smollm2_path, ModelSpec.from_header(read_header(smollm2_path))


def test_bytes_per_token_from_the_gguf_itself(smollm2):
    import gguf

    path, spec = smollm2
    reader = gguf.GGUFReader(str(path))
    names = {t.name for t in reader.tensors}
    assert "output.weight" not in names  # tied embeddings: token_embd is also the output matrix, read whole
    weights = sum(int(t.n_bytes) for t in reader.tensors)

    def field(key):
        return int(reader.fields[key].parts[-1][0])

    arch = "llama"
    n_layer, n_embd = field(f"{arch}.block_count"), field(f"{arch}.embedding_length")
    n_head, n_head_kv = field(f"{arch}.attention.head_count"), field(f"{arch}.attention.head_count_kv")
    kv_row = n_head_kv * (n_embd // n_head) * 2  # f16
    for position, cells in [(0, 256), (255, 256), (256, 512), (4000, 4096)]:
        # llama.cpp reads the used cells (position + 1) padded to 256, K and V in every layer
        assert bytes_per_token(spec, position) == weights + n_layer * cells * 2 * kv_row, position
    q8 = bytes_per_token(spec, 1000, type_k="q8_0", type_v="q8_0")
    assert q8 == weights + n_layer * 1024 * 2 * (n_head_kv * (n_embd // n_head) // 32 * 34)


def test_fit_and_bench_use_the_same_bytes(smollm2):
    from inhouse.bench.config import BenchConfig
    from inhouse.bench.run import bytes_per_token as bench_bytes
    from inhouse.plan.catalog import load_catalog
    from inhouse.plan.recommend import recommend

    _, spec = smollm2
    assert bench_bytes(spec, BenchConfig(model="m", label="m"), 700) == bytes_per_token(spec, 700)
    model = load_catalog()[0]
    row = recommend(1 << 40, 50e9, min_context=4096, depth=8192, catalog=[model])[0]
    mspec = model.spec(row.quant)
    assert row.decode_tps_bound == pytest.approx(50e9 / bytes_per_token(mspec, 8192))


def test_bound_and_share():
    assert decode_tps_bound(1_000_000, 50e9) == 50_000
    assert decode_tps_bound(1_000_000, None) is None
    assert bandwidth_share(1_000_000, 25_000, 50e9) == 0.5
    assert bandwidth_share(None, 25_000, 50e9) is None
