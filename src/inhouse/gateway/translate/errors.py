"""Error bodies in each protocol's own shape, whole and as a stream's last event."""

from __future__ import annotations

from ..sse import format_sse
from .common import TranslationError

PROTOCOLS = ("openai", "anthropic")

# https://docs.anthropic.com/en/api/errors
_ANTHROPIC_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}

# OpenAI's error objects: {"message", "type", "param", "code"}
_OPENAI_TYPES = {
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
    504: "timeout_error",
}


def error_type(protocol: str, status: int) -> str:
    if protocol == "anthropic":
        return _ANTHROPIC_TYPES.get(status, "invalid_request_error" if 400 <= status < 500 else "api_error")
    if protocol == "openai":
        return _OPENAI_TYPES.get(status, "invalid_request_error" if 400 <= status < 500 else "server_error")
    raise TranslationError(f"unknown protocol {protocol!r}; use one of {', '.join(PROTOCOLS)}.")


def _one_line(message: str) -> str:
    return " ".join(str(message).split()) or "error"


def error_body(protocol: str, status: int, message: str) -> dict:
    """The JSON body of an HTTP ``status`` error in ``protocol`` ("openai" or "anthropic")."""
    kind = error_type(protocol, status)
    message = _one_line(message)
    if protocol == "anthropic":
        return {"type": "error", "error": {"type": kind, "message": message}}
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}


def stream_error_event(protocol: str, message: str, *, status: int = 500) -> bytes:
    """A complete SSE event that ends a stream with an error the client's SDK raises.

    Anthropic: ``event: error`` with the error body. OpenAI: a ``data:`` line holding
    ``{"error": {...}}`` (the openai SDK raises ``APIError`` on it).
    """
    body = error_body(protocol, status, message)
    return format_sse("error" if protocol == "anthropic" else None, body)
