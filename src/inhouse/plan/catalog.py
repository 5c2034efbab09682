"""The catalog of open-weight coding models (``data/coding_models.json``) as ModelSpecs."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from ..errors import ModelNotFound
from .hf_config import spec_from_hf_config
from .spec import ModelSpec
from .synthetic import with_tensors

DEFAULT_QUANTS = ("Q4_K_M", "Q5_K_M", "Q6_K", "Q8_0")


@dataclass(frozen=True)
class CatalogModel:
    id: str
    name: str
    license: str
    quality: int
    max_context: int
    config: dict[str, Any] = field(repr=False)
    native_quant: str | None = None

    @property
    def quants(self) -> tuple[str, ...]:
        return (self.native_quant,) if self.native_quant else DEFAULT_QUANTS

    def spec(self, quant: str) -> ModelSpec:
        spec = spec_from_hf_config(self.config)
        spec.n_ctx_train = self.max_context
        return with_tensors(spec, quant)


def load_catalog() -> list[CatalogModel]:
    text = resources.files("inhouse.plan").joinpath("data/coding_models.json").read_text(encoding="utf-8")
    return [CatalogModel(**entry) for entry in json.loads(text)["models"]]


def find(model_id: str) -> CatalogModel:
    for m in load_catalog():
        if m.id == model_id.lower():
            return m
    raise ModelNotFound(f"{model_id!r} is not in inhouse's catalog; `inhouse fit --catalog` lists it.")
