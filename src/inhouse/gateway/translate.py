"""INTERIM stand-in until gw-translate lands: errors only."""
from __future__ import annotations

from .sse import format_sse

_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
          404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error", 529: "overloaded_error"}


def error_body(protocol: str, status: int, message: str) -> dict:
    kind = _TYPES.get(status, "invalid_request_error" if status < 500 else "api_error")
    if protocol == "anthropic":
        return {"type": "error", "error": {"type": kind, "message": message}}
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}


def stream_error_event(protocol: str, message: str) -> bytes:
    if protocol == "anthropic":
        return format_sse("error", error_body("anthropic", 500, message))
    return format_sse(None, error_body("openai", 500, message))


def anthropic_to_openai_request(body):
    raise NotImplementedError


openai_to_anthropic_request = openai_to_anthropic_response = anthropic_to_openai_response = anthropic_to_openai_request
OpenAIToAnthropicStream = AnthropicToOpenAIStream = None
