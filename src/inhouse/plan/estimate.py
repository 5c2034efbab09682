"""The memory estimate: what llama.cpp will allocate for a model and settings, by buffer and device.

Weights are the GGUF's tensors as mapped; repacked weights are the extra copy ggml's CPU backend
makes of matrices whose type this CPU has faster kernels for (CPU_REPACK); then the KV cache,
recurrent state, output (logits) buffer and compute buffer. With GPU offload, layers from the top
down go to the GPU (``n_gpu_layers``; one more than the layer count also moves the output layer),
with their KV cache; the token embedding stays in RAM.
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass, field

from .buffers import Buffers
from .compute import compute_bytes, compute_phases
from .kv import kv_layer_bytes, output_bytes, pad, state_bytes
from .settings import LoadSettings
from .spec import ModelSpec

# ggml CPU backend repacking (ggml-cpu/repack.cpp): weight type -> row multiple it needs, per
# instruction set family. x86 needs AVX2 (Q2_K: AVX-512); ARM needs NEON with dot product.
REPACK_X86 = {"Q4_0": 8, "Q4_K": 8, "IQ4_NL": 8, "MXFP4": 8}
REPACK_X86_AVX512 = {"Q2_K": 8}
REPACK_ARM = {"Q4_0": 4, "Q4_K": 8, "Q5_K": 8, "Q6_K": 8, "IQ4_NL": 4, "MXFP4": 4, "Q8_0": 4}
TENSOR_ALIGN = 32


@functools.lru_cache(maxsize=1)
def ggml_cpu_features() -> frozenset[str]:
    """The features ggml's CPU backend was built with and detected (``AVX2``, ``AVX512``,
    ``DOTPROD``, ``REPACK``...), from llama.cpp itself: the same switches its repacking reads.
    Kept in the store, keyed by the llama.cpp library file and this CPU's flags, since asking
    means importing llama_cpp (a third of a second of every ``inhouse fit``)."""
    key = _features_key()
    store = None
    if key is not None:
        try:
            from ..store import Store

            store = Store.open()
            cached = store.fact(key)
            if isinstance(cached, list):
                store.close()
                return frozenset(cached)
        except Exception:  # noqa: BLE001 - the cache is an optimization; llama.cpp is the truth
            store = None
    features = _ask_llama_cpp()
    if store is not None:
        try:
            store.save_fact(key, sorted(features))
        except Exception:  # noqa: BLE001
            pass
        store.close()
    return features


def _ask_llama_cpp() -> frozenset[str]:
    import llama_cpp

    info = llama_cpp.llama_print_system_info().decode(errors="replace")
    return frozenset(part.split("=")[0].strip() for part in info.replace("CPU :", "|").split("|")
                     if part.strip().endswith("= 1"))


def _features_key() -> str | None:
    """Which llama.cpp build on which CPU: the shared library's path, size and mtime, and the CPU
    flags the kernel reports. None when they cannot be read (then nothing is cached)."""
    import hashlib
    import importlib.util
    import os
    from pathlib import Path

    try:
        spec = importlib.util.find_spec("llama_cpp")
        if spec is None or not spec.origin:
            return None
        libs = sorted((Path(spec.origin).parent / "lib").glob("*"))
        stamp = [(p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in libs if p.is_file()]
        cpu = ""
        if os.path.exists("/proc/cpuinfo"):
            cpu = next((ln for ln in Path("/proc/cpuinfo").read_text().splitlines()
                        if ln.startswith(("flags", "Features"))), "")
    except OSError:
        return None
    if not stamp:
        return None
    digest = hashlib.sha256(repr((str(spec.origin), stamp, cpu)).encode()).hexdigest()[:16]
    return f"ggml_cpu_features:{digest}"


def repack_rules(features: frozenset[str] | set[str]) -> dict[str, int]:
    if "REPACK" not in features:
        return {}
    rules: dict[str, int] = {}
    if "AVX2" in features:
        rules.update(REPACK_X86)
    if "AVX512" in features:
        rules.update(REPACK_X86_AVX512)
    if "DOTPROD" in features or "MATMUL_INT8" in features:
        rules.update(REPACK_ARM)
    return rules


def _layer_of(name: str) -> int | None:
    if name.startswith("blk."):
        return int(name.split(".")[1])
    return None


def _on_gpu(name: str, spec: ModelSpec, n_gpu_layers: int) -> bool:
    il = _layer_of(name)
    if il is not None:
        return il >= spec.n_layer - n_gpu_layers
    if name.startswith("output"):
        return n_gpu_layers > spec.n_layer
    return False


def repackable(name: str, spec: ModelSpec, rules: dict[str, int]) -> bool:
    """Would ggml put this weight in CPU_REPACK? Only matrices multiplied by activations
    (2-D weights, or 3-D expert stacks), of a type with a repacked kernel, whose row count is a
    multiple of the kernel's interleave; the token embedding is looked up, never multiplied."""
    qtype = spec.tensor_types.get(name)
    if qtype not in rules or name.startswith("token_embd") or not name.endswith(".weight"):
        return False
    shape = spec.tensor_shapes.get(name, [])
    if len(shape) < 2 or (len(shape) == 3 and "_exps." not in name) or len(shape) > 3:
        return False
    return shape[1] % rules[qtype] == 0


@dataclass
class MemoryEstimate(Buffers):
    weights_bytes: int
    repack_bytes: int
    kv_bytes: int
    state_bytes: int
    output_bytes: int
    compute_bytes: int
    gpu: dict[str, int] = field(default_factory=dict)  # the part of each figure on the GPU
    phases: dict[str, int] = field(default_factory=dict)

    @property
    def resident_bytes(self) -> int:
        """What stays in memory once loaded. Repacked weights are a copy: llama.cpp reads the
        mapped originals once while repacking and never again, so the page cache can drop them.
        The total (what llama.cpp reports) counts both."""
        return self.total_bytes - self.repack_bytes

    @property
    def ram_bytes(self) -> int:
        """Resident bytes in RAM (GPU parts excluded): the figure budgets compare against."""
        return self.resident_bytes - sum(self.gpu.values())

    @property
    def vram_bytes(self) -> int:
        return sum(self.gpu.values())

    def to_dict(self) -> dict:
        d = asdict(self)
        return {"total_bytes": self.total_bytes, "resident_bytes": self.resident_bytes, "ram_bytes": self.ram_bytes, "vram_bytes": self.vram_bytes,
                "breakdown": self.breakdown(), "gpu": d["gpu"], "compute_phases": d["phases"]}


def estimate(spec: ModelSpec, s: LoadSettings, features: frozenset[str] | set[str] | None = None) -> MemoryEstimate:
    """What llama.cpp allocates for ``spec`` under ``s``. ``features`` are ggml CPU features
    (default: this machine's, from llama.cpp), used to decide weight repacking."""
    rules = repack_rules(ggml_cpu_features() if features is None else features) if s.repack else {}
    n_gpu = max(0, min(s.n_gpu_layers, spec.n_layer + 1))
    weights = repack = weights_gpu = 0
    for name, n in spec.tensor_bytes.items():
        if _on_gpu(name, spec, n_gpu):
            weights_gpu += pad(n, TENSOR_ALIGN)
        else:
            weights += pad(n, TENSOR_ALIGN)
            if repackable(name, spec, rules):
                repack += pad(n, TENSOR_ALIGN)
    kv_gpu = sum(kv_layer_bytes(spec, s, il) for il in range(spec.n_layer) if il >= spec.n_layer - n_gpu)
    kv = sum(kv_layer_bytes(spec, s, il) for il in range(spec.n_layer))
    phases = compute_phases(spec, s)
    gpu = {}
    if n_gpu:
        gpu = {"weights_bytes": weights_gpu, "kv_bytes": kv_gpu, "compute_bytes": compute_bytes(spec, s)}
    return MemoryEstimate(
        weights_bytes=weights + weights_gpu,
        repack_bytes=repack,
        kv_bytes=kv,
        state_bytes=state_bytes(spec, s),
        output_bytes=output_bytes(spec, s.n_seq),
        compute_bytes=compute_bytes(spec, s),  # on the GPU when layers are offloaded (see gpu)
        gpu=gpu,
        phases=phases,
    )
