"""The buffers a memory figure is broken into, shared by the estimate and llama.cpp's report."""

from __future__ import annotations

BUFFERS = ("weights_bytes", "repack_bytes", "kv_bytes", "state_bytes", "output_bytes", "compute_bytes")


class Buffers:
    """For classes with one attribute per name in ``BUFFERS``."""

    def breakdown(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in BUFFERS}

    @property
    def total_bytes(self) -> int:
        return sum(self.breakdown().values())
