"""Server-sent events (https://html.spec.whatwg.org/multipage/server-sent-events.html): writing
one event, and parsing a byte stream that arrives in arbitrary pieces.

httpx-sse parses an ``httpx`` response's lines; the gateway also needs to parse bytes it already
holds (and to re-split them), so the line handling is done here, to the spec: ``\\r\\n``, ``\\n``
and ``\\r`` all end a line (also when ``\\r`` and ``\\n`` arrive in separate pieces), ``:``
starts a comment, several ``data:`` lines join with ``\\n``, a leading byte-order mark is ignored.
"""

from __future__ import annotations

import json

from ..errors import ProtocolError

MAX_LINE_BYTES = 64 * 1024 * 1024


def format_sse(event: str | None, data: dict | list | str) -> bytes:
    """One complete event: ``event: NAME`` (when given), one ``data:`` line per line of data, a blank line."""
    if event is not None and ("\n" in event or "\r" in event):
        raise ProtocolError(f"SSE event name {event!r} contains a line break; use a one-line name.")
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    lines = [f"event: {event}"] if event is not None else []
    lines += [f"data: {line}" for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return ("\n".join(lines) + "\n\n").encode("utf-8")


class SSEParser:
    """Incremental parser: ``feed(bytes)`` returns the events completed by those bytes.

    Each event is ``(event, data)``: ``event`` is None when the event had no ``event:`` field (the
    spec's default type "message"), ``data`` the joined data lines. Events without data are not
    dispatched (as the spec says); ``id`` and ``retry`` fields are kept in ``last_id`` / ``retry``.
    """

    def __init__(self, *, max_line_bytes: int = MAX_LINE_BYTES) -> None:
        self.max_line_bytes = max_line_bytes
        self.last_id: str | None = None
        self.retry: int | None = None
        self._buffer = b""
        self._skip_lf = False  # the last piece ended with \r: a \n starting the next one is the same line break
        self._first = True
        self._event: str | None = None
        self._data: list[str] = []

    def feed(self, chunk: bytes) -> list[tuple[str | None, str]]:
        if self._skip_lf and chunk[:1] == b"\n":
            chunk = chunk[1:]
        self._skip_lf = False
        buffer = self._buffer + chunk
        events: list[tuple[str | None, str]] = []
        start = 0
        length = len(buffer)
        while True:
            cr = buffer.find(b"\r", start)
            lf = buffer.find(b"\n", start)
            if cr < 0 and lf < 0:
                break
            if cr < 0 or (0 <= lf < cr):
                end, nxt = lf, lf + 1
            elif cr + 1 < length:
                end, nxt = cr, cr + 2 if buffer[cr + 1:cr + 2] == b"\n" else cr + 1
            else:  # \r at the very end: its \n may be in the next piece
                end, nxt = cr, cr + 1
                self._skip_lf = True
            self._line(buffer[start:end], events)
            start = nxt
        self._buffer = buffer[start:]
        if len(self._buffer) > self.max_line_bytes:
            raise ProtocolError(
                f"an SSE line is longer than {self.max_line_bytes} bytes; the upstream is not sending server-sent events."
            )
        return events

    def _line(self, raw: bytes, events: list[tuple[str | None, str]]) -> None:
        line = raw.decode("utf-8", errors="replace")
        if self._first:
            self._first = False
            line = line.removeprefix("\ufeff")
        if not line:
            if self._data:
                events.append((self._event, "\n".join(self._data)))
            self._event, self._data = None, []
            return
        if line.startswith(":"):
            return
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            if "\0" not in value:
                self.last_id = value
        elif name == "retry":
            if value.isdigit():
                self.retry = int(value)
