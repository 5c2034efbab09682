"""Ledger rows written off the event loop: ``LedgerWriter(ledger).put(row)`` queues a row and
returns at once; one thread writes what has queued up in one transaction, waiting ``linger_s``
after the first row for more to join it (a commit per request would cost the gateway more CPU
than relaying the request; a busy gateway writes one transaction per ``linger_s``). ``close()`` writes
every row still queued before it returns (the gateway calls it on shutdown), so no row is lost.

A batch that cannot be written (a bad row, a locked store) is retried row by row, so one bad row
costs only itself; each row that still fails is counted in ``errors`` (shown on ``/health``).
"""

from __future__ import annotations

import queue
import threading
import time
from typing import Any

_STOP = object()


class LedgerWriter:
    def __init__(self, ledger: Any, *, max_batch: int = 500, convert: Any = None, linger_s: float = 0.05) -> None:
        """``convert``: called on each queued item in the writer thread to make the ledger's row."""
        self.ledger = ledger
        self.linger_s = linger_s
        self.convert = convert
        self.max_batch = max_batch
        self.errors = 0
        self.last_error: str | None = None
        self.written = 0
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._pending = 0
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._thread = threading.Thread(target=self._run, name="inhouse-ledger-writer", daemon=True)
        self._closed = False
        self._thread.start()

    @property
    def pending(self) -> int:
        """Rows queued and not yet written (or given up on)."""
        return self._pending

    def put(self, row: Any) -> None:
        if self._closed:  # after close (a request that outlived shutdown): write it here
            self._write([row])
            return
        with self._lock:
            self._pending += 1
        self._queue.put(row)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every row queued so far is written; False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def close(self, timeout: float | None = 30.0) -> None:
        """Write everything still queued, then stop the thread."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(_STOP)
        self._thread.join(timeout)

    def _run(self) -> None:
        stopping = False
        while True:
            batch: list[Any] = []
            try:
                item = self._queue.get_nowait() if stopping else self._queue.get()
            except queue.Empty:
                return  # stopping and nothing left
            until = time.monotonic() + self.linger_s
            while True:
                if item is _STOP:
                    stopping = True
                else:
                    batch.append(item)
                if len(batch) >= self.max_batch:
                    break
                wait = 0.0 if stopping else until - time.monotonic()
                try:
                    item = self._queue.get(timeout=wait) if wait > 0 else self._queue.get_nowait()
                except queue.Empty:
                    break
            if batch:
                self._write(batch)
                with self._idle:
                    self._pending -= len(batch)
                    self._idle.notify_all()

    def _write(self, items: list[Any]) -> None:
        rows = []
        for item in items:
            try:
                rows.append(self.convert(item) if self.convert is not None else item)
            except Exception as exc:  # noqa: BLE001 - counted, never raised into a request
                self.errors += 1
                self.last_error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if not rows:
            return
        try:
            self.ledger.write_many(rows)
            self.written += len(rows)
            return
        except Exception:  # noqa: BLE001 - retried one by one below
            pass
        for row in rows:
            try:
                self.ledger.write(row)
                self.written += 1
            except Exception as exc:  # noqa: BLE001 - counted, never raised into a request
                self.errors += 1
                self.last_error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
