"""Storing what ``inhouse fit`` computed, so ``inhouse report`` can show it later."""

from __future__ import annotations

from typing import Any


def record_fit(store, target, settings, est, obs=None, *, ref: str | None = None) -> int:
    """One ``fit`` run in the store: the estimate for ``target`` at ``settings`` and, when the
    model was really loaded (``--verify``), llama.cpp's own total. Returns the run id."""
    from ..store.db import now_iso

    result: dict[str, Any] = {"estimate": est.to_dict()}
    if obs is not None:
        result["llama_cpp"] = {"total_bytes": obs.total_bytes, "breakdown": obs.breakdown()}
    return store.record_run(
        "fit", started_at=now_iso(), status="ok", model=target.label, engine="estimate",
        settings={"ref": ref, "kind": target.kind, "path": str(target.path) if target.path else None,
                  "quant": target.quant, **settings.to_dict()},
        result=result)
