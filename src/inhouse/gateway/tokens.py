"""Token counts for the ledger when a backend reports no usage.

A local backend's model file gives its own tokenizer: llama.cpp loads the GGUF *vocab only* (no
weights, a few MB and a fraction of a second), the conversation is rendered with the model's chat
template as llama.cpp's server renders it, and the rendered prompt and the reply are tokenized.
Without a model file nothing is guessed: the counts are None and so is ``tokens_counted``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import EngineError, InhouseError, ModelLoadError
from .ledger import TOKENS_LOCAL


@dataclass(frozen=True)
class TokenCounts:
    """The token fields of a ``LedgerRow`` (``dataclasses.asdict`` gives them by name)."""

    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    reasoning_tokens: int | None = None
    tokens_counted: str | None = None


class TokenCounter:
    """A GGUF's tokenizer and chat template, loaded without the weights. Safe from many threads."""

    def __init__(self, model_path: str | Path) -> None:
        from ..models.gguf_header import read_header

        self.model_path = str(model_path)
        header = read_header(model_path)  # clear errors for missing or corrupt files first
        try:
            import logging

            import llama_cpp
            import llama_cpp._logger
            from llama_cpp import _internals, llama_chat_format

            llama_cpp._logger.logger.setLevel(logging.CRITICAL)
            llama_cpp.llama_backend_init()
            params = llama_cpp.llama_model_default_params()
            params.vocab_only = True
            params.use_mmap = False  # were weights ever loaded, they would show in RSS, not hide in a map
            self._model = _internals.LlamaModel(path_model=self.model_path, params=params, verbose=False)
        except (ValueError, RuntimeError, OSError) as exc:
            raise ModelLoadError(
                f"llama.cpp could not read the tokenizer of {self.model_path} ({exc}); check the file "
                "with `inhouse models`."
            ) from exc
        self._lock = threading.Lock()
        template = header.fields.get("tokenizer.chat_template")
        if isinstance(template, str) and template:
            eos, bos = self._model.token_eos(), self._model.token_bos()
            self._formatter = llama_chat_format.Jinja2ChatFormatter(
                template=template,
                eos_token=self._model.token_get_text(eos) if eos != -1 else "",
                bos_token=self._model.token_get_text(bos) if bos != -1 else "",
            )
        else:
            from ..engines.llama_cpp import BUILTIN_FORMATS

            builtin = BUILTIN_FORMATS.get(header.architecture)
            self._formatter = getattr(llama_chat_format, f"format_{builtin}") if builtin else None

    def _tokenize(self, text: str, *, add_bos: bool) -> list[int]:
        with self._lock:
            return self._model.tokenize(text.encode("utf-8"), add_bos=add_bos, special=True)

    def count_text(self, text: str) -> int:
        """Tokens of generated text (special tokens such as ``<think>`` count as the one token they are)."""
        return len(self._tokenize(text, add_bos=False)) if text else 0

    def count_prompt(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None) -> int:
        """Tokens of the prompt the model sees for these OpenAI-style messages: its chat template
        rendered with the generation prompt, BOS included where the model adds one."""
        if self._formatter is None:
            raise EngineError(f"{self.model_path} has no chat template: its prompt tokens cannot be counted.")
        try:
            rendered = self._formatter(messages=messages, tools=tools)
        except Exception as exc:  # jinja2 errors, raise_exception() from the template
            raise EngineError(f"The chat template of {self.model_path} cannot render this conversation ({exc}).") \
                from exc
        return len(self._tokenize(rendered.prompt, add_bos=not rendered.added_special))

    def close(self) -> None:
        with self._lock:
            self._model.close()


_counters: dict[str, TokenCounter] = {}
_counters_lock = threading.Lock()


def counter_for(model_path: str | Path | None) -> TokenCounter | None:
    """The (cached) counter for a local model file; None without a path."""
    if model_path is None:
        return None
    key = str(Path(model_path).resolve())
    with _counters_lock:
        counter = _counters.get(key)
        if counter is None:
            counter = _counters[key] = TokenCounter(key)
        return counter


def count_usage(
    model_path: str | Path | None,
    messages: list[dict[str, Any]] | None,
    reply_text: str,
    *,
    reasoning_text: str = "",
    tools: list[dict[str, Any]] | None = None,
) -> TokenCounts:
    """Counts for a request whose backend sent no usage.

    ``reply_text`` is the text the model generated (tool calls as it wrote them), ``reasoning_text``
    its thinking, counted into ``completion_tokens`` as the APIs do. Without a model path, or when
    the tokenizer cannot be loaded, everything is None; a prompt the template cannot render leaves
    only ``prompt_tokens`` None.
    """
    try:
        counter = counter_for(model_path)
    except InhouseError:
        counter = None
    if counter is None:
        return TokenCounts()
    prompt: int | None
    try:
        prompt = counter.count_prompt(messages, tools) if messages is not None else None
    except EngineError:
        prompt = None
    reasoning = counter.count_text(reasoning_text) if reasoning_text else None
    completion = counter.count_text(reply_text) + (reasoning or 0)
    return TokenCounts(prompt, completion, reasoning, TOKENS_LOCAL)
