"""The embedded engine: llama.cpp in this process, through llama-cpp-python.

inhouse runs its own token loop over ``Llama.generate`` rather than ``create_chat_completion`` so
that every token is counted exactly and timestamped the moment llama.cpp samples it. The prompt is
rendered with the model's own chat template (``tokenizer.chat_template`` in the GGUF), tools
included when the template knows about them. llama.cpp's own perf counters are reported beside
inhouse's clock as ``ServerTimings(source="llama.cpp")``.
"""

from __future__ import annotations

import codecs
import json
import threading
import uuid
from pathlib import Path
from typing import Any, Iterator

from .. import interrupt
from ..errors import ContextOverflow, EngineError, ModelLoadError, UnsupportedFeature
from ..models.gguf_header import read_header
from ._tags import TagSplitter
from .base import (
    ChatRequest,
    Engine,
    Event,
    Finished,
    ReasoningDelta,
    ServerTimings,
    Started,
    TextDelta,
    ToolCall,
    Usage,
    now,
)

DEFAULT_CTX = 4096
# Architectures whose GGUFs often ship without a chat template, and the format llama-cpp-python
# has built in for them (the same turn markers the model was trained on).
BUILTIN_FORMATS = {"gemma": "gemma", "gemma2": "gemma", "gemma3": "gemma"}


def parse_tool_block(block: str) -> tuple[str, str]:
    """(name, raw-arguments JSON) from a ``<tool_call>`` block; unparseable blocks keep their raw
    text as arguments under the name ``""`` so that scorers can call them malformed."""
    try:
        data = json.loads(block)
    except ValueError:
        return "", block.strip()
    if not isinstance(data, dict):
        return "", block.strip()
    args = data.get("arguments", data.get("parameters", {}))
    return str(data.get("name", "")), args if isinstance(args, str) else json.dumps(args)


def _check_ctx(header, n_ctx: int, model: str, **settings) -> list[str]:
    """Before llama.cpp loads anything: a context it cannot hold, or that cannot be allocated on
    this machine, is an error; one above the training context, a warning (returned)."""
    from ..errors import InhouseError
    from ..plan.context import check_allocation, check_context

    trained = header.arch_field("context_length")
    warnings = check_context(n_ctx, int(trained) if trained else None, model=model)
    try:
        from ..plan.settings import LoadSettings
        from ..plan.spec import ModelSpec

        spec = ModelSpec.from_header(header)
        load = LoadSettings(n_ctx=n_ctx, **settings)
    except (InhouseError, KeyError, ValueError, TypeError):
        return warnings  # a header plan/ cannot size: llama.cpp's own load is the check
    check_allocation(spec, load, model=model)
    return warnings


class LlamaCppEngine(Engine):
    """A GGUF model loaded in-process.

    >>> with LlamaCppEngine("model.gguf") as engine:
    ...     engine.chat(ChatRequest.from_prompt("Say hi")).text
    'Hi!'
    """

    name = "llama_cpp"
    reports_usage = True
    reports_timings = True
    supports_reasoning = True  # <think> blocks are split out of the text

    def __init__(
        self,
        model_path: str | Path,
        *,
        n_ctx: int | None = None,
        n_threads: int | None = None,
        n_batch: int = 512,
        n_ubatch: int = 512,
        n_gpu_layers: int = 0,
        flash_attn: bool | None = None,
        model_name: str | None = None,
        reuse_prefix: bool = False,
        chat_template: str | None = None,
    ) -> None:
        """``chat_template``: a Jinja chat template to use instead of the one in the GGUF (for
        files whose template is missing or broken)."""
        from ..machine.cpu import default_threads

        header = read_header(model_path)  # clear errors for missing/corrupt files before llama.cpp
        trained_ctx = header.arch_field("context_length")
        self.model_path = str(model_path)
        self.model_name = model_name or Path(model_path).stem
        self.n_ctx = n_ctx or min(int(trained_ctx or DEFAULT_CTX), DEFAULT_CTX)
        # Warnings for the caller to show (e.g. a context above the training context).
        self.warnings: list[str] = []
        if n_ctx:
            self.warnings = _check_ctx(header, n_ctx, self.model_name, n_batch=n_batch, n_ubatch=n_ubatch,
                                       n_gpu_layers=n_gpu_layers, flash_attn=bool(flash_attn))
        self.n_threads = n_threads or default_threads()
        template = chat_template or header.fields.get("tokenizer.chat_template")
        if not isinstance(template, str) or not template:
            template = None
            if header.architecture not in BUILTIN_FORMATS:
                raise ModelLoadError(
                    f"{self.model_path} has no chat template in its GGUF header; use a chat/instruct "
                    "model, or a GGUF converted together with its tokenizer_config.json."
                )
        self.chat_template = ("given" if chat_template else "gguf") if template else f"builtin:{BUILTIN_FORMATS[header.architecture]}"
        self.supports_tools = bool(template) and "tools" in template
        # Qwen3-style templates take enable_thinking; others have no switch to pass it to.
        self.thinking_switch = bool(template) and "enable_thinking" in template
        # llama.cpp's results depend on how the prompt is split into batches, so reusing the cached
        # prefix of the previous prompt changes greedy output (seen: a different answer to the same
        # question) and fakes prefill speed. Off by default: every request is evaluated whole.
        self.reuse_prefix = reuse_prefix
        self._lock = threading.Lock()
        kwargs: dict[str, Any] = {}
        if flash_attn is not None:
            kwargs["flash_attn"] = flash_attn
        import time

        from . import llama_callbacks

        t0 = time.perf_counter()
        try:
            from llama_cpp import Llama

            # llama.cpp's log goes to inhouse's callback, which prints nothing and keeps Ctrl-C working
            llama_callbacks.install()
            self._llm = Llama(
                model_path=self.model_path,
                n_ctx=self.n_ctx,
                n_threads=self.n_threads,
                n_batch=n_batch,
                n_ubatch=n_ubatch,
                n_gpu_layers=n_gpu_layers,
                verbose=False,
                **kwargs,
            )
        except (ValueError, RuntimeError, OSError) as exc:
            if interrupt.requested():
                interrupt.deliver()  # the load failed because it was interrupted
            raise ModelLoadError(
                f"llama.cpp could not load {self.model_path} ({exc}). The file may be damaged, "
                "of an architecture this llama.cpp does not know, or too large for free memory: "
                "check `inhouse models` and `inhouse machine`."
            ) from exc
        self.load_s = time.perf_counter() - t0
        from llama_cpp import llama_chat_format

        llm = self._llm
        eos, bos = llm.token_eos(), llm.token_bos()
        if template:
            self._formatter = llama_chat_format.Jinja2ChatFormatter(
                template=template,
                eos_token=llm._model.token_get_text(eos) if eos != -1 else "",
                bos_token=llm._model.token_get_text(bos) if bos != -1 else "",
            )
        else:
            self._formatter = getattr(llama_chat_format, f"format_{BUILTIN_FORMATS[header.architecture]}")

    # -- helpers -------------------------------------------------------------------------------

    def render_prompt(self, request: ChatRequest) -> tuple[list[int], list[str]]:
        """The prompt tokens the model will see, and the template's stop strings."""
        return self._render(request)[:2]

    def _render(self, request: ChatRequest) -> tuple[list[int], list[str], bool]:
        """Tokens, stop strings, and whether the prompt leaves a ``<think>`` block open."""
        extra: dict[str, Any] = {}
        if request.thinking is not None:
            if not self.thinking_switch:
                raise UnsupportedFeature(
                    f"The chat template of {self.model_name} has no thinking switch (enable_thinking): "
                    "leave --thinking out for this model."
                )
            extra["enable_thinking"] = request.thinking
        try:
            rendered = self._formatter(messages=request.messages, tools=request.tools, **extra)
        except Exception as exc:  # jinja2 errors, raise_exception() from the template
            raise EngineError(
                f"The chat template of {self.model_name} cannot render this conversation ({exc}). "
                "Check the message roles and order."
            ) from exc
        tokens = self._llm.tokenize(
            rendered.prompt.encode("utf-8"), add_bos=not rendered.added_special, special=True
        )
        stop = rendered.stop or []
        opens_think = rendered.prompt.rstrip().endswith("<think>")
        return tokens, [stop] if isinstance(stop, str) else list(stop), opens_think

    def count_tokens(self, text: str) -> int:
        return len(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    # -- Engine -------------------------------------------------------------------------------

    def generate(self, request: ChatRequest) -> Iterator[Event]:
        if self._llm is None:
            raise EngineError("This engine has been closed; open a new one.")
        with self._lock:
            yield from self._generate(request)

    def _generate(self, request: ChatRequest) -> Iterator[Event]:
        import llama_cpp

        from . import llama_callbacks

        llm = self._llm
        prompt, template_stops, opens_think = self._render(request)
        if len(prompt) >= self.n_ctx:
            raise ContextOverflow(
                f"The prompt is {len(prompt)} tokens but the context window is {self.n_ctx}. "
                "Shorten the prompt or load the model with a larger context (--ctx)."
            )
        budget = min(request.max_tokens, self.n_ctx - len(prompt))
        stops = [s for s in (*template_stops, *request.stop) if s]
        if request.seed is not None:
            llm.set_seed(request.seed)
        if not self.reuse_prefix:
            llm.reset()
        llama_cpp.llama_synchronize(llm._ctx.ctx)  # settle earlier work before the counters restart
        llama_cpp.llama_perf_context_reset(llm._ctx.ctx)
        yield Started(t=now(), prompt_tokens=len(prompt))

        splitter = TagSplitter(inside="think" if opens_think else None)
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        vocab = llm._model.vocab
        text_so_far = ""
        pending_tokens = 0
        n_generated = 0
        n_reasoning = 0
        finish = "length"
        calls: list[ToolCall] = []
        # Ctrl-C may abort the prompt's evaluation (one call, seconds for a long prompt); decoded
        # tokens hand control back to Python one by one, and run without the per-node check.
        interrupt.reset()
        llama_callbacks.set_abort(llm, True)
        try:
            gen = llm.generate(prompt, temp=request.temperature, top_k=40, top_p=0.95, min_p=0.05)
            for token in gen:
                t = now()
                if n_generated == 0:
                    llama_callbacks.set_abort(llm, False)
                if llama_cpp.llama_vocab_is_eog(vocab, token):
                    finish = "stop"
                    break
                n_generated += 1
                pending_tokens += 1
                piece = decoder.decode(llm.detokenize([token], special=False))
                if piece:
                    text_so_far += piece
                    stop_at = min((i for s in stops if (i := text_so_far.find(s)) >= 0), default=-1)
                    if stop_at >= 0:
                        # Emit only what precedes the stop string, then end.
                        piece = piece[: max(0, len(piece) - (len(text_so_far) - stop_at))]
                    for kind, text in splitter.feed(piece):
                        n_reasoning += pending_tokens if kind == "reasoning" else 0
                        yield from self._events(kind, text, t, pending_tokens, calls)
                        pending_tokens = 0
                    if stop_at >= 0:
                        finish = "stop"
                        break
                if n_generated >= budget:
                    break
            gen.close()
        except KeyboardInterrupt:
            raise
        except RuntimeError as exc:
            if interrupt.requested():
                interrupt.deliver()  # the decode was aborted on Ctrl-C
            raise EngineError(f"llama.cpp failed while generating: {exc}") from exc
        finally:
            llama_callbacks.set_abort(llm, False)
        t = now()
        for kind, text in splitter.flush():
            yield from self._events(kind, text, t, pending_tokens, calls)
            pending_tokens = 0
        perf = llama_cpp.llama_perf_context(llm._ctx.ctx)
        yield Usage(prompt_tokens=len(prompt), completion_tokens=n_generated, t=t,
                    reasoning_tokens=n_reasoning or None)
        yield ServerTimings(
            prompt_n=int(perf.n_p_eval),
            prompt_s=perf.t_p_eval_ms / 1000.0,
            predicted_n=int(perf.n_eval),
            predicted_s=perf.t_eval_ms / 1000.0,
            source="llama.cpp",
            t=t,
        )
        yield Finished(finish_reason="tool_calls" if calls else finish, t=t)

    @staticmethod
    def _events(kind: str, text: str, t: float, n_tokens: int, calls: list[ToolCall]) -> Iterator[Event]:
        if kind == "text":
            yield TextDelta(text=text, t=t, n_tokens=n_tokens)
        elif kind == "reasoning":
            yield ReasoningDelta(text=text, t=t, n_tokens=n_tokens)
        else:
            name, args = parse_tool_block(text)
            call = ToolCall(id=f"call_{uuid.uuid4().hex[:12]}", name=name, arguments=args, t=t)
            calls.append(call)
            yield call

    def close(self) -> None:
        llm, self._llm = getattr(self, "_llm", None), None
        if llm is not None:
            llm.close()
