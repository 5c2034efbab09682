"""--thinking on|off: the switch reaches the chat template, reasoning is kept apart and counted,
and a model without a switch gets a clear error instead of a silent no-op."""

from __future__ import annotations

import json

from click.testing import CliRunner

from inhouse.cli import cli
from inhouse.engines.base import ChatRequest
from inhouse.engines.fake import FakeEngine, FakeReply
from inhouse.engines.llama_cpp import LlamaCppEngine
from inhouse.engines.openai_http import OpenAIEngine
from inhouse.evals.run import run_eval
from inhouse.evals.tasks import load_suite

# ChatML as SmolLM2 was trained on, with a Qwen3-style switch: on opens a <think> block in the
# prompt (the reply starts inside it), off gives the model an empty one.
THINKING_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n"
    "{% if enable_thinking is defined and not enable_thinking %}<think>\n\n</think>\n\n{% else %}<think>\n{% endif %}"
    "{% endif %}"
)


def test_the_switch_reaches_the_template_and_reasoning_is_counted(smollm2_path):
    with LlamaCppEngine(smollm2_path, n_ctx=512, chat_template=THINKING_TEMPLATE) as engine:
        assert engine.thinking_switch
        on = engine.chat(ChatRequest.from_prompt("What is 2 + 3?", max_tokens=24, thinking=True))
        off = engine.chat(ChatRequest.from_prompt("What is 2 + 3?", max_tokens=24, thinking=False))
        on_tokens, _ = engine.render_prompt(ChatRequest.from_prompt("hi", thinking=True))
        off_tokens, _ = engine.render_prompt(ChatRequest.from_prompt("hi", thinking=False))
    assert len(off_tokens) > len(on_tokens)  # the empty think block is in the prompt
    # on: the reply starts inside the open <think> block, so it is reasoning until </think>
    assert on.reasoning and on.usage.reasoning_tokens and on.usage.reasoning_tokens <= on.usage.completion_tokens
    if "</think>" not in on.reasoning and not on.text:
        assert on.usage.reasoning_tokens == on.usage.completion_tokens
    assert off.text and not off.reasoning and off.usage.reasoning_tokens is None


def test_a_model_without_a_switch_gets_a_clear_error(llama_engine):
    assert llama_engine.thinking_switch is False
    result = CliRunner().invoke(cli, ["eval", "--thinking", "on", "--limit", "1"])
    assert result.exit_code == 1
    assert "no thinking switch" in result.output and "leave --thinking out" in result.output


def test_thinking_is_sent_to_servers_as_a_template_argument():
    engine = OpenAIEngine("http://127.0.0.1:9", model="m")
    assert engine._payload(ChatRequest.from_prompt("hi", thinking=False))["chat_template_kwargs"] == \
        {"enable_thinking": False}
    assert "chat_template_kwargs" not in engine._payload(ChatRequest.from_prompt("hi"))
    engine.close()


def test_eval_passes_the_switch_and_records_it():
    task = next(t for t in load_suite("core") if t.id == "syn_reverse_words")
    engine = FakeEngine([FakeReply(text="<think>split, reverse, join</think>```python\n"
                                        "def reverse_words(s):\n    return ' '.join(reversed(s.split()))\n```")])
    run = run_eval(engine, [task], model="fake", suite="core", thinking=True)
    assert engine.history[0].thinking is True
    row = run.rows[0]
    assert row["thinking"] is True and row["outcome"] == "passed" and row["reasoning_tokens"] == 3
    assert json.dumps(row)


# ChatML with a tools section (Hermes style): the engine parses <tool_call> blocks out of the reply.
TOOLS_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content or '' }}"
    "{% if m.role == 'system' and tools %}\nTools (call one as <tool_call>{\"name\": ..., \"arguments\": {...}}"
    "</tool_call>):\n{% for t in tools %}{{ t.function | tojson }}\n{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def test_cli_chat_template_poses_tools_and_thinking(tmp_path):
    template = tmp_path / "chatml-tools.jinja"
    template.write_text(TOOLS_TEMPLATE)
    runner = CliRunner()
    result = runner.invoke(cli, ["eval", "--chat-template", str(template), "--category", "tool_calling", "--limit", "2",
                                 "--max-tokens", "48", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["skipped"] == 0 and data["overall"]["n"] == 2  # offered tools now, so scored, not skipped
    thinking = tmp_path / "thinking.jinja"
    thinking.write_text(THINKING_TEMPLATE)
    result = runner.invoke(cli, ["eval", "--chat-template", str(thinking), "--thinking", "off", "--limit", "1",
                                 "--max-tokens", "48", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["rows"][0]["thinking"] is False
    remote = runner.invoke(cli, ["eval", "--endpoint", "http://127.0.0.1:9", "--chat-template", str(thinking)])
    assert remote.exit_code == 1 and "in-process engine only" in remote.output
