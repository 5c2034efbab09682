"""ggml's graph allocator (``ggml-alloc.c``), replayed in Python to size a compute buffer.

llama.cpp's compute buffer is the high-water mark of ``ggml_gallocr`` placing every tensor of the
worst-case graph in one buffer: leafs first, then graph inputs, then each node in execution order,
reusing a source's memory in place where the op allows it and freeing a tensor once its last
reader has run. Free space is a sorted list of blocks; a tensor goes into the smallest free block
that holds it, else at the end of the buffer, which grows. The mark depends on that placement
(holes left between live tensors), not only on what is alive at once, so we replay it: the same
rules, the same order, the same 32-byte alignment as ggml's CPU buffer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ALIGN = 32  # ggml's TENSOR_ALIGNMENT, the CPU buffer type's alignment


def _pad(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


@dataclass(eq=False)
class Tensor:
    """One tensor of a graph. ``reuse`` lists the indices of ``srcs`` whose memory the op may
    take over (ggml: an in-place capable op and a source of the same type and layout)."""

    nbytes: int
    srcs: tuple["Tensor", ...] = ()
    reuse: tuple[int, ...] = ()
    view_of: "Tensor | None" = None
    external: bool = False  # weights, KV cache: allocated elsewhere
    is_input: bool = False
    is_output: bool = False
    name: str = field(default="", compare=False)


class _Blocks:
    """``ggml_dyn_tallocr`` for one chunk with no size limit (the CPU buffer's case)."""

    def __init__(self) -> None:
        self.free: list[list[int]] = [[0, 1 << 62]]  # [offset, size], sorted by offset; last is the tail
        self.max_size = 0

    def alloc(self, size: int) -> int:
        size = _pad(size)
        best, best_size = -1, None
        for i in range(len(self.free) - 1):
            if self.free[i][1] >= size and (best_size is None or self.free[i][1] <= best_size):
                best, best_size = i, self.free[i][1]
        if best < 0:
            best = len(self.free) - 1
        block = self.free[best]
        offset = block[0]
        block[0] += size
        block[1] -= size
        if block[1] == 0:
            del self.free[best]
        self.max_size = max(self.max_size, offset + size)
        return offset

    def release(self, offset: int, size: int) -> None:
        size = _pad(size)
        free = self.free
        for i, block in enumerate(free):
            if block[0] + block[1] == offset:
                block[1] += size
                if i + 1 < len(free) and block[0] + block[1] == free[i + 1][0]:
                    block[1] += free[i + 1][1]
                    del free[i + 1]
                return
            if offset + size == block[0]:
                block[0] = offset
                block[1] += size
                if i > 0 and free[i - 1][0] + free[i - 1][1] == block[0]:
                    free[i - 1][1] += block[1]
                    del free[i]
                return
        pos = 0
        while pos < len(free) and free[pos][0] < offset:
            pos += 1
        free.insert(pos, [offset, size])


@dataclass
class _State:
    n_children: int = 0
    n_views: int = 0
    allocated: bool = False
    offset: int = -1


def high_water_mark(nodes: list[Tensor], leafs: list[Tensor] = ()) -> int:
    """Bytes ggml's allocator reserves for the graph ``nodes`` (in execution order), after
    placing ``leafs`` (graph constants and inputs, in the graph's leaf order)."""
    blocks = _Blocks()
    st: dict[int, _State] = {}

    def s(t: Tensor) -> _State:
        return st.setdefault(id(t), _State())

    def is_allocated(t: Tensor) -> bool:
        return t.external or s(t).allocated

    def allocate(t: Tensor) -> None:
        h = s(t)
        if is_allocated(t) or t.view_of is not None:
            return
        h.allocated = True
        for i in t.reuse:
            parent = t.srcs[i]
            # only a tensor this allocator placed itself (never a view, never an external one)
            if not s(parent).allocated or parent.external:
                continue
            if parent.is_output or (parent.view_of is not None and parent.view_of.is_output):
                continue
            ph = s(parent)
            if ph.n_children == 1 and ph.n_views == 0:
                h.offset = ph.offset
                ph.allocated = False
                _free_extra(blocks, h.offset, parent.nbytes, t.nbytes)
                return
        h.offset = blocks.alloc(t.nbytes)

    for leaf in leafs:
        allocate(leaf)
    for node in nodes:
        if node.view_of is not None:
            s(node.view_of).n_views += 1
        if node.is_input:
            allocate(node)
        for src in node.srcs:
            s(src).n_children += 1
            if src.is_input:
                allocate(src)
    for node in nodes:
        for src in node.srcs:
            allocate(src)
        allocate(node)
        for src in node.srcs:
            ph = s(src)
            ph.n_children -= 1
            if ph.n_children or ph.n_views:
                continue
            if src.view_of is not None:
                vh = s(src.view_of)
                vh.n_views -= 1
                if vh.n_views == 0 and vh.n_children == 0 and vh.allocated:
                    _free(blocks, src.view_of, vh)
            elif ph.allocated:
                _free(blocks, src, ph)
    return blocks.max_size


def _free(blocks: _Blocks, t: Tensor, h: _State) -> None:
    if t.is_output:
        return
    blocks.release(h.offset, t.nbytes)
    h.allocated = False


def _free_extra(blocks: _Blocks, offset: int, parent_size: int, node_size: int) -> None:
    parent_size, node_size = _pad(parent_size), _pad(node_size)
    if parent_size > node_size:
        blocks.release(offset + node_size, parent_size - node_size)
