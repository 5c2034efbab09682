"""INTERIM stand-in until gw-translate lands: SSE formatting and parsing."""
from __future__ import annotations

import json


def format_sse(event, data) -> bytes:
    text = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    head = f"event: {event}\n" if event else ""
    return (head + "".join(f"data: {line}\n" for line in text.split("\n")) + "\n").encode()


class SSEParser:
    def __init__(self) -> None:
        self.buf = b""
        self.event = None
        self.data: list[str] = []

    def feed(self, chunk: bytes):
        self.buf += chunk
        out = []
        while True:
            i = self.buf.find(b"\n")
            if i < 0:
                break
            line = self.buf[:i].rstrip(b"\r").decode("utf-8", "replace")
            self.buf = self.buf[i + 1:]
            if not line:
                if self.data:
                    out.append((self.event, "\n".join(self.data)))
                self.event, self.data = None, []
            elif line.startswith(":"):
                continue
            else:
                field, _, value = line.partition(":")
                value = value[1:] if value.startswith(" ") else value
                if field == "event":
                    self.event = value
                elif field == "data":
                    self.data.append(value)
        return out
