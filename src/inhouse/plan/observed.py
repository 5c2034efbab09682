"""What llama.cpp itself says it allocated: the independent truth for memory estimates.

llama.cpp reports every buffer it allocates in its log ("CPU_Mapped model buffer size = 92.10
MiB", "CPU KV buffer size = ...", "CPU compute buffer size = ..."). There is no C API for these
figures in the pinned version, so inhouse installs its own log callback for the duration of one
load, collects the lines, and parses them. The figures are printed with two decimals in MiB, so
each is exact to within 0.005 MiB.
"""

from __future__ import annotations

import ctypes
import re
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ModelLoadError
from .buffers import Buffers
from .settings import CACHE_TYPES, LoadSettings

MIB = 1024 * 1024
PRINT_PRECISION = 0.005 * MIB
_LINE = re.compile(
    r"(?P<dev>[A-Za-z0-9_]+)\s+(?P<kind>model|KV|RS|output|compute) buffer size =\s+(?P<mib>[\d.]+) MiB"
)
_lock = threading.Lock()  # the log callback is process-wide


@dataclass
class ObservedMemory(Buffers):
    """Buffers llama.cpp reported for one load, in bytes, keyed by buffer type (CPU_Mapped, ...)."""

    model: dict[str, int] = field(default_factory=dict)  # weights, incl. CPU_REPACK
    kv: dict[str, int] = field(default_factory=dict)
    state: dict[str, int] = field(default_factory=dict)  # recurrent state (RS)
    output: dict[str, int] = field(default_factory=dict)
    compute: dict[str, int] = field(default_factory=dict)
    log: list[str] = field(default_factory=list, repr=False)
    lines: dict[str, int] = field(default_factory=dict, repr=False)  # report lines summed per breakdown key

    def precision(self, key: str) -> int:
        """How far the true figure of a breakdown key may be from ours: llama.cpp prints MiB
        with two decimals, so each line it printed is exact to within 0.005 MiB."""
        return round(self.lines.get(key, 0) * PRINT_PRECISION)

    @property
    def weights_bytes(self) -> int:
        return sum(v for k, v in self.model.items() if "REPACK" not in k)

    @property
    def repack_bytes(self) -> int:
        return sum(v for k, v in self.model.items() if "REPACK" in k)

    @property
    def kv_bytes(self) -> int:
        return sum(self.kv.values())

    @property
    def state_bytes(self) -> int:
        return sum(self.state.values())

    @property
    def output_bytes(self) -> int:
        return sum(self.output.values())

    @property
    def compute_bytes(self) -> int:
        return sum(self.compute.values())

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("log")
        return {**d, "breakdown": self.breakdown(), "total_bytes": self.total_bytes}


def parse_buffer_log(lines: list[str]) -> ObservedMemory:
    """Sum the buffer-size lines of a llama.cpp load log by kind and buffer type."""
    obs = ObservedMemory(log=lines)
    slots = {"model": obs.model, "KV": obs.kv, "RS": obs.state, "output": obs.output, "compute": obs.compute}
    for line in lines:
        m = _LINE.search(line)
        if not m:
            continue
        slot = slots[m["kind"]]
        slot[m["dev"]] = slot.get(m["dev"], 0) + round(float(m["mib"]) * MIB)
        key = {"model": "repack_bytes" if "REPACK" in m["dev"] else "weights_bytes", "KV": "kv_bytes",
               "RS": "state_bytes", "output": "output_bytes", "compute": "compute_bytes"}[m["kind"]]
        obs.lines[key] = obs.lines.get(key, 0) + 1
    return obs


def observe_load(model_path: str | Path, settings: LoadSettings | None = None, *, n_threads: int = 1,
                 use_mmap: bool = True) -> ObservedMemory:
    """Load ``model_path`` in llama.cpp with ``settings`` and return what it allocated.

    Uses llama.cpp's C API directly (not ``Llama()``) so that every setting that changes memory
    can be set, weight repacking included, and so that vocabulary-less synthetic GGUFs load.
    Weights are memory-mapped, not read, so this is quick even for large files; the KV cache and
    compute buffers are really allocated.
    """
    import llama_cpp

    from ..engines._llama_log import install as install_log

    s = settings or LoadSettings()
    lines: list[str] = []

    @llama_cpp.llama_log_callback
    def collect(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
        lines.append(text.decode("utf-8", errors="replace"))

    with _lock:
        llama_cpp.llama_backend_init()
        llama_cpp.llama_log_set(collect, ctypes.c_void_p(0))
        model = ctx = None
        try:
            mp = llama_cpp.llama_model_default_params()
            mp.n_gpu_layers = s.n_gpu_layers
            mp.use_extra_bufts = s.repack
            mp.load_mode = llama_cpp.LLAMA_LOAD_MODE_MMAP if use_mmap else llama_cpp.LLAMA_LOAD_MODE_NONE
            model = llama_cpp.llama_model_load_from_file(str(model_path).encode(), mp)
            if not model:
                raise ModelLoadError(f"llama.cpp could not load {model_path}: {_last_error(lines)}")
            cp = llama_cpp.llama_context_default_params()
            cp.n_ctx = s.n_ctx
            cp.n_batch = s.eff_batch  # as Llama() does: n_batch = min(n_ctx, n_batch)
            cp.n_ubatch = s.eff_ubatch
            cp.n_seq_max = s.n_seq
            cp.n_threads = cp.n_threads_batch = n_threads
            cp.type_k = CACHE_TYPES[s.type_k][2]
            cp.type_v = CACHE_TYPES[s.type_v][2]
            cp.flash_attn_type = (llama_cpp.LLAMA_FLASH_ATTN_TYPE_ENABLED if s.flash_attn
                                  else llama_cpp.LLAMA_FLASH_ATTN_TYPE_DISABLED)
            cp.swa_full = s.swa_full
            ctx = llama_cpp.llama_init_from_model(model, cp)
            if not ctx:
                raise ModelLoadError(f"llama.cpp could not create a context for {model_path} with "
                                     f"{s}: {_last_error(lines)}")
        finally:
            if ctx:
                llama_cpp.llama_free(ctx)
            if model:
                llama_cpp.llama_model_free(model)
            install_log()  # back to inhouse's logger (llama-cpp-python's own leaks warnings)
    joined = "".join(lines).splitlines()
    return parse_buffer_log(joined)


def _last_error(lines: list[str]) -> str:
    text = [ln.strip() for ln in "".join(lines).splitlines() if ln.strip()]
    errors = [ln for ln in text if "error" in ln.lower()] or [ln for ln in text if "failed" in ln.lower()]
    return (errors or text or ["no message"])[0]
