"""What one benchmark configuration is: a model (in-process or behind an endpoint), the llama.cpp
settings it runs with, and the workload."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from ..errors import ConfigError

DEFAULT_DEPTHS = (0, 4096, 16384)


@dataclass(frozen=True)
class Workload:
    depths: tuple[int, ...] = DEFAULT_DEPTHS  # tokens in the KV cache when each test starts (llama-bench's -d)
    prompt_tokens: int = 512  # timed prefill per repetition at the depth (llama-bench's pp512)
    gen_tokens: int = 128  # decoded per repetition: in-process from the depth itself (tg128 at -d);
    # over HTTP after the prompt (a server's generation always follows one)
    reps: int = 5
    warmup: int = 1

    def __post_init__(self) -> None:
        if self.prompt_tokens < 1 or self.gen_tokens < 2 or self.reps < 1 or self.warmup < 0:
            raise ConfigError("need --prompt-tokens >= 1, --gen-tokens >= 2, --reps >= 1 and --warmup >= 0")
        if any(d < 0 for d in self.depths):
            raise ConfigError("depths must be >= 0")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class BenchConfig:
    model: str  # a GGUF path (in-process) or the served model's name (HTTP)
    label: str
    engine: str = "llama_cpp"  # "llama_cpp" (in-process) or "http"
    endpoint: str | None = None
    api_key: str | None = None
    threads: int | None = None
    n_batch: int = 512
    n_ubatch: int = 512
    type_k: str = "f16"
    type_v: str = "f16"
    flash_attn: bool = False
    n_gpu_layers: int = 0
    gguf: str | None = None  # the GGUF behind an endpoint, when known (for bytes per token)
    extra: dict = field(default_factory=dict)

    def settings(self) -> dict:
        d = asdict(self)
        for key in ("model", "label", "api_key", "extra", "gguf"):
            d.pop(key)
        return d
