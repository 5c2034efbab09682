"""``ModelSpec``: the shape of a model as llama.cpp sees it.

Plain data: layers, heads and KV heads (per layer where the model varies them), head sizes,
feed-forward and expert sizes, multi-head latent attention (MLA) ranks, sliding-window size and
which layers use it, which layers are recurrent and how large their state is, vocabulary size and
per-tensor bytes. ``from_header`` reads a GGUF; ``hf_config.spec_from_hf_config`` builds one from a
Hugging Face ``config.json``. The memory estimate reads nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..models.gguf_header import GGUFHeader

# Layer patterns llama.cpp hard-codes for sliding-window models whose GGUFs carry only the
# window size: every n-th layer (the last of each group) attends to the full context.
SWA_PATTERNS = {"gemma2": 2, "gemma3": 6, "cohere2": 4, "gpt-oss": 2}


def _per_layer(value, n_layer: int) -> list[int]:
    if isinstance(value, list):
        return [int(v) for v in value][:n_layer] + [int(value[-1]) if value else 0] * (n_layer - len(value))
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
    n_ff: list[int] = field(default_factory=list)
    n_rot: int = 0
    # sliding window
    n_swa: int = 0  # window size; 0 when the model has none
    swa_layers: list[bool] = field(default_factory=list)
    # mixture of experts
    n_expert: int = 0
    n_expert_used: int = 0
    n_ff_exp: int = 0
    n_expert_shared: int = 0
    n_ff_shexp: int = 0
    n_layer_dense_lead: int = 0
    # multi-head latent attention (deepseek2): KV holds one latent of kv_lora_rank + rope dims
    q_lora_rank: int = 0
    kv_lora_rank: int = 0
    head_dim_k_mla: int = 0
    head_dim_v_mla: int = 0
    # recurrent layers (hybrid models): per-layer state sizes in float32 values, per sequence
    recurrent_layers: list[bool] = field(default_factory=list)
    n_embd_r: int = 0  # convolution state
    n_embd_s: int = 0  # SSM / delta-net state
    shortconv_l_cache: int = 0
    ssm: dict[str, int] = field(default_factory=dict)  # d_conv, d_inner, d_state, n_group, dt_rank
    tied_embeddings: bool = True
    tensor_bytes: dict[str, int] = field(default_factory=dict, repr=False)
    tensor_types: dict[str, str] = field(default_factory=dict, repr=False)  # name -> ggml type name
    tensor_shapes: dict[str, list[int]] = field(default_factory=dict, repr=False)

    @property
    def weights_bytes(self) -> int:
        return sum(self.tensor_bytes.values())

    @property
    def is_mla(self) -> bool:
        return self.head_dim_k_mla > 0

    @property
    def is_moe(self) -> bool:
        return self.n_expert > 0

    def is_recurrent(self, il: int) -> bool:
        return bool(self.recurrent_layers and self.recurrent_layers[il])

    def has_kv(self, il: int) -> bool:
        return self.n_head_kv[il] > 0 and not self.is_recurrent(il)

    def n_embd_k_gqa(self, il: int) -> int:
        return self.head_dim_k * self.n_head_kv[il]

    def n_embd_v_gqa(self, il: int) -> int:
        return self.head_dim_v * self.n_head_kv[il]

    @property
    def n_params(self) -> int:
        if not self.tensor_shapes:
            return 0
        total = 0
        for shape in self.tensor_shapes.values():
            n = 1
            for d in shape:
                n *= d
            total += n
        return total

    def active_weights_bytes(self) -> int:
        """Bytes of weights read to produce one token: all of them for a dense model; for a MoE,
        the expert tensors count ``n_expert_used / n_expert`` of their size, and the token
        embedding only one row (it is looked up, not multiplied)."""
        total = 0
        for name, n in self.tensor_bytes.items():
            if "_exps." in name and self.n_expert:
                total += n * self.n_expert_used // self.n_expert
            elif name.startswith("token_embd.") and ("output.weight" in self.tensor_bytes or not self.tied_embeddings):
                total += n // max(1, self.n_vocab)
            else:
                total += n
        return total

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
        ssm = {k: int(f(f"ssm.{key}", 0) or 0) for k, key in
               (("d_conv", "conv_kernel"), ("d_inner", "inner_size"), ("d_state", "state_size"),
                ("n_group", "group_count"), ("dt_rank", "time_step_rank"))}
        l_cache = int(f("shortconv.l_cache", 0) or 0)
        recurrent = _recurrent_layers(arch, f, n_layer, n_head_kv, l_cache, ssm)
        if l_cache:
            n_embd_r, n_embd_s = n_embd * (l_cache - 1), 0
        else:
            n_embd_r = max(0, ssm["d_conv"] - 1) * (ssm["d_inner"] + 2 * ssm["n_group"] * ssm["d_state"])
            n_embd_s = ssm["d_state"] * ssm["d_inner"]
        ctx = f("context_length")
        names = {t["name"] for t in header.tensors}
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
            n_ff=_per_layer(f("feed_forward_length", 0), n_layer),
            n_rot=int(f("rope.dimension_count", head_dim_k) or 0),
            n_swa=n_swa,
            swa_layers=swa_layers,
            n_expert=int(f("expert_count", 0) or 0),
            n_expert_used=int(f("expert_used_count", 0) or 0),
            n_ff_exp=int(f("expert_feed_forward_length", 0) or 0),
            n_expert_shared=int(f("expert_shared_count", 0) or 0),
            n_ff_shexp=int(f("expert_shared_feed_forward_length", 0) or 0),
            n_layer_dense_lead=int(f("leading_dense_block_count", 0) or 0),
            q_lora_rank=int(f("attention.q_lora_rank", 0) or 0),
            kv_lora_rank=int(f("attention.kv_lora_rank", 0) or 0),
            head_dim_k_mla=int(f("attention.key_length_mla", 0) or 0),
            head_dim_v_mla=int(f("attention.value_length_mla", 0) or 0),
            recurrent_layers=recurrent,
            n_embd_r=n_embd_r if any(recurrent) else 0,
            n_embd_s=n_embd_s if any(recurrent) else 0,
            shortconv_l_cache=l_cache,
            ssm={k: v for k, v in ssm.items() if v},
            tied_embeddings="output.weight" not in names,
            tensor_bytes={t["name"]: t["n_bytes"] for t in header.tensors},
            tensor_types={t["name"]: t["type"] for t in header.tensors},
            tensor_shapes={t["name"]: list(t["shape"]) for t in header.tensors},
        )


def _recurrent_layers(arch: str, f, n_layer: int, n_head_kv: list[int], l_cache: int,
                      ssm: dict[str, int]) -> list[bool]:
    """Which layers keep a recurrent state instead of a KV cache, as llama.cpp decides it."""
    explicit = f("attention.recurrent_layers")
    if isinstance(explicit, list):
        return [bool(v) for v in explicit][:n_layer]
    if arch in ("qwen3next",) or (ssm["d_inner"] and f("full_attention_interval") is not None):
        interval = int(f("full_attention_interval", 4) or 4)
        return [(il + 1) % interval != 0 for il in range(n_layer)]
    if l_cache or ssm["d_inner"]:
        # lfm2, granitehybrid, jamba, falcon-h1, ...: a layer is recurrent iff it has no KV heads;
        # pure mamba/mamba2 models have no attention at all.
        return [kv == 0 for kv in n_head_kv]
    return [False] * n_layer
