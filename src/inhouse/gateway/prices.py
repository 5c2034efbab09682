"""What a request would have cost at a cloud model's list price.

The shipped table (``data/prices.json``, package data) maps globs on the model name a client asks
for (``claude-sonnet-4*``) to USD per million input and output tokens. The gateway config's
``[prices]`` entries are a layer above it: a model any config glob matches is priced by the config,
whatever the shipped table says. Within a layer the most specific glob (most literal characters)
wins, so ``gpt-4o-mini*`` beats ``gpt-4o*`` whatever their order.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import lru_cache
from importlib import resources
from typing import Mapping

from ..errors import ConfigError, InhouseError

MTOK = 1_000_000


@dataclass(frozen=True)
class Price:
    input_per_mtok: float
    output_per_mtok: float
    source: str = "shipped"  # "shipped" or "config"

    def __post_init__(self) -> None:
        for name in ("input_per_mtok", "output_per_mtok"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0 \
                    or value == float("inf"):
                raise ConfigError(f"{name} must be a number >= 0 (USD per million tokens), not {value!r}")


def _specificity(glob: str) -> int:
    return len(glob) - sum(glob.count(c) for c in "*?[]")


class PriceTable:
    """Layers of ``glob -> Price``; the first layer with a match prices the model."""

    def __init__(self, *layers: Mapping[str, Price]) -> None:
        self.layers = [dict(layer) for layer in layers]
        self._memo: dict[str, tuple[str, Price] | None] = {}

    @classmethod
    def shipped(cls) -> "PriceTable":
        return cls(shipped_prices())

    def with_overrides(self, overrides: Mapping[str, Price]) -> "PriceTable":
        return PriceTable(dict(overrides), *self.layers) if overrides else self

    def lookup(self, model: str) -> tuple[str, Price] | None:
        """The (glob, price) that prices ``model`` (case-insensitive), or None when none matches."""
        name = (model or "").lower()
        if name in self._memo:
            return self._memo[name]
        found = None
        for layer in self.layers:
            hits = [(g, p) for g, p in layer.items() if fnmatchcase(name, g.lower())]
            if hits:
                found = max(hits, key=lambda hit: _specificity(hit[0]))  # max keeps the first of a tie
                break
        if len(self._memo) < 10_000:  # model names come from clients: bounded
            self._memo[name] = found
        return found


@lru_cache(maxsize=1)
def _shipped_data() -> dict:
    text = resources.files("inhouse.gateway").joinpath("data", "prices.json").read_text(encoding="utf-8")
    return json.loads(text)


def shipped_prices() -> dict[str, Price]:
    return {glob: Price(v["input_per_mtok"], v["output_per_mtok"], "shipped")
            for glob, v in _shipped_data()["prices"].items()}


def cost(model: str, input_tokens: int, output_tokens: int,
         table: PriceTable | Mapping[str, Price] | None = None) -> float | None:
    """USD for ``input_tokens`` in and ``output_tokens`` out at ``model``'s price; None when the
    table has no price for it (a local or unknown model: no figure rather than a made-up one)."""
    for name, n in (("input_tokens", input_tokens), ("output_tokens", output_tokens)):
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise InhouseError(f"{name} must be a whole number >= 0, not {n!r}")
    if table is None:
        table = PriceTable.shipped()
    elif not isinstance(table, PriceTable):
        table = PriceTable(table)
    hit = table.lookup(model)
    if hit is None:
        return None
    price = hit[1]
    return (input_tokens * price.input_per_mtok + output_tokens * price.output_per_mtok) / MTOK
