"""Request bodies: Anthropic Messages <-> OpenAI Chat Completions.

Fields one protocol has and the other cannot express are dropped (``top_k`` travels to OpenAI
servers because llama.cpp, vLLM and Ollama honour it). Neither direction maps extended thinking:
Anthropic's ``thinking`` budget and OpenAI's ``reasoning_effort`` are rejected by models of the
other protocol that do not reason, and Anthropic refuses thinking blocks without its signature, so
reasoning replayed in a history is dropped on the way to Anthropic.
"""

from __future__ import annotations

import json
from typing import Any

from .common import TranslationError, assistant_message, parse_arguments

DEFAULT_MAX_TOKENS = 4096


# ---------------------------------------------------------------- Anthropic -> OpenAI


def _text_of(blocks: Any) -> str:
    if isinstance(blocks, str):
        return blocks
    return "".join(b.get("text", "") for b in blocks or [] if isinstance(b, dict) and b.get("type") == "text")


def _image_part(block: dict) -> dict:
    source = block.get("source") or {}
    if source.get("type") == "base64":
        url = f"data:{source.get('media_type', 'image/png')};base64,{source.get('data', '')}"
    elif source.get("type") == "url":
        url = source.get("url", "")
    else:
        raise TranslationError(
            f"image source {source.get('type')!r} has no OpenAI equivalent; send the image as base64 or a URL."
        )
    return {"type": "image_url", "image_url": {"url": url}}


def _user_parts(blocks: list) -> list[dict]:
    parts = []
    for block in blocks:
        kind = block.get("type")
        if kind == "text":
            parts.append({"type": "text", "text": block.get("text", "")})
        elif kind == "image":
            parts.append(_image_part(block))
        elif kind == "document":
            raise TranslationError("document blocks have no OpenAI chat equivalent; send the text as a text block.")
        # other kinds (search results, server tool results) carry nothing an OpenAI model reads
    return parts


def _simplify(parts: list[dict]) -> str | list[dict]:
    """Text-only content as one string: every OpenAI-compatible server accepts that form."""
    if all(p["type"] == "text" for p in parts):
        return "".join(p["text"] for p in parts)
    return parts


def _tool_result_messages(block: dict) -> tuple[dict, list[dict]]:
    content = block.get("content", "")
    images: list[dict] = []
    if isinstance(content, list):
        images = [_image_part(b) for b in content if isinstance(b, dict) and b.get("type") == "image"]
        content = _text_of(content)
    if block.get("is_error"):
        content = f"[tool error] {content}"
    return {"role": "tool", "tool_call_id": block.get("tool_use_id", ""), "content": content}, images


def _anthropic_message_to_openai(message: dict) -> list[dict]:
    role = message.get("role")
    content = message.get("content", "")
    if role not in ("user", "assistant"):
        raise TranslationError(f"message role {role!r} is not an Anthropic role; use 'user' or 'assistant'.")
    if isinstance(content, str):
        return [{"role": role, "content": content}]
    if role == "assistant":
        return [assistant_message(content)]
    # user: tool results become "tool" messages, which OpenAI wants right after the assistant turn
    messages, rest, images = [], [], []
    for block in content:
        if block.get("type") == "tool_result":
            tool_message, tool_images = _tool_result_messages(block)
            messages.append(tool_message)
            images.extend(tool_images)
        else:
            rest.append(block)
    parts = images + _user_parts(rest)
    if parts or not messages:
        messages.append({"role": "user", "content": _simplify(parts)})
    return messages


def _openai_tool(tool: dict) -> dict:
    if "input_schema" not in tool or tool.get("type") not in (None, "custom"):
        raise TranslationError(
            f"tool {tool.get('name')!r} of type {tool.get('type')!r} is an Anthropic server tool with no OpenAI "
            "equivalent; declare it as a custom tool with an input_schema or route this request to an Anthropic backend."
        )
    function: dict[str, Any] = {"name": tool["name"], "parameters": tool.get("input_schema") or {"type": "object"}}
    if tool.get("description"):
        function["description"] = tool["description"]
    return {"type": "function", "function": function}


def _openai_tool_choice(choice: dict) -> str | dict:
    kind = choice.get("type")
    if kind == "auto":
        return "auto"
    if kind == "any":
        return "required"
    if kind == "none":
        return "none"
    if kind == "tool":
        return {"type": "function", "function": {"name": choice.get("name", "")}}
    raise TranslationError(f"tool_choice type {kind!r} is unknown; use auto, any, tool or none.")


def anthropic_to_openai_request(body: dict) -> dict:
    """An Anthropic ``POST /v1/messages`` body as an OpenAI ``POST /v1/chat/completions`` body."""
    out: dict[str, Any] = {"model": body.get("model", "")}
    messages: list[dict] = []
    system = body.get("system")
    if system:
        messages.append({"role": "system", "content": _text_of(system)})
    for message in body.get("messages") or []:
        messages.extend(_anthropic_message_to_openai(message))
    out["messages"] = messages
    if "max_tokens" in body:
        out["max_tokens"] = body["max_tokens"]
    for key in ("temperature", "top_p", "top_k"):
        if body.get(key) is not None:
            out[key] = body[key]
    if body.get("stop_sequences"):
        out["stop"] = list(body["stop_sequences"])
    tools = [_openai_tool(t) for t in body.get("tools") or []]
    if tools:
        out["tools"] = tools
        choice = body.get("tool_choice")
        if choice:
            out["tool_choice"] = _openai_tool_choice(choice)
            if choice.get("disable_parallel_tool_use"):
                out["parallel_tool_calls"] = False
    if body.get("stream"):
        out["stream"] = True
        out["stream_options"] = {"include_usage": True}
    user = (body.get("metadata") or {}).get("user_id")
    if user:
        out["user"] = user
    return out


# ---------------------------------------------------------------- OpenAI -> Anthropic


def _anthropic_image(part: dict) -> dict:
    url = (part.get("image_url") or {}).get("url", "")
    if url.startswith("data:"):
        header, _, data = url.partition(",")
        media_type = header[5:].split(";")[0] or "image/png"
        return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}
    return {"type": "image", "source": {"type": "url", "url": url}}


def _anthropic_blocks(content: Any) -> list[dict]:
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    blocks = []
    for part in content:
        kind = part.get("type")
        if kind == "text":
            if part.get("text"):
                blocks.append({"type": "text", "text": part["text"]})
        elif kind == "image_url":
            blocks.append(_anthropic_image(part))
        elif kind == "refusal":
            blocks.append({"type": "text", "text": part.get("refusal", "")})
        else:
            raise TranslationError(
                f"content part {kind!r} has no Anthropic equivalent; send text or images, or route to an OpenAI backend."
            )
    return blocks


def _tool_result_content(content: Any) -> str | list[dict]:
    if isinstance(content, str) or content is None:
        return content or ""
    blocks = _anthropic_blocks(content)
    return blocks


def openai_to_anthropic_request(body: dict, *, default_max_tokens: int = DEFAULT_MAX_TOKENS) -> dict:
    """An OpenAI ``POST /v1/chat/completions`` body as an Anthropic ``POST /v1/messages`` body.

    Anthropic requires ``max_tokens``; a body without one gets ``default_max_tokens``. Consecutive
    messages of one role (tool results, then the user's next words) merge into one message.
    """
    if (body.get("n") or 1) != 1:
        raise TranslationError("n > 1 has no Anthropic equivalent; ask for one choice per request.")
    system: list[str] = []
    messages: list[dict] = []

    def add(role: str, blocks: list[dict]) -> None:
        if not blocks:
            return
        if messages and messages[-1]["role"] == role:
            messages[-1]["content"].extend(blocks)
        else:
            messages.append({"role": role, "content": blocks})

    for message in body.get("messages") or []:
        role = message.get("role")
        if role in ("system", "developer"):
            text = _text_of(message.get("content"))
            if text:
                system.append(text)
        elif role == "user":
            add("user", _anthropic_blocks(message.get("content")))
        elif role == "assistant":
            blocks = _anthropic_blocks(message.get("content"))
            for call in message.get("tool_calls") or []:
                function = call.get("function") or {}
                blocks.append({
                    "type": "tool_use",
                    "id": call.get("id", ""),
                    "name": function.get("name", ""),
                    "input": parse_arguments(function.get("arguments")),
                })
            add("assistant", blocks)
        elif role == "tool":
            add("user", [{
                "type": "tool_result",
                "tool_use_id": message.get("tool_call_id", ""),
                "content": _tool_result_content(message.get("content")),
            }])
        else:
            raise TranslationError(
                f"message role {role!r} has no Anthropic equivalent; use system, user, assistant or tool."
            )
    out: dict[str, Any] = {"model": body.get("model", "")}
    if system:
        out["system"] = "\n\n".join(system)
    out["messages"] = messages
    max_tokens = body.get("max_completion_tokens") or body.get("max_tokens")
    out["max_tokens"] = max_tokens if isinstance(max_tokens, int) and max_tokens > 0 else default_max_tokens
    for key in ("temperature", "top_p"):
        value = body.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            out[key] = min(max(value, 0), 1)  # OpenAI allows temperature up to 2, Anthropic up to 1
    stop = body.get("stop")
    if stop:
        out["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
    tools = []
    for tool in body.get("tools") or []:
        if tool.get("type", "function") != "function":
            raise TranslationError(
                f"tool type {tool.get('type')!r} has no Anthropic equivalent; declare function tools."
            )
        function = tool.get("function") or {}
        converted = {"name": function.get("name", ""),
                     "input_schema": function.get("parameters") or {"type": "object", "properties": {}}}
        if function.get("description"):
            converted["description"] = function["description"]
        tools.append(converted)
    if tools:
        out["tools"] = tools
        choice = body.get("tool_choice")
        converted_choice: dict | None = None
        if choice in ("auto", None):
            converted_choice = {"type": "auto"} if choice or body.get("parallel_tool_calls") is False else None
        elif choice == "required":
            converted_choice = {"type": "any"}
        elif choice == "none":
            converted_choice = {"type": "none"}
        elif isinstance(choice, dict) and choice.get("type") == "function":
            converted_choice = {"type": "tool", "name": (choice.get("function") or {}).get("name", "")}
        else:
            raise TranslationError(f"tool_choice {json.dumps(choice)} is unknown; use auto, required, none or a function.")
        if converted_choice is not None and body.get("parallel_tool_calls") is False and converted_choice["type"] != "none":
            converted_choice["disable_parallel_tool_use"] = True
        if converted_choice is not None:
            out["tool_choice"] = converted_choice
    if body.get("stream"):
        out["stream"] = True
    if body.get("user"):
        out["metadata"] = {"user_id": body["user"]}
    return out
