"""Ask llama.cpp itself what a model and settings allocate, beside inhouse's estimate.

The pinned llama.cpp has a no-alloc dry run (``llama_model_params.no_alloc``), but in it the model
and KV buffers are zero-size placeholders in the log, and the real figures are only reachable
through a C++ API (``llama_get_memory_breakdown``) that ctypes cannot call. So verification is a
real load with the weights memory-mapped (not read) and the KV cache and compute buffers really
allocated. A model known only by catalog entry or config.json is loaded as a synthetic GGUF with
its shapes and the data left as a sparse hole.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import psutil

from ..errors import MachineError
from .estimate import MemoryEstimate, estimate
from .observed import ObservedMemory, observe_load
from .settings import LoadSettings
from .synthetic import write_synthetic_gguf
from .target import FitTarget


def verify(target: FitTarget, settings: LoadSettings) -> tuple[MemoryEstimate, ObservedMemory]:
    est = estimate(target.spec, settings)
    # Everything but the mapped weights is really allocated (and the KV cache written to).
    needed = est.total_bytes - est.weights_bytes
    free = psutil.virtual_memory().available
    if needed > free:
        raise MachineError(
            f"verifying allocates about {needed / (1 << 30):.1f} GiB (KV cache, repacked weights, "
            f"buffers) but only {free / (1 << 30):.1f} GiB is available; lower --ctx or use a "
            "quantized KV cache, or drop --verify.")
    if target.path is not None:
        return est, observe_load(target.path, settings)
    with tempfile.TemporaryDirectory(prefix="inhouse-verify-") as tmp:
        path = write_synthetic_gguf(target.spec, target.quant or "Q4_K_M", Path(tmp) / "model.gguf")
        return est, observe_load(path, settings)
