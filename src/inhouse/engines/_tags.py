"""Split a streamed reply into answer text, reasoning and tool-call blocks by their tags.

Models write reasoning as ``<think>...</think>`` and (Hermes/Qwen style) tool calls as
``<tool_call>{json}</tool_call>`` inside ordinary text. Tags can arrive cut across stream pieces,
so the splitter holds back only what could still be the start of a tag.
"""

from __future__ import annotations

TAGS = {"think": "reasoning", "tool_call": "tool"}


class TagSplitter:
    """Feed pieces of text; get ``(kind, text)`` pairs where kind is text, reasoning or tool.

    >>> s = TagSplitter(); s.feed("<thi") + s.feed("nk>hm</think>Hi") + s.flush()
    [('reasoning', 'hm'), ('text', 'Hi')]
    """

    def __init__(self, tags: dict[str, str] | None = None, inside: str | None = None) -> None:
        """``inside``: a tag the reply starts within, because the prompt opened it (templates that
        end the generation prompt with ``<think>``)."""
        self.tags = TAGS if tags is None else tags
        self.kind = self.tags[inside] if inside else "text"
        self.tag: str | None = inside
        self.buf = ""
        self.block = ""  # the tool-call block being gathered; emitted whole at its close tag

    def _markers(self) -> dict[str, tuple[str, str | None]]:
        if self.tag is None:
            return {f"<{t}>": (k, t) for t, k in self.tags.items()}
        return {f"</{self.tag}>": ("text", None)}

    def feed(self, piece: str) -> list[tuple[str, str]]:
        self.buf += piece
        out: list[tuple[str, str]] = []
        while True:
            markers = self._markers()
            hits = [(self.buf.find(m), m) for m in markers if m in self.buf]
            if hits:
                pos, marker = min(hits)
                self._emit(out, self.buf[:pos])
                self.buf = self.buf[pos + len(marker) :]
                if self.kind == "tool":
                    out.append(("tool", self.block))
                    self.block = ""
                self.kind, self.tag = markers[marker]
                continue
            # Keep back a tail that could be the beginning of a marker.
            keep = 0
            for m in markers:
                for n in range(min(len(m) - 1, len(self.buf)), 0, -1):
                    if self.buf.endswith(m[:n]):
                        keep = max(keep, n)
                        break
            cut = len(self.buf) - keep
            self._emit(out, self.buf[:cut])
            self.buf = self.buf[cut:]
            return out

    def _emit(self, out: list[tuple[str, str]], text: str) -> None:
        if not text:
            return
        if self.kind == "tool":
            self.block += text
        else:
            out.append((self.kind, text))

    def flush(self) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        self._emit(out, self.buf)
        self.buf = ""
        if self.kind == "tool" and self.block:
            out.append(("tool", self.block))  # unterminated: the scorer decides what it is worth
            self.block = ""
        return out
