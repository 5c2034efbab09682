"""ggml's tensor types and llama.cpp's file types, by the numbers GGUF stores.

A copy of ``gguf``'s ``GGMLQuantizationType`` with ``GGML_QUANT_SIZES`` and of ``LlamaFileType``
(gguf 0.19.0), checked equal to them by ``tests/models/test_ggml_types.py``. Why a copy: importing
``gguf`` imports numpy and PyYAML, 160-220 ms per process on the project's 2-core VM, while a
warm ``inhouse models`` has 0.5 s in all. A number missing here (a type newer than this table) is
looked up in ``gguf`` itself, so the copy only ever saves time.
"""

from __future__ import annotations

# id -> (name, elements per block, bytes per block)
GGML_TYPES: dict[int, tuple[str, int, int]] = {
    0: ("F32", 1, 4), 1: ("F16", 1, 2), 2: ("Q4_0", 32, 18), 3: ("Q4_1", 32, 20), 6: ("Q5_0", 32, 22),
    7: ("Q5_1", 32, 24), 8: ("Q8_0", 32, 34), 9: ("Q8_1", 32, 40), 10: ("Q2_K", 256, 84),
    11: ("Q3_K", 256, 110), 12: ("Q4_K", 256, 144), 13: ("Q5_K", 256, 176), 14: ("Q6_K", 256, 210),
    15: ("Q8_K", 256, 292), 16: ("IQ2_XXS", 256, 66), 17: ("IQ2_XS", 256, 74), 18: ("IQ3_XXS", 256, 98),
    19: ("IQ1_S", 256, 50), 20: ("IQ4_NL", 32, 18), 21: ("IQ3_S", 256, 110), 22: ("IQ2_S", 256, 82),
    23: ("IQ4_XS", 256, 136), 24: ("I8", 1, 1), 25: ("I16", 1, 2), 26: ("I32", 1, 4), 27: ("I64", 1, 8),
    28: ("F64", 1, 8), 29: ("IQ1_M", 256, 56), 30: ("BF16", 1, 2), 34: ("TQ1_0", 256, 54),
    35: ("TQ2_0", 256, 66), 39: ("MXFP4", 32, 17), 40: ("NVFP4", 64, 36), 41: ("Q1_0", 128, 18),
}

FILE_TYPES: dict[int, str] = {
    0: "ALL_F32", 1: "MOSTLY_F16", 2: "MOSTLY_Q4_0", 3: "MOSTLY_Q4_1", 7: "MOSTLY_Q8_0", 8: "MOSTLY_Q5_0",
    9: "MOSTLY_Q5_1", 10: "MOSTLY_Q2_K", 11: "MOSTLY_Q3_K_S", 12: "MOSTLY_Q3_K_M", 13: "MOSTLY_Q3_K_L",
    14: "MOSTLY_Q4_K_S", 15: "MOSTLY_Q4_K_M", 16: "MOSTLY_Q5_K_S", 17: "MOSTLY_Q5_K_M", 18: "MOSTLY_Q6_K",
    19: "MOSTLY_IQ2_XXS", 20: "MOSTLY_IQ2_XS", 21: "MOSTLY_Q2_K_S", 22: "MOSTLY_IQ3_XS",
    23: "MOSTLY_IQ3_XXS", 24: "MOSTLY_IQ1_S", 25: "MOSTLY_IQ4_NL", 26: "MOSTLY_IQ3_S", 27: "MOSTLY_IQ3_M",
    28: "MOSTLY_IQ2_S", 29: "MOSTLY_IQ2_M", 30: "MOSTLY_IQ4_XS", 31: "MOSTLY_IQ1_M", 32: "MOSTLY_BF16",
    36: "MOSTLY_TQ1_0", 37: "MOSTLY_TQ2_0", 38: "MOSTLY_MXFP4_MOE", 39: "MOSTLY_NVFP4", 40: "MOSTLY_Q1_0",
    1024: "GUESSED",
}


def ggml_type(type_id: int) -> tuple[str, int, int] | None:
    """``(name, block size, bytes per block)`` of a tensor type, or ``None`` if no one knows it."""
    known = GGML_TYPES.get(type_id)
    if known is not None:
        return known
    from gguf import GGML_QUANT_SIZES, GGMLQuantizationType

    try:
        t = GGMLQuantizationType(type_id)
        return (t.name, *GGML_QUANT_SIZES[t])
    except (ValueError, KeyError):
        return None


def file_type_name(ftype: int) -> str | None:
    """llama.cpp's name of a ``general.file_type`` (e.g. ``MOSTLY_Q4_K_M``), or ``None``."""
    known = FILE_TYPES.get(ftype)
    if known is not None:
        return known
    from gguf import LlamaFileType

    try:
        return LlamaFileType(ftype).name
    except ValueError:
        return None
