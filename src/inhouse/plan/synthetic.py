"""Synthetic GGUFs: a real architecture's header with the tensor data left as a sparse hole.

llama.cpp memory-maps the hole as zeros, so a 30B-parameter model costs a few kilobytes of disk
and loads in seconds: enough to ask llama.cpp what it would allocate for a model that is not
downloaded, and the ground truth of ``benchmarks/memory_accuracy.py``. The vocabulary is
llama.cpp's "none" tokenizer with ``vocab_size`` dummy tokens: nothing is generated from these
files, they are only loaded.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
from gguf import GGUFWriter

from .kv import pad
from .layout import layout
from .quant import tensor_nbytes, tensor_type
from .spec import ModelSpec

ALIGNMENT = 32  # GGUF's default


def with_tensors(spec: ModelSpec, scheme: str) -> ModelSpec:
    """``spec`` with the tensors (names, shapes, types, bytes) of its architecture in ``scheme``."""
    tensors = layout(spec)
    types = {t.name: tensor_type(t, scheme, spec.n_layer, spec.tied_embeddings) for t in tensors}
    spec.tensor_types = {name: q.name for name, q in types.items()}
    spec.tensor_shapes = {t.name: list(t.shape) for t in tensors}
    spec.tensor_bytes = {t.name: tensor_nbytes(t.shape, types[t.name]) for t in tensors}
    return spec


def metadata(spec: ModelSpec) -> dict[str, object]:
    """The ``{arch}.*`` keys llama.cpp reads for ``spec``'s architecture."""
    a = spec.architecture

    def one_or_list(values: list[int]) -> object:
        return values[0] if len(set(values)) == 1 else list(values)

    m: dict[str, object] = {
        f"{a}.block_count": spec.n_layer,
        f"{a}.context_length": spec.n_ctx_train or 4096,
        f"{a}.embedding_length": spec.n_embd,
        f"{a}.feed_forward_length": one_or_list(spec.n_ff) if spec.n_ff else 0,
        f"{a}.attention.head_count": one_or_list(spec.n_head),
        f"{a}.attention.head_count_kv": one_or_list(spec.n_head_kv),
        f"{a}.attention.key_length": spec.head_dim_k,
        f"{a}.attention.value_length": spec.head_dim_v,
        f"{a}.rope.dimension_count": spec.n_rot or spec.head_dim_k,
        f"{a}.vocab_size": spec.n_vocab,
    }
    eps = "layer_norm_epsilon" if a == "starcoder2" else "layer_norm_rms_epsilon"
    m[f"{a}.attention.{eps}"] = 1e-6
    if spec.n_swa:
        m[f"{a}.attention.sliding_window"] = spec.n_swa
        m[f"{a}.attention.sliding_window_pattern"] = list(spec.swa_layers)
    if spec.n_expert:
        m[f"{a}.expert_count"] = spec.n_expert
        m[f"{a}.expert_used_count"] = spec.n_expert_used
        m[f"{a}.expert_feed_forward_length"] = spec.n_ff_exp
        if spec.n_expert_shared:
            m[f"{a}.expert_shared_count"] = spec.n_expert_shared
        if spec.n_ff_shexp:
            m[f"{a}.expert_shared_feed_forward_length"] = spec.n_ff_shexp
        if spec.n_layer_dense_lead:
            m[f"{a}.leading_dense_block_count"] = spec.n_layer_dense_lead
    if spec.kv_lora_rank:
        m[f"{a}.attention.kv_lora_rank"] = spec.kv_lora_rank
        if spec.q_lora_rank:
            m[f"{a}.attention.q_lora_rank"] = spec.q_lora_rank
        m[f"{a}.attention.key_length_mla"] = spec.head_dim_k_mla
        m[f"{a}.attention.value_length_mla"] = spec.head_dim_v_mla
    if spec.shortconv_l_cache:
        m[f"{a}.shortconv.l_cache"] = spec.shortconv_l_cache
    if a in ("gemma2", "gemma3"):
        m[f"{a}.attention.layer_norm_rms_epsilon"] = 1e-6
    return m


def add_metadata(writer: Any, spec: ModelSpec) -> None:
    """Add ``metadata(spec)`` to a ``gguf.GGUFWriter``, each value in its GGUF type."""
    for key, value in metadata(spec).items():
        if isinstance(value, list):
            writer.add_array(key, value)
        elif isinstance(value, bool):
            writer.add_bool(key, value)
        elif isinstance(value, float):
            writer.add_float32(key, value)
        else:
            writer.add_uint32(key, int(value))


def write_synthetic_gguf(spec: ModelSpec, scheme: str, path: str | os.PathLike[str]) -> Path:
    """Write ``spec`` quantized as ``scheme`` to ``path``: a full header, data as a sparse hole.
    Written to a temporary name and renamed, so a half-written file never has the final name."""
    path = Path(path)
    spec = with_tensors(spec, scheme)
    tmp = path.with_name(path.name + ".part")
    writer = GGUFWriter(tmp, spec.architecture)
    add_metadata(writer, spec)
    writer.add_string("general.name", f"synthetic {spec.architecture}")
    writer.add_string("tokenizer.ggml.model", "none")
    from gguf import GGMLQuantizationType as T

    data_bytes = 0
    for name, shape in spec.tensor_shapes.items():
        qtype = T[spec.tensor_types[name]]
        nbytes = spec.tensor_bytes[name]
        byte_shape = list(reversed(shape[1:])) + [nbytes // max(1, int(np.prod(shape[1:])))]
        writer.add_tensor_info(name, byte_shape, np.dtype(np.uint8), nbytes, raw_dtype=qtype)
        data_bytes += pad(nbytes, ALIGNMENT)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    writer.close()
    header_end = tmp.stat().st_size
    os.truncate(tmp, pad(header_end, ALIGNMENT) + data_bytes)
    tmp.replace(path)
    return path
