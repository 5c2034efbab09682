"""``ModelInfo``: the facts about one model file that ``inhouse models`` lists."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class ModelInfo:
    """One GGUF model as read from its header (weights are never loaded to make one)."""

    name: str
    path: str
    source: str  # "pypi", "dir", "ollama", "lmstudio", "hf-cache", "path"
    architecture: str
    parameters: int
    quantization: str
    size_bytes: int
    context_length: int | None
    has_chat_template: bool
    chat_template_supports_tools: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ModelInfo":
        return cls(**data)
