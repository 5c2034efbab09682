"""Benchmark runner for the embedded engine: llama.cpp in this process, through llama-cpp-python.

Every repetition starts from a KV cache holding exactly ``depth`` tokens (filled once per depth,
untimed; the repetition's own tokens are removed afterwards), evaluates a fresh random prompt (so
no prompt cache can help), then decodes greedily, timestamping each token as llama.cpp produces
it. End-of-generation tokens are replaced by a filler so every repetition decodes the same count.
llama.cpp's perf counters are read for the same stretch.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

from ..errors import ModelLoadError
from ..models.gguf_header import read_header
from ..plan.settings import CACHE_TYPES
from ..plan.spec import ModelSpec
from .config import BenchConfig
from .result import Rep

_TEXT = (
    "def parse_config(path):\n    with open(path) as f:\n        data = json.load(f)\n    return {k: v for k, v "
    "in data.items() if not k.startswith('_')}\n\nclass Cache:\n    def __init__(self, size=128):\n        self."
    "size = size\n        self.items = OrderedDict()\n    def get(self, key, default=None):\n        if key in "
    "self.items:\n            self.items.move_to_end(key)\n            return self.items[key]\n        return "
    "default\n# The quick brown fox jumps over the lazy dog while the tests run in parallel on every commit.\n"
)


class InProcessRunner:
    engine = "llama_cpp"

    def __init__(self, config: BenchConfig, n_ctx: int) -> None:
        import os

        from ..machine.cpu import default_threads

        self.config = config
        self.path = Path(config.model)
        self.header = read_header(self.path)  # clear errors for missing or corrupt files first
        self.spec = ModelSpec.from_header(self.header)
        self.n_ctx = n_ctx
        self.threads = config.threads or default_threads()
        self.pid = os.getpid()
        self.llm = None
        self._pool: list[int] = []

    @property
    def context_limit(self) -> int:
        return int(self.header.arch_field("context_length", 0) or 0) or 1 << 30

    def load(self) -> float:
        import llama_cpp
        from llama_cpp import Llama

        from ..engines._llama_log import install

        install()  # llama.cpp's log through inhouse's logger, not to stderr
        c = self.config
        t0 = time.perf_counter()
        try:
            self.llm = Llama(model_path=str(self.path), n_ctx=self.n_ctx, n_threads=self.threads,
                             n_threads_batch=self.threads, n_batch=c.n_batch, n_ubatch=c.n_ubatch,
                             type_k=CACHE_TYPES[c.type_k][2], type_v=CACHE_TYPES[c.type_v][2],
                             flash_attn=c.flash_attn, n_gpu_layers=c.n_gpu_layers, verbose=False)
        except (ValueError, RuntimeError, OSError) as exc:
            raise ModelLoadError(f"llama.cpp could not load {self.path} ({exc}).") from exc
        load_s = time.perf_counter() - t0
        vocab = self.llm._model.vocab
        self._pool = [t for t in self.llm.tokenize(_TEXT.encode(), add_bos=False)
                      if not llama_cpp.llama_vocab_is_eog(vocab, t)]
        return load_s

    def _tokens(self, n: int, seed: int) -> list[int]:
        rng = random.Random(seed)
        return [rng.choice(self._pool) for _ in range(n)]

    def fill(self, depth: int) -> None:
        """Make the KV cache hold exactly ``depth`` tokens (untimed)."""
        llm = self.llm
        llm.reset()
        if depth:
            llm.eval(self._tokens(depth, seed=-depth))
        self._depth = depth

    def rep(self, depth: int, n_prompt: int, n_gen: int, seed: int) -> Rep:
        import llama_cpp
        import numpy as np

        llm = self.llm
        llm.n_tokens = depth  # the next eval drops every cell past the depth
        ctx = llm._ctx.ctx
        vocab = llm._model.vocab
        n_vocab = llm.n_vocab()
        prompt = self._tokens(n_prompt, seed)
        filler = self._pool[0]

        def greedy() -> int:
            logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(ctx, -1), shape=(n_vocab,))
            return int(logits.argmax())

        # llama.cpp books work into its perf counters when it synchronizes: settle the depth fill
        # first, or its tokens would be counted as this repetition's prefill.
        llama_cpp.llama_synchronize(ctx)
        llama_cpp.llama_perf_context_reset(ctx)
        t_start = time.perf_counter()
        llm.eval(prompt)
        token = greedy()
        times = [time.perf_counter()]
        for _ in range(n_gen - 1):
            if llama_cpp.llama_vocab_is_eog(vocab, token):
                token = filler
            llm.eval([token])
            token = greedy()
            times.append(time.perf_counter())
        perf = llama_cpp.llama_perf_context(ctx)
        return Rep(prompt_tokens=n_prompt, gen_tokens=n_gen, t_start=t_start, t_first=times[0], token_times=times,
                   engine_prefill_s=perf.t_p_eval_ms / 1000, engine_prefill_n=int(perf.n_p_eval),
                   engine_decode_s=perf.t_eval_ms / 1000, engine_decode_n=int(perf.n_eval))

    def close(self) -> None:
        if self.llm is not None:
            self.llm.close()
            self.llm = None
