"""Benchmark runner for the embedded engine: llama.cpp in this process, through llama-cpp-python.

A repetition is two tests at depth ``d``, as llama-bench runs ``pp`` and ``tg`` at ``-d d``: the
KV cache is filled with exactly ``d`` tokens once per depth (untimed), then

* prefill: a fresh random prompt is evaluated on top of the ``d`` tokens and the first token
  sampled (time to first token, prefill speed);
* decode: the prompt's cells are dropped again, so the cache holds exactly ``d`` tokens, and
  ``n_gen`` tokens are decoded one by one from position ``d``, the first fed token chosen like
  llama-bench's (a plain token), the rest greedily, each timestamped as llama.cpp produces it.
  Decode speed is ``n_gen`` over the time from the first decode call to the last token.

End-of-generation tokens are replaced by a filler so every repetition decodes the same count.
llama.cpp's perf counters are read for each test separately.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

from ..engines import llama_callbacks
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

        llama_callbacks.install()  # llama.cpp's log is not printed, and Ctrl-C works during the load
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
            with llama_callbacks.abortable(llm):  # Ctrl-C stops a long fill
                llm.eval(self._tokens(depth, seed=-depth))
        self._depth = depth

    def rep(self, depth: int, n_prompt: int, n_gen: int, seed: int) -> Rep:
        import llama_cpp
        import numpy as np

        llm = self.llm
        ctx = llm._ctx.ctx
        vocab = llm._model.vocab
        n_vocab = llm.n_vocab()
        prompt = self._tokens(n_prompt, seed)
        filler = self._pool[0]

        def greedy() -> int:
            logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(ctx, -1), shape=(n_vocab,))
            return int(logits.argmax())

        # prefill at depth d. llama.cpp books work into its perf counters when it synchronizes:
        # settle the depth fill first, or its tokens would be counted as this prefill.
        llm.n_tokens = depth  # the next eval drops every cell past the depth
        llama_cpp.llama_synchronize(ctx)
        llama_cpp.llama_perf_context_reset(ctx)
        with llama_callbacks.abortable(llm):  # Ctrl-C stops a long prefill; decoding runs without the check
            t_start = time.perf_counter()
            llm.eval(prompt)
            greedy()
            t_first = time.perf_counter()
        perf = llama_cpp.llama_perf_context(ctx)
        prefill_s, prefill_n = perf.t_p_eval_ms / 1000, int(perf.n_p_eval)

        # decode at depth d: exactly d tokens cached when the first token is decoded
        llm.n_tokens = depth
        token = self._tokens(1, seed + (1 << 20))[0]
        llama_cpp.llama_synchronize(ctx)
        llama_cpp.llama_perf_context_reset(ctx)
        t_decode = time.perf_counter()
        times = []
        for _ in range(n_gen):
            llm.eval([token])
            token = greedy()
            if llama_cpp.llama_vocab_is_eog(vocab, token):
                token = filler
            times.append(time.perf_counter())
        perf = llama_cpp.llama_perf_context(ctx)
        # llama.cpp books every single-token batch as "eval" (and reports its prompt count as at
        # least 1 even when nothing was evaluated, so only the eval side is read)
        decode_s, decode_n = perf.t_eval_ms / 1000, int(perf.n_eval)
        return Rep(prompt_tokens=n_prompt, gen_tokens=n_gen, t_start=t_start, t_first=t_first, token_times=times,
                   t_decode_start=t_decode, decode_position=depth, itl_unit="token",
                   engine_prefill_s=prefill_s, engine_prefill_n=prefill_n,
                   engine_decode_s=decode_s, engine_decode_n=decode_n)

    def close(self) -> None:
        if self.llm is not None:
            self.llm.close()
            self.llm = None
