"""``ModelSpec``: the shape of a model as llama.cpp sees it, read from a GGUF header.

Plain data: layers, heads and KV heads (per layer where the model varies them), head sizes,
sliding-window size and which layers use it, vocabulary size and per-tensor bytes. Readers fill
it; the memory estimate reads nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..models.gguf_header import GGUFHeader

# Layer patterns llama.cpp hard-codes for sliding-window models whose GGUFs carry only the
# window size: every n-th layer (the last of each group) attends to the full context.
SWA_PATTERNS = {"gemma2": 2, "gemma3": 6, "cohere2": 4, "gpt-oss": 2}


def _per_layer(value, n_layer: int) -> list[int]:
    if isinstance(value, list):
        return [int(v) for v in value]
    return [int(value or 0)] * n_layer


@dataclass
class ModelSpec:
    architecture: str
    n_layer: int
    n_embd: int
    n_vocab: int
    n_ctx_train: int | None
    n_head: list[int]
    n_head_kv: list[int]
    head_dim_k: int
    head_dim_v: int
    n_swa: int = 0  # sliding window size; 0 when the model has none
    swa_layers: list[bool] = field(default_factory=list)
    tensor_bytes: dict[str, int] = field(default_factory=dict, repr=False)

    @property
    def weights_bytes(self) -> int:
        return sum(self.tensor_bytes.values())

    def n_embd_k_gqa(self, il: int) -> int:
        return self.head_dim_k * self.n_head_kv[il]

    def n_embd_v_gqa(self, il: int) -> int:
        return self.head_dim_v * self.n_head_kv[il]

    @classmethod
    def from_header(cls, header: GGUFHeader) -> "ModelSpec":
        arch = header.architecture
        f = header.arch_field
        n_layer = int(f("block_count", 0))
        n_embd = int(f("embedding_length", 0))
        n_head = _per_layer(f("attention.head_count", 0), n_layer)
        n_head_kv_raw = f("attention.head_count_kv")
        n_head_kv = _per_layer(n_head_kv_raw if n_head_kv_raw is not None else n_head, n_layer)
        head0 = max(n_head) if n_head else 0
        head_dim_k = int(f("attention.key_length", n_embd // head0 if head0 else 0))
        head_dim_v = int(f("attention.value_length", head_dim_k))
        tokens = header.fields.get("tokenizer.ggml.tokens")
        n_vocab = int(f("vocab_size", 0) or (tokens.get("array_length", 0) if isinstance(tokens, dict)
                                             else len(tokens or [])))
        n_swa = int(f("attention.sliding_window", 0) or 0)
        swa_layers = [False] * n_layer
        if n_swa:
            pattern = f("attention.sliding_window_pattern")
            if isinstance(pattern, list):
                swa_layers = [bool(v) for v in pattern][:n_layer]
            else:
                n = int(pattern or SWA_PATTERNS.get(arch, 0))
                swa_layers = [n == 0 or (il % n) < (n - 1) for il in range(n_layer)]
        ctx = f("context_length")
        return cls(
            architecture=arch,
            n_layer=n_layer,
            n_embd=n_embd,
            n_vocab=n_vocab,
            n_ctx_train=int(ctx) if ctx is not None else None,
            n_head=n_head,
            n_head_kv=n_head_kv,
            head_dim_k=head_dim_k,
            head_dim_v=head_dim_v,
            n_swa=n_swa,
            swa_layers=swa_layers,
            tensor_bytes={t["name"]: t["n_bytes"] for t in header.tensors},
        )
