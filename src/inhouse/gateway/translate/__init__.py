"""Protocol translation between the OpenAI Chat Completions and Anthropic Messages APIs.

Pure functions over parsed JSON dicts: no I/O. ``request``: bodies each way; ``response``: whole
replies; ``stream``: streamed replies, event by event; ``errors``: error bodies and stream errors.
"""

from .common import TranslationError, anthropic_usage, openai_usage
from .errors import error_body, error_type, stream_error_event
from .request import anthropic_to_openai_request, openai_to_anthropic_request
from .response import anthropic_to_openai_response, openai_to_anthropic_response
from .stream import AnthropicToOpenAIStream, OpenAIToAnthropicStream

__all__ = [
    "AnthropicToOpenAIStream",
    "OpenAIToAnthropicStream",
    "TranslationError",
    "anthropic_to_openai_request",
    "anthropic_to_openai_response",
    "anthropic_usage",
    "error_body",
    "error_type",
    "openai_to_anthropic_request",
    "openai_to_anthropic_response",
    "openai_usage",
    "stream_error_event",
]
