"""Tile-IR building blocks of ``convert-quant-to-tile``: buffers, DMAs and the tokens that order them.

Contract (used by the pass in convert_quant_to_tile.py, its host segments in tile_host_segments.py
and its tiling search in tiling_search.py):

* ``ALIGN`` / ``aligned``: every buffer is sized and placed in multiples of one PWORD (64 bytes);
  ``split_even`` cuts a range into nearly equal consecutive tiles; ``axis_window`` gives the input
  rows (and the padding rows) a range of sliding-window outputs reads, so that ``output_size`` of
  the window equals the number of outputs.
* Value helpers: ``src_name`` / ``describe`` name an op in error messages (its ``onnx_name``);
  ``_shape`` is the logical shape of a tensor value and ``_hwc`` the HWC extents of a (1, C, H, W)
  or (1, C) one (any other raises :class:`CompileError`); these two keep their underscore because
  their public spelling is the name of the local variables at their call sites. ``dense`` makes a
  dense attribute of raw bytes; ``concat_dim`` is the HWC dimension a ``quant.concat`` joins.
* :class:`Store`: where a quant value lives, a box (offset + HWC extents) of a root buffer.
* :class:`Lowering`: the state of one conversion. It appends ``tile.alloc`` / ``tile.constant``
  to ``head`` and scratch buffers, DMAs and compute ops to ``body`` in program order, gives each
  quant value its storage (a concat alias, its graph-output buffer or a new workspace buffer), and
  records the writer token of every box so that a read waits for exactly the writes it overlaps
  (read-after-write only; ``dedup`` keeps the first of repeated tokens).
* :class:`HostSegment` / :class:`TilingPlan`: plain records of a host-op run and of a chosen tiling.

Nothing here walks the quant graph or decides a tiling.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from xdsl.dialects import builtin
from xdsl.dialects.builtin import BytesAttr, DenseIntOrFPElementsAttr, StringAttr, TensorType, i8
from xdsl.ir import Attribute, Operation, SSAValue

from axc.dialects import quant, tile
from axc.dialects.tile import memref
from axc.runtime.errors import CompileError
from axc.runtime.hardware import PWORD_BYTES, pword_padded

if TYPE_CHECKING:
    from axc.lowering.convert_quant_to_tile import ConvertQuantToTilePass

__all__ = [
    "ALIGN",
    "aligned",
    "split_even",
    "axis_window",
    "src_name",
    "describe",
    "dense",
    "concat_dim",
    "Store",
    "HostSegment",
    "TilingPlan",
    "Lowering",
    "dedup",
]

#: byte alignment of every buffer (offsets from tile-plan-memory are multiples of it): one PWORD.
ALIGN = PWORD_BYTES


def aligned(n: int, a: int = ALIGN) -> int:
    return -(-int(n) // a) * a


def split_even(n: int, parts: int) -> list[tuple[int, int]]:
    """``[0, n)`` cut into ``parts`` (<= n) nearly equal consecutive ranges."""
    parts = max(1, min(parts, n))
    return [(n * i // parts, n * (i + 1) // parts) for i in range(parts)]


def axis_window(n: int, o0: int, o1: int, k: int, s: int, d: int, pad_begin: int) -> tuple[int, int, int, int]:
    """Input range and tile pads of outputs ``[o0, o1)`` of a sliding window along one axis.

    Returns ``(r0, r1, pad_b, pad_e)``: the real input rows ``[r0, r1)`` the windows reach and the
    rows they reach before / after the image (so that ``output_size(r1 - r0, k, s, pad_b, pad_e, d)
    == o1 - o0``).
    """
    eff = d * (k - 1) + 1
    start = o0 * s - pad_begin
    end = (o1 - 1) * s - pad_begin + eff
    return max(0, start), min(n, end), max(0, -start), max(0, end - n)


def src_name(op: Operation) -> str:
    a = op.attributes.get("onnx_name")
    return a.data if isinstance(a, StringAttr) else op.name


def describe(op: Operation) -> str:
    return f"'{op.name}' op \"{src_name(op)}\""


def _shape(v: SSAValue) -> tuple[int, ...]:
    t = v.type
    assert isinstance(t, TensorType)
    return tuple(t.get_shape())


def _hwc(v: SSAValue, op: Operation | None = None) -> tuple[int, int, int]:
    """HWC extents of a logical (1, C, H, W) or (1, C) tensor."""
    s = _shape(v)
    if len(s) == 4 and s[0] == 1:
        return s[2], s[3], s[1]
    if len(s) == 2 and s[0] == 1:
        return 1, 1, s[1]
    who = describe(op) if op is not None else "a value"
    raise CompileError(f"convert-quant-to-tile: {who}: tensors must be (1, C, H, W) or (1, C), got {list(s)}")


def dense(data: np.ndarray | BytesAttr, shape: Sequence[int], el: Attribute) -> DenseIntOrFPElementsAttr:
    """A dense attribute from raw bytes (one copy of a numpy array, none of a BytesAttr)."""
    b = data if isinstance(data, BytesAttr) else BytesAttr(np.ascontiguousarray(data).tobytes())
    return DenseIntOrFPElementsAttr(TensorType(el, list(shape)), b)


def concat_dim(o: quant.ConcatOp) -> int:
    """The HWC dimension (0 = H, 1 = W, 2 = C) a concat joins along."""
    rank = len(_shape(o.output))
    axis = o.axis.value.data % rank
    dims = {1: 2, 2: 0, 3: 1} if rank == 4 else {1: 2}
    if axis not in dims:
        raise CompileError(f"convert-quant-to-tile: {describe(o)}: cannot concatenate along axis {axis}")
    return dims[axis]


@dataclass
class Store:
    """Where a quant value lives: a box of a root buffer (``off`` + ``hwc`` extents)."""

    buf: SSAValue
    off: tuple[int, ...]
    hwc: tuple[int, ...]

    def box(self, lo: Sequence[int], hi: Sequence[int]) -> tuple[tuple[int, ...], tuple[int, ...]]:
        return tuple(o + a for o, a in zip(self.off, lo)), tuple(o + b for o, b in zip(self.off, hi))

    @property
    def whole(self) -> bool:
        t = self.buf.type
        assert isinstance(t, builtin.MemRefType)
        return all(o == 0 for o in self.off) and tuple(t.get_shape()[:2]) == tuple(self.hwc[:2])


@dataclass
class HostSegment:
    ops: list[Operation] = field(default_factory=list)
    closed: bool = False
    emitted: bool = False


@dataclass
class TilingPlan:
    h_tiles: list[tuple[int, int]]
    c_tiles: list[tuple[int, int]]
    need: int


@dataclass
class Lowering:
    """The state of one conversion: new ops, buffers, writers of every buffer box."""

    opts: ConvertQuantToTilePass
    head: list[Operation] = field(default_factory=list)
    body: list[Operation] = field(default_factory=list)
    store: dict[SSAValue, Store] = field(default_factory=dict)
    writes: dict[SSAValue, list[tuple[tuple[int, ...], tuple[int, ...], SSAValue]]] = field(default_factory=dict)
    out_assign: dict[SSAValue, tuple[str, SSAValue]] = field(default_factory=dict)
    alias: dict[SSAValue, tuple[SSAValue, tuple[int, int, int]]] = field(default_factory=dict)
    f32_inputs: dict[SSAValue, SSAValue] = field(default_factory=dict)
    f32_store: dict[SSAValue, SSAValue] = field(default_factory=dict)
    seg_of: dict[Operation, HostSegment] = field(default_factory=dict)
    segments: list[HostSegment] = field(default_factory=list)
    used_names: dict[str, int] = field(default_factory=dict)

    # -- buffers ------------------------------------------------------------------------------
    def _unique(self, name: str) -> str:
        n = self.used_names.get(name, 0)
        self.used_names[name] = n + 1
        return name if n == 0 else f"{name}#{n}"

    def pw(self, c: int) -> int:
        return pword_padded(c, self.opts.pword)

    def new_buffer(self, kind: str, name: str, dims: Sequence[int], el: Attribute, space: str, **props) -> SSAValue:
        if kind == "activation":
            name = self._unique(name)
        a = tile.AllocOp(kind, name, memref(dims, el, space), **props)
        (self.body if kind == "scratch" else self.head).append(a)
        return a.result

    def scratch(self, name: str, shape: Sequence[int], el: Attribute = i8) -> SSAValue:
        return self.new_buffer("scratch", name, shape, el, "l1")

    def constant(self, name: str, value: DenseIntOrFPElementsAttr, src: str) -> SSAValue:
        c = tile.ConstantOp(value, self._unique(name), self.opts.constant_pool, src=src)
        self.head.append(c)
        return c.result

    def activation_store(self, v: SSAValue, name: str, op: Operation | None = None) -> Store:
        """The storage of a new int8 value ``v``: its alias, its graph-output buffer or a new
        activation buffer in the workspace pool."""
        if v in self.store:
            return self.store[v]
        hwc = _hwc(v, op)
        if v in self.alias:
            root, off = self.alias[v]
            rs = self.activation_store(root, src_name(root.owner) if isinstance(root.owner, Operation) else name)
            s = Store(rs.buf, tuple(a + b for a, b in zip(rs.off, off)), hwc)
        elif v in self.out_assign:
            oname, shown = self.out_assign[v]
            u = quant.uniform_of(shown)
            buf = self.new_buffer(
                "output", oname, (*hwc[:2], self.pw(hwc[2])), i8, self.opts.io_pool,
                scale=u.s, zero_point=u.zp, shape=_shape(shown),
            )
            s = Store(buf, (0, 0, 0), hwc)
        else:
            buf = self.new_buffer("activation", name, (*hwc[:2], self.pw(hwc[2])), i8, self.opts.workspace_pool)
            s = Store(buf, (0, 0, 0), hwc)
        self.store[v] = s
        return s

    # -- tokens -------------------------------------------------------------------------------
    def record_write(self, buf: SSAValue, lo: Sequence[int], hi: Sequence[int], token: SSAValue) -> None:
        self.writes.setdefault(buf, []).append((tuple(lo), tuple(hi), token))

    def read_deps(self, buf: SSAValue, lo: Sequence[int], hi: Sequence[int]) -> list[SSAValue]:
        out: list[SSAValue] = []
        for wlo, whi, tok in self.writes.get(buf, ()):
            if all(a < d and c < b for a, b, c, d in zip(lo, hi, wlo, whi)):
                out.append(tok)
        return out

    def dma(self, src: SSAValue, dst: SSAValue, src_off: Sequence[int], dst_off: Sequence[int],
            sizes: Sequence[int], deps: Sequence[SSAValue], name: str) -> SSAValue:
        d = tile.DmaOp(src, dst, src_off, dst_off, sizes, dedup(deps), src=name)
        self.body.append(d)
        self.record_write(dst, dst_off, [o + s for o, s in zip(dst_off, sizes)], d.token)
        return d.token

    def load(self, s: Store, rows: tuple[int, int], chans: tuple[int, int], l1: SSAValue, name: str,
             extra: Sequence[SSAValue] = ()) -> SSAValue:
        """DMA rows x all columns x channels of a stored value into an L1 buffer."""
        lo, hi = s.box((rows[0], 0, chans[0]), (rows[1], s.hwc[1], chans[1]))
        deps = self.read_deps(s.buf, lo, hi) + list(extra)
        return self.dma(s.buf, l1, lo, (0, 0, 0), [b - a for a, b in zip(lo, hi)], deps, name)

    def save(self, l1: SSAValue, s: Store, rows: tuple[int, int], chans: tuple[int, int], after: SSAValue,
             name: str) -> SSAValue:
        lo, hi = s.box((rows[0], 0, chans[0]), (rows[1], s.hwc[1], chans[1]))
        return self.dma(l1, s.buf, (0, 0, 0), lo, [b - a for a, b in zip(lo, hi)], [after], name)


def dedup(values: Sequence[SSAValue]) -> list[SSAValue]:
    seen: set[SSAValue] = set()
    out: list[SSAValue] = []
    for v in values:
        if v not in seen:
            seen.add(v)
            out.append(v)
    return out
