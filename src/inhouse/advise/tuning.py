"""The settings sweep for the top candidate: which threads, flash attention, KV type and ubatch
are fastest on this machine, among those that fit.

One factor at a time from llama-cpp-python's defaults (``Llama()``: threads ``cpu_count() // 2``,
flash attention off, f16 K and V, n_ubatch 512): each factor's values are measured with the
others at the best found so far, and a value is kept only when it is faster. "Faster" is one
figure a developer feels: the seconds a typical coding turn takes (``TURN_PROMPT`` tokens of
prompt, ``TURN_GEN`` generated), from the measured prefill and decode rates.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass

TURN_PROMPT = 2048
TURN_GEN = 256


@dataclass(frozen=True)
class Setting:
    threads: int
    flash_attn: bool
    cache_type: str  # K and V
    n_ubatch: int

    def label(self) -> str:
        return f"t{self.threads} {'fa' if self.flash_attn else 'nofa'} {self.cache_type} ub{self.n_ubatch}"

    def to_dict(self) -> dict:
        return asdict(self)


def llama_cpp_python_defaults() -> Setting:
    """What ``llama_cpp.Llama(model_path)`` uses when given nothing."""
    return Setting(threads=max(1, (os.cpu_count() or 2) // 2), flash_attn=False, cache_type="f16", n_ubatch=512)


def turn_seconds(prefill_tps: float | None, decode_tps: float | None) -> float | None:
    """Seconds for a typical coding turn at these rates (None when a rate is missing or zero)."""
    if not prefill_tps or not decode_tps:
        return None
    return TURN_PROMPT / prefill_tps + TURN_GEN / decode_tps


def factor_values(usable_threads: int, quick: bool) -> dict[str, list]:
    """The values tried per factor; threads from 1 to the usable CPUs (and half of them)."""
    threads = sorted({1, max(1, usable_threads // 2), usable_threads})
    if quick:
        return {"threads": threads, "flash_attn": [False, True], "cache_type": ["f16", "q8_0"], "n_ubatch": [512, 128]}
    return {"threads": threads, "flash_attn": [False, True], "cache_type": ["f16", "q8_0", "q4_0"],
            "n_ubatch": [512, 256, 128]}


def valid(s: Setting) -> bool:
    """llama.cpp needs flash attention for a quantized V cache."""
    return s.cache_type in ("f16", "f32", "bf16") or s.flash_attn


@dataclass
class Trial:
    setting: Setting
    prefill_tps: float | None
    decode_tps: float | None
    turn_s: float | None
    fits: bool
    ram_bytes: int | None
    bench_label: str | None = None

    def to_dict(self) -> dict:
        return {**asdict(self), "setting": self.setting.to_dict(), "label": self.setting.label()}


MIN_GAIN = 0.03  # leave the defaults only for a turn at least this much faster (short runs are noisy)


def pick(trials: list[Trial], base: Setting | None = None, min_gain: float = MIN_GAIN) -> Trial | None:
    """The fastest trial that fits (smallest turn time); with ``base``, the base trial unless the
    fastest is at least ``min_gain`` faster than it."""
    ok = [t for t in trials if t.fits and t.turn_s is not None]
    if not ok:
        return None
    fastest = min(ok, key=lambda t: t.turn_s)
    start = next((t for t in ok if t.setting == base), None)
    if start is not None and fastest.turn_s > start.turn_s * (1 - min_gain):
        return start
    return fastest


def sweep(base: Setting, values: dict[str, list], measure, fits, on_trial=None) -> list[Trial]:
    """Coordinate search: ``measure(setting) -> (prefill_tps, decode_tps, label)`` for each new
    setting; ``fits(setting) -> (bool, ram_bytes)``; ``on_trial(trials so far)`` after each new
    trial. Returns every trial, in order."""
    from dataclasses import replace

    trials: dict[Setting, Trial] = {}

    def trial(s: Setting) -> Trial:
        if s not in trials:
            ok, ram = fits(s)
            if ok:
                pre, dec, label = measure(s)
                trials[s] = Trial(s, pre, dec, turn_seconds(pre, dec), True, ram, label)
            else:
                trials[s] = Trial(s, None, None, None, False, ram)
            if on_trial:
                on_trial(list(trials.values()))
        return trials[s]

    best = trial(base)
    for factor, options in values.items():
        for value in options:
            s = replace(best.setting, **{factor: value})
            if not valid(s):
                s = replace(s, flash_attn=True)
            t = trial(s)
            current = pick([best, t])
            if current is not None:
                best = current
    return list(trials.values())
