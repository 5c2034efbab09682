"""The gateway's ledger: one row per request, whatever its outcome, and summaries of them.

A row holds what the router decided and what was measured (tokens, TTFT, duration, cost at the
price of the cloud model the client asked for); never the prompt or the reply. ``Ledger.write`` is
safe from many threads at once (``await asyncio.to_thread(ledger.write, row)``) and from several
processes sharing one store: each write is one short transaction on the ledger's own connection.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import re
import sqlite3
import statistics
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError, StoreError
from ..store import Store

TABLE = "gateway_requests"

PROTOCOLS = ("openai", "anthropic")
KINDS = ("local", "cloud")
SERVED = ("ok", "fallback-ok")
"""Statuses of a request a backend answered in full (after skipping others, for ``fallback-ok``)."""
STATUSES = (*SERVED, "error", "rejected", "client-closed")
"""``error``: no backend could serve it, or the one serving it failed mid-stream; ``rejected``: the
gateway refused the request itself (4xx: bad input, unknown model, wrong key); ``client-closed``:
the client went away before the end."""
TOKENS_BACKEND = "backend"
TOKENS_LOCAL = "local tokenizer"
TOKEN_SOURCES = (TOKENS_BACKEND, TOKENS_LOCAL)
"""Where a row's token counts come from; ``None`` when nothing counted them (the counts are NULL)."""

_ERROR_MAX = 500


def _utc_iso(value: _dt.datetime | str | None) -> str:
    """One fixed-width UTC form, so that text order is time order in SQL."""
    if value is None:
        value = _dt.datetime.now(_dt.timezone.utc)
    elif isinstance(value, str):
        try:
            value = _dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as exc:
            raise StoreError(f"Ledger row created_at {value!r} is not an ISO 8601 time.") from exc
    if value.tzinfo is None:
        value = value.astimezone()  # a naive time is local time
    return value.astimezone(_dt.timezone.utc).isoformat(timespec="microseconds")


@dataclass
class LedgerRow:
    """One request as the gateway saw it. Content (prompt, reply, tool arguments) has no field."""

    client_protocol: str
    status: str
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    created_at: _dt.datetime | str | None = None
    session: str | None = None
    requested_model: str | None = None
    route: str | None = None
    reasons: list[Any] = field(default_factory=list)
    backend: str | None = None
    backend_model: str | None = None
    kind: str | None = None
    http_status: int | None = None
    error: str | None = None
    fallbacks: list[dict[str, Any]] = field(default_factory=list)
    """Each backend skipped before the one that served (or before giving up), and why:
    ``{"backend": name, "reason": ..., ...}``."""
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    reasoning_tokens: int | None = None
    """Part of ``completion_tokens`` (as OpenAI and Anthropic count them), never more."""
    tokens_counted: str | None = None
    ttft_s: float | None = None
    duration_s: float | None = None
    tool_repairs: int = 0
    cost_usd: float | None = None
    """What the request costs at the price of the cloud model the client asked for."""
    saved_usd: float | None = None
    """``cost_usd`` of a request served locally; nothing else saves money (summaries count it only
    for served requests, so a local request that failed mid-stream saves nothing)."""

    def checked(self) -> "LedgerRow":
        """This row if every value is possible; else ``StoreError`` naming the first field that is not."""
        bad = _problem(self)
        if bad:
            raise StoreError(f"Ledger row {self.id}: {bad}; this is a bug in the gateway, please report it.")
        return self


def _problem(row: LedgerRow) -> str | None:
    if not isinstance(row.id, str) or not row.id:
        return "id must be a non-empty string"
    if row.client_protocol not in PROTOCOLS:
        return f"client_protocol {row.client_protocol!r} is not one of {', '.join(PROTOCOLS)}"
    if row.status not in STATUSES:
        return f"status {row.status!r} is not one of {', '.join(STATUSES)}"
    if row.kind is not None and row.kind not in KINDS:
        return f"kind {row.kind!r} is not one of {', '.join(KINDS)}"
    if row.status in SERVED and row.backend is None:
        return f"status {row.status} needs the backend that served it"
    if row.status == "fallback-ok" and not row.fallbacks:
        return "status fallback-ok needs the backends it skipped (fallbacks)"
    if row.http_status is not None and not (isinstance(row.http_status, int) and 100 <= row.http_status <= 599):
        return f"http_status {row.http_status!r} is not an HTTP status"
    if not isinstance(row.fallbacks, list) or not all(isinstance(f, dict) and f.get("backend") for f in row.fallbacks):
        return "fallbacks must be a list of {'backend': name, 'reason': ...} objects"
    if not isinstance(row.reasons, list):
        return "reasons must be a list"
    for name in ("prompt_tokens", "completion_tokens", "reasoning_tokens", "tool_repairs"):
        v = getattr(row, name)
        if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 0):
            return f"{name} {v!r} is not a count"
    if row.tool_repairs is None:
        return "tool_repairs must be a count (0 when none)"
    if row.reasoning_tokens is not None and row.completion_tokens is not None \
            and row.reasoning_tokens > row.completion_tokens:
        return f"reasoning_tokens {row.reasoning_tokens} exceed completion_tokens {row.completion_tokens}"
    counted = (row.prompt_tokens, row.completion_tokens, row.reasoning_tokens)
    if row.tokens_counted is None:
        if any(v is not None for v in counted):
            return "token counts given but tokens_counted does not say who counted them"
    elif row.tokens_counted not in TOKEN_SOURCES:
        return f"tokens_counted {row.tokens_counted!r} is not one of {', '.join(TOKEN_SOURCES)}"
    for name in ("ttft_s", "duration_s", "cost_usd", "saved_usd"):
        v = getattr(row, name)
        if v is not None and (not isinstance(v, (int, float)) or isinstance(v, bool)
                              or not math.isfinite(v) or v < 0):
            return f"{name} {v!r} is not a finite non-negative number"
    if row.ttft_s is not None and row.duration_s is not None and row.ttft_s > row.duration_s:
        return f"ttft_s {row.ttft_s} exceeds duration_s {row.duration_s}"
    if row.saved_usd:
        if row.kind != "local":
            return "saved_usd is only for requests served locally"
        if row.cost_usd is None or row.saved_usd > row.cost_usd * (1 + 1e-9):
            return f"saved_usd {row.saved_usd} exceeds cost_usd {row.cost_usd}"
    return None


_COLUMNS = ("id", "created_at", "session", "client_protocol", "requested_model", "route", "reasons_json",
            "backend", "backend_model", "kind", "status", "http_status", "error", "fallbacks_json",
            "prompt_tokens", "completion_tokens", "reasoning_tokens", "tokens_counted", "ttft_s",
            "duration_s", "tool_repairs", "cost_usd", "saved_usd")
_INSERT = f"INSERT INTO {TABLE} ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"


def _values(row: LedgerRow) -> tuple:
    """The row's values in ``_COLUMNS`` order (built field by field: ``asdict`` deep-copies, which
    cost the gateway's writer thread more than the insert)."""
    try:
        reasons, fallbacks = json.dumps(row.reasons), json.dumps(row.fallbacks)
    except (TypeError, ValueError) as exc:
        raise StoreError(f"Ledger row {row.id}: reasons and fallbacks must be JSON data ({exc}).") from exc
    error = row.error
    if error is not None:
        error = str(error).splitlines()[0][:_ERROR_MAX] if str(error).strip() else None
    special = {"created_at": _utc_iso(row.created_at), "reasons_json": reasons, "fallbacks_json": fallbacks,
               "error": error}
    return tuple(special[c] if c in special else getattr(row, c) for c in _COLUMNS)


def _row_dict(r: sqlite3.Row) -> dict[str, Any]:
    d = dict(r)
    d["reasons"] = json.loads(d.pop("reasons_json"))
    d["fallbacks"] = json.loads(d.pop("fallbacks_json"))
    return d


def parse_since(text: str, now: _dt.datetime | None = None) -> _dt.datetime | None:
    """``today`` (local midnight), ``all`` (None), or a span back from now such as ``7d`` or ``24h``."""
    now = now or _dt.datetime.now().astimezone()
    if now.tzinfo is None:
        now = now.astimezone()
    t = text.strip().lower()
    if t == "all":
        return None
    if t == "today":
        return now.replace(hour=0, minute=0, second=0, microsecond=0)
    m = re.fullmatch(r"(\d+)\s*([dh])", t)
    if not m or int(m.group(1)) == 0:
        raise ConfigError(f"--since {text!r}: use today, all, or a span such as 7d or 24h.")
    n = int(m.group(1))
    return now - (_dt.timedelta(days=n) if m.group(2) == "d" else _dt.timedelta(hours=n))


class Ledger:
    """The ledger in one store. It keeps its own connection, shared by threads under a lock."""

    def __init__(self, store: Store) -> None:
        if store.path is None or str(store.path) == ":memory:":
            raise StoreError("The gateway ledger needs a store on disk; open the store with a file path.")
        self.path = store.path
        try:
            self._conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            self._conn.row_factory = sqlite3.Row
            self._conn.execute(f"SELECT 1 FROM {TABLE} LIMIT 0")
        except sqlite3.Error as exc:
            raise StoreError(f"Cannot open the gateway ledger in {self.path}: {exc}. "
                             "Open the store with Store.open() so that its migrations run.") from exc
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> "Ledger":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _query(self, sql: str, args: tuple = ()) -> list[sqlite3.Row]:
        try:
            with self._lock:
                return self._conn.execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            raise StoreError(f"Cannot read the gateway ledger in {self.path}: {exc}") from exc

    def write(self, row: LedgerRow) -> str:
        """Store one row in one short transaction; returns its id."""
        return self.write_many([row])[0]

    def write_many(self, rows: list[LedgerRow]) -> list[str]:
        """Store several rows in one short transaction (all or none); returns their ids."""
        values = [_values(row.checked()) for row in rows]
        try:
            with self._lock:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    self._conn.executemany(_INSERT, values)
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
                self._conn.execute("COMMIT")
        except sqlite3.Error as exc:
            raise StoreError(f"Cannot write to the gateway ledger in {self.path}: {exc}") from exc
        return [row.id for row in rows]

    def explain(self, request_id: str) -> dict[str, Any]:
        """One request's row (reasons and fallbacks as lists); a unique id prefix of 6+ characters will do."""
        rid = request_id.strip().lower()
        if len(rid) < 6 or not re.fullmatch(r"[0-9a-z_-]+", rid):
            raise StoreError(f"Request id {request_id!r} is too short or malformed: give at least 6 characters "
                             "of an id that `inhouse routes` lists.")
        rows = self._query(f"SELECT * FROM {TABLE} WHERE id = ? OR id LIKE ? ORDER BY id = ? DESC LIMIT 2",
                           (rid, rid + "%", rid))
        if not rows:
            raise StoreError(f"No gateway request with id {request_id}: `inhouse routes --since all` lists recent ids.")
        if len(rows) > 1 and rows[0]["id"] != rid:
            raise StoreError(f"Request id prefix {request_id} matches several requests: give more characters.")
        return _row_dict(rows[0])

    def recent(self, limit: int = 10, since: _dt.datetime | None = None) -> list[dict[str, Any]]:
        """The latest rows, newest first."""
        where, args = _since_clause(since)
        rows = self._query(f"SELECT * FROM {TABLE}{where} ORDER BY created_at DESC, rowid DESC LIMIT ?",
                           (*args, int(limit)))
        return [_row_dict(r) for r in rows]

    def summary(self, since: _dt.datetime | None = None) -> dict[str, Any]:
        """Requests since ``since`` (all when None): outcomes, tokens, kept local, money, per backend."""
        where, args = _since_clause(since)
        served = ", ".join(f"'{s}'" for s in SERVED)
        (t,) = self._query(
            f"""SELECT COUNT(*) AS requests,
                  COUNT(*) FILTER (WHERE status IN ({served})) AS served,
                  COUNT(*) FILTER (WHERE status IN ({served}) AND kind = 'local') AS kept_local,
                  COUNT(*) FILTER (WHERE fallbacks_json != '[]') AS fallbacks,
                  COUNT(*) FILTER (WHERE status = 'error') AS failures,
                  COUNT(*) FILTER (WHERE status = 'rejected') AS rejected,
                  COUNT(*) FILTER (WHERE status = 'client-closed') AS client_closed,
                  TOTAL(tool_repairs) AS tool_repairs,
                  TOTAL(prompt_tokens) AS prompt_tokens, TOTAL(completion_tokens) AS completion_tokens,
                  TOTAL(reasoning_tokens) AS reasoning_tokens,
                  COUNT(*) FILTER (WHERE tokens_counted = '{TOKENS_LOCAL}') AS tokens_counted_locally,
                  COUNT(*) FILTER (WHERE status IN ({served}) AND tokens_counted IS NULL) AS tokens_not_counted,
                  TOTAL(saved_usd) FILTER (WHERE status IN ({served})) AS saved_usd,
                  COUNT(*) FILTER (WHERE status IN ({served}) AND kind = 'local' AND cost_usd IS NULL)
                      AS kept_local_unpriced,
                  TOTAL(cost_usd) FILTER (WHERE status IN ({served}) AND kind = 'cloud') AS cloud_cost_usd
                FROM {TABLE}{where}""", args)
        out: dict[str, Any] = {"since": since.isoformat() if since else None, **dict(t)}
        for k in ("tool_repairs", "prompt_tokens", "completion_tokens", "reasoning_tokens"):
            out[k] = int(out[k])
        out["kept_local_share"] = out["kept_local"] / out["served"] if out["served"] else None
        out["backends"] = self._per_backend(where, args, served)
        return out

    def _per_backend(self, where: str, args: tuple, served: str) -> dict[str, dict[str, Any]]:
        backends: dict[str, dict[str, Any]] = {}
        for r in self._query(
            f"""SELECT backend, MAX(kind) AS kind, COUNT(*) AS requests,
                  COUNT(*) FILTER (WHERE status IN ({served})) AS served,
                  COUNT(*) FILTER (WHERE status = 'error') AS failures,
                  TOTAL(prompt_tokens) AS prompt_tokens, TOTAL(completion_tokens) AS completion_tokens,
                  TOTAL(saved_usd) FILTER (WHERE status IN ({served})) AS saved_usd,
                  TOTAL(tool_repairs) AS tool_repairs
                FROM {TABLE}{where}{' AND' if where else ' WHERE'} backend IS NOT NULL GROUP BY backend""", args):
            d = dict(r)
            name = d.pop("backend")
            for k in ("prompt_tokens", "completion_tokens", "tool_repairs"):
                d[k] = int(d[k])
            backends[name] = {**d, "skipped": 0, "ttft_p50_s": None, "duration_p50_s": None}
        for r in self._query(
            f"""SELECT json_extract(j.value, '$.backend') AS backend, COUNT(*) AS n
                FROM {TABLE}, json_each({TABLE}.fallbacks_json) AS j{where} GROUP BY 1""", args):
            entry = backends.setdefault(r["backend"], {
                "kind": None, "requests": 0, "served": 0, "failures": 0, "prompt_tokens": 0,
                "completion_tokens": 0, "saved_usd": 0.0, "tool_repairs": 0, "ttft_p50_s": None,
                "duration_p50_s": None})
            entry["skipped"] = r["n"]
        times: dict[str, tuple[list[float], list[float]]] = {}
        for r in self._query(
            f"""SELECT backend, ttft_s, duration_s FROM {TABLE}{where}{' AND' if where else ' WHERE'}
                backend IS NOT NULL AND status IN ({served})""", args):
            ttfts, durations = times.setdefault(r["backend"], ([], []))
            if r["ttft_s"] is not None:
                ttfts.append(r["ttft_s"])
            if r["duration_s"] is not None:
                durations.append(r["duration_s"])
        for name, (ttfts, durations) in times.items():
            backends[name]["ttft_p50_s"] = statistics.median(ttfts) if ttfts else None
            backends[name]["duration_p50_s"] = statistics.median(durations) if durations else None
        return backends


def _since_clause(since: _dt.datetime | None) -> tuple[str, tuple]:
    if since is None:
        return "", ()
    return f" WHERE {TABLE}.created_at >= ?", (_utc_iso(since),)
