"""What a model is (read from its GGUF header) and where inhouse finds models on this machine."""

from .info import ModelInfo

__all__ = ["ModelInfo"]
