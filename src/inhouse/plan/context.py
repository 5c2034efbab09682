"""Is a context length one llama.cpp can take, and one the model was trained for?

llama.cpp's limits, from the pinned llama.cpp (llama-cpp-python 0.3.36):

- ``llama_context_params.n_ctx`` is a ``uint32_t``: ctypes silently keeps the low 32 bits of a
  larger Python int (10**12 became 3567587328), and llama.cpp pads n_ctx up to a multiple of 256
  in that same ``uint32_t``, which wraps to 0 above 2**32 - 256.
- token positions (``llama_pos``) are ``int32_t``: a sequence holds at most 2**31 positions,
  0 .. 2**31 - 1, so n_ctx (after padding to 256) may not pass 2**31.

Above the training context (``<arch>.context_length`` in the GGUF) llama.cpp only warns
("possible training context overflow"); so does inhouse, in words a user reads.
"""

from __future__ import annotations

from ..errors import ConfigError

PAD = 256  # llama.cpp rounds n_ctx up to a multiple of this (GGML_PAD(n_ctx, 256))
MAX_CTX = 1 << 31  # int32 token positions 0 .. 2**31-1; 2**31 is also a multiple of PAD


def fmt_tokens(n: int) -> str:
    """A context length as people write it, never rounded: 32768 -> '32k', 100000 -> '100000'."""
    if 1 << 20 <= n < 1 << 30 and n % (1 << 20) == 0:
        return f"{n >> 20}M"
    if 1024 <= n < 1 << 20 and n % 1024 == 0:
        return f"{n >> 10}k"
    return str(n)  # never '976562500k'


def check_context(n_ctx: int, n_ctx_train: int | None = None, *, option: str = "--ctx",
                  model: str = "the model") -> list[str]:
    """Raise ``ConfigError`` for a context llama.cpp cannot hold; return warnings (above the
    context ``model`` was trained for) for one it can."""
    if n_ctx < 1:
        raise ConfigError(f"{option} {n_ctx} is not a context length; give a number of tokens of at least 1.")
    if n_ctx > MAX_CTX:
        train = f" ({model} was trained for {n_ctx_train})" if n_ctx_train else ""
        raise ConfigError(f"{option} {n_ctx} is beyond what llama.cpp can hold: at most {MAX_CTX} tokens "
                          f"(token positions are 32-bit){train}; give a smaller {option}.")
    if n_ctx_train and n_ctx > n_ctx_train:
        return [f"{option} {n_ctx} is above the {n_ctx_train} tokens {model} was trained for: llama.cpp runs "
                "it, but replies past that length are usually garbage."]
    return []


def check_allocation(spec, settings, *, model: str = "the model", option: str = "--ctx", memory=None) -> None:
    """Raise ``ConfigError`` when the buffers llama.cpp allocates (not the mapped weights: the KV
    cache, recurrent state, logits, compute buffer and repacked weights) exceed this machine's RAM
    and swap together: the allocation cannot succeed, and trying can take minutes first."""
    from ..machine.memory import memory_info
    from .estimate import estimate

    est = estimate(spec, settings)
    allocated = est.kv_bytes + est.state_bytes + est.output_bytes + est.compute_bytes + est.repack_bytes
    allocated -= sum(v for k, v in est.gpu.items() if k != "weights_bytes")
    mem = memory if memory is not None else memory_info()
    limit = mem.total_bytes + mem.swap_total_bytes
    if allocated > limit:
        train = f"; {model} was trained for {spec.n_ctx_train}" if spec.n_ctx_train else ""
        raise ConfigError(f"{option} {settings.n_ctx} needs {allocated / (1 << 30):.1f} GiB for the KV cache and "
                          f"buffers alone, more than this machine's {limit / (1 << 30):.1f} GiB of RAM and swap; "
                          f"give a smaller {option}{train}.")
