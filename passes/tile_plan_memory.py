"""``tile-plan-memory``: byte offsets for every buffer of the tile level.

Guarantees:

* every ``tile.alloc`` / ``tile.constant`` of ``@main`` gets an ``offset`` (bytes from the start of
  its space's budget), a multiple of 64 (the PWORD), with ``offset + size <= budget``
  (``l1-bytes`` / ``l2-bytes`` / ``ddr-bytes``; sizes are rounded up to 64 bytes);
* two buffers share bytes only if their live ranges are disjoint. A buffer is live from the first to
  the last op (in program order) that uses it; constants and graph I/O are live for the whole
  program; the L1 buffers of one tile are thus live only during that tile's ops, and those of one
  op only during that op;
* address reuse is made safe for an executor that only follows tokens: every op that writes a
  buffer placed over the bytes of an earlier (dead) buffer waits for the ops that used that earlier
  buffer (the write-after-read / write-after-write tokens the conversion cannot know);
* with ``buffer-promotion``, activation buffers are placed in L2 while they fit (whatever pool the
  conversion chose) and the rest in DDR; without it every buffer stays in its space;
* a space that cannot hold its buffers after ``max-memplan-attempts`` placement orders raises
  :class:`CompileError` naming the op where the most bytes are live, the bytes needed and the
  bytes available;
* the module gets ``tile.memory_usage = {l1 = .., l2 = .., ddr = ..}``: the peak bytes per space.

Batch-x (``cores`` = x > 1, ``aipu_cores_used``): the x cores run the planned frame at once, one
frame each, sharing the L2 / DDR budget. Constants (``tile.constant``: read-only) are needed once;
every other L2 / DDR buffer (activations, I/O) once per core; L1 is private to each core (one L1
per core) and is planned as for one core. Each of L2 and DDR is laid out as::

    [constants][core 0's buffers][core 1's buffers] ... [core x-1's buffers]
    0          shared            shared + stride

The constants are placed first (``shared`` = their peak), then one core's buffers (offsets of
core 0, from ``shared``; ``stride`` = their peak) within ``(budget - shared) / x``, so that
``shared + x * stride <= budget``; promotion to L2 uses that per-core room. A space that does not
fit raises :class:`CompileError` naming the op, the bytes per core and the x cores. The module gets
``tile.multicore = {cores = x, l2_shared, l2_stride, ddr_shared, ddr_stride}`` (bytes; see
:func:`core_layout`), which ``convert-tile-to-aipu`` turns into x task lists; ``tile.memory_usage``
counts all x cores. ``cores = 1`` (the default) is Batch-1: constants and the other buffers are
placed together as above, and no ``tile.multicore`` is written.

Placement is greedy interval allocation (first-fit or best-fit in address over the buffers whose
live ranges overlap), trying several orders (by start, by size, by lifetime).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects import builtin, func
from xdsl.dialects.builtin import DenseArrayBase, DictionaryAttr, IntegerAttr, MemRefType, StringAttr, i32, i64
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass

from axc.dialects import tile
from axc.dialects.tile import buffer_bytes, i64_attr, memref
from axc.runtime.errors import CompileError
from axc.runtime.hardware import AIPU_V1, PWORD_BYTES
from axc.runtime.multicore import SHARED_SPACES, CoreLayout

__all__ = ["TilePlanMemoryPass", "MEMORY_USAGE_ATTR", "MULTICORE_ATTR", "Buffer", "place", "buffer_writers",
           "core_layout"]

ALIGN = PWORD_BYTES
MEMORY_USAGE_ATTR = "tile.memory_usage"
MULTICORE_ATTR = "tile.multicore"


def core_layout(module: builtin.ModuleOp) -> CoreLayout:
    """The Batch-x layout ``tile-plan-memory{cores=x}`` recorded on ``module`` (one core, nothing
    shared, when the module has no ``tile.multicore``). Raises :class:`CompileError` for a
    malformed attribute."""
    a = module.attributes.get(MULTICORE_ATTR)
    if a is None:
        return CoreLayout(1)
    keys = ("cores", *(f"{s}_{k}" for s in SHARED_SPACES for k in ("shared", "stride")))
    vals: dict[str, int] = {}
    for k in keys:
        v = a.data.get(k) if isinstance(a, DictionaryAttr) else None
        if not isinstance(v, IntegerAttr) or v.value.data < (1 if k == "cores" else 0):
            raise CompileError(f"{MULTICORE_ATTR} must be a dictionary of non-negative integers {list(keys)} "
                               f"(cores >= 1), got {a}")
        vals[k] = int(v.value.data)
    return CoreLayout(vals["cores"], {s: vals[f"{s}_shared"] for s in SHARED_SPACES},
                      {s: vals[f"{s}_stride"] for s in SHARED_SPACES})

#: placement strategies tried in order: (sort key, fit)
_STRATEGIES = (("start", "first"), ("size", "first"), ("size", "best"), ("length", "first"), ("start", "best"),
               ("length", "best"))


@dataclass
class Buffer:
    op: tile.AllocOp | tile.ConstantOp
    size: int
    start: int
    end: int
    space: str
    offset: int = -1

    @property
    def movable(self) -> bool:
        return isinstance(self.op, tile.AllocOp) and self.op.kind.data == "activation"


def _aligned(n: int) -> int:
    return -(-n // ALIGN) * ALIGN


def _order(bufs: Sequence[Buffer], key: str) -> list[Buffer]:
    if key == "start":
        return sorted(bufs, key=lambda b: (b.start, -b.size))
    if key == "size":
        return sorted(bufs, key=lambda b: (-b.size, b.start))
    return sorted(bufs, key=lambda b: (-(b.end - b.start), -b.size, b.start))


class _Arena:
    """Placed buffers of one space, queried by live-range overlap."""

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.offs: list[int] = []
        self.sizes: list[int] = []
        self._np: tuple[np.ndarray, ...] | None = None

    def add(self, b: Buffer) -> None:
        self.starts.append(b.start)
        self.ends.append(b.end)
        self.offs.append(b.offset)
        self.sizes.append(b.size)
        self._np = None

    def fit(self, b: Buffer, mode: str) -> int:
        """Lowest (first-fit) or tightest (best-fit) aligned offset where ``b`` overlaps nothing live."""
        if not self.starts:
            return 0
        if self._np is None:
            self._np = tuple(np.asarray(a, np.int64) for a in (self.starts, self.ends, self.offs, self.sizes))
        s, e, o, z = self._np
        m = (s <= b.end) & (e >= b.start)
        if not m.any():
            return 0
        offs, sizes = o[m], z[m]
        order = np.argsort(offs, kind="stable")
        best, best_gap, cur = -1, None, 0
        for off, size in zip(offs[order].tolist(), sizes[order].tolist()):
            if off - cur >= b.size:
                if mode == "first":
                    return cur
                gap = off - cur
                if best_gap is None or gap < best_gap:
                    best, best_gap = cur, gap
            cur = max(cur, off + size)
        return best if best >= 0 else cur


def place(bufs: Sequence[Buffer], budget: int, attempts: int) -> tuple[bool, int]:
    """Give ``bufs`` offsets within ``budget`` trying up to ``attempts`` strategies; returns
    (fits, peak) of the best attempt (offsets of the last attempt are kept when none fits)."""
    best_peak = None
    for key, mode in _STRATEGIES[: max(1, attempts)]:
        arena = _Arena()
        peak = 0
        for b in _order(bufs, key):
            b.offset = arena.fit(b, mode)
            arena.add(b)
            peak = max(peak, b.offset + b.size)
        if peak <= budget:
            return True, peak
        best_peak = peak if best_peak is None else min(best_peak, peak)
    return False, best_peak or 0


def buffer_writers(op: Operation) -> list[SSAValue]:
    """The buffers an op writes."""
    if isinstance(op, tile.DmaOp):
        return [op.dest]
    if isinstance(op, tile.HostOp):
        return list(op.outputs)
    if isinstance(op, tile.COMPUTE_OPS):
        return [op.output]  # type: ignore[attr-defined]
    return []


def _add_deps(op: Operation, tokens: Sequence[SSAValue]) -> None:
    old = list(op.deps)  # type: ignore[attr-defined]
    new = old + [t for t in dict.fromkeys(tokens) if t not in old]
    if len(new) == len(old):
        return
    n_fixed = len(op.operands) - len(old)
    op.operands = (*op.operands[:n_fixed], *new)
    if isinstance(op, tile.HostOp):
        op.properties["operandSegmentSizes"] = DenseArrayBase.from_list(
            i32, [len(op.inputs), len(op.outputs), len(new)]
        )


def _src(op: Operation) -> str:
    a = op.properties.get("src")
    return a.data if isinstance(a, StringAttr) else op.name


@dataclass(frozen=True)
class TilePlanMemoryPass(ModulePass):
    """Assign byte offsets to every tile buffer (see the module docstring)."""

    name = "tile-plan-memory"

    l1_bytes: int = AIPU_V1.l1_budget
    l2_bytes: int = AIPU_V1.l2_budget
    ddr_bytes: int = AIPU_V1.ddr_budget
    buffer_promotion: bool = True
    max_memplan_attempts: int = 5
    cores: int = 1  # Batch-x: cores running one frame each, sharing the L2 / DDR budget

    def apply(self, ctx: Context, op: builtin.ModuleOp) -> None:
        fn = next((o for o in op.ops if isinstance(o, func.FuncOp) and o.sym_name.data == "main"), None)
        if fn is None:
            raise CompileError("tile-plan-memory: the module has no func.func @main")
        if not 1 <= self.cores <= AIPU_V1.cores:
            raise CompileError(f"tile-plan-memory: cores must be in [1, {AIPU_V1.cores}], got {self.cores}")
        ops = list(fn.body.block.ops)
        index = {o: i for i, o in enumerate(ops)}
        last = len(ops) - 1
        bufs: list[Buffer] = []
        for o in ops:
            if not isinstance(o, tile.AllocOp | tile.ConstantOp):
                continue
            t = o.result.type
            assert isinstance(t, MemRefType)
            users = [index[u.operation] for u in o.result.uses if u.operation in index]
            whole = isinstance(o, tile.ConstantOp) or o.kind.data in ("input", "output")
            start, end = (0, last) if whole or not users else (min(users), max(users))
            bufs.append(Buffer(o, _aligned(buffer_bytes(t)), start, end, o.space))
        budgets = {"l1": self.l1_bytes, "l2": self.l2_bytes, "ddr": self.ddr_bytes}
        by_space: dict[str, list[Buffer]] = {"l1": [], "l2": [], "ddr": []}
        movable: list[Buffer] = []
        for b in bufs:
            if self.buffer_promotion and b.movable:
                movable.append(b)
            else:
                by_space[b.space].append(b)
        layout = None
        if self.cores == 1:
            peaks = self._plan(by_space, movable, budgets, ops)
        else:
            peaks, layout = self._plan_per_core(by_space, movable, budgets, ops)
        # write the plan
        for b in bufs:
            o = b.op
            if b.space != o.space:
                t = o.result.type
                assert isinstance(t, MemRefType)
                new = tile.AllocOp.create(
                    properties=dict(o.properties), attributes=dict(o.attributes),
                    result_types=[memref(t.get_shape(), t.element_type, b.space)],
                )
                fn.body.block.insert_op_before(new, o)
                o.result.replace_all_uses_with(new.result)
                fn.body.block.erase_op(o)
                b.op = new
            b.op.properties["offset"] = i64_attr(b.offset)
            if isinstance(b.op, tile.ConstantOp):  # keep the value printed last
                b.op.properties["value"] = b.op.properties.pop("value")
        self._add_reuse_tokens(by_space, fn)
        op.attributes[MEMORY_USAGE_ATTR] = DictionaryAttr(
            {s: IntegerAttr(int(peaks.get(s, 0)), i64) for s in ("l1", "l2", "ddr")}
        )
        op.attributes.pop(MULTICORE_ATTR, None)
        if layout is not None:
            op.attributes[MULTICORE_ATTR] = DictionaryAttr(
                {"cores": IntegerAttr(self.cores, i64)}
                | {f"{s}_{k}": IntegerAttr(getattr(layout, k)[s], i64) for s in SHARED_SPACES
                   for k in ("shared", "stride")}
            )

    def _plan(self, by_space: dict[str, list[Buffer]], movable: list[Buffer], budgets: dict[str, int],
              ops: list[Operation]) -> dict[str, int]:
        """Batch-1: every buffer of a space placed together; returns the peak bytes per space."""
        peaks = {}
        for space in ("l1", "l2"):
            peaks[space] = self._place_space(space, by_space[space], budgets[space], ops)
        peaks["l2"] = max(peaks["l2"], self._promote(by_space, movable, budgets["l2"]))
        peaks["ddr"] = self._place_space("ddr", by_space["ddr"], budgets["ddr"], ops)
        return peaks

    def _plan_per_core(self, by_space: dict[str, list[Buffer]], movable: list[Buffer], budgets: dict[str, int],
                       ops: list[Operation]) -> tuple[dict[str, int], CoreLayout]:
        """Batch-x: per shared space, [constants][core 0] ... [core x-1] (see the module docstring);
        returns the peak bytes per space (all cores) and the layout."""
        x = self.cores
        peaks = {"l1": self._place_space("l1", by_space["l1"], budgets["l1"], ops)}
        consts = {s: [b for b in by_space[s] if isinstance(b.op, tile.ConstantOp)] for s in SHARED_SPACES}
        own = {s: [b for b in by_space[s] if not isinstance(b.op, tile.ConstantOp)] for s in SHARED_SPACES}
        shared = {s: self._place_space(s, consts[s], budgets[s], ops, what=f"constants (shared by the {x} cores)")
                  for s in SHARED_SPACES}
        room = {s: max(0, (budgets[s] - shared[s]) // x // ALIGN * ALIGN) for s in SHARED_SPACES}
        stride = {"l2": self._place_space("l2", own["l2"], room["l2"], ops, shared=shared["l2"], total=budgets["l2"])}
        stride["l2"] = max(stride["l2"], self._promote(own, movable, room["l2"]))
        stride["ddr"] = self._place_space("ddr", own["ddr"], room["ddr"], ops, shared=shared["ddr"],
                                          total=budgets["ddr"])
        for s in SHARED_SPACES:
            for b in own[s]:
                b.offset += shared[s]
            by_space[s] = consts[s] + own[s]
            peaks[s] = shared[s] + x * stride[s]
        return peaks, CoreLayout(x, shared, stride)

    @staticmethod
    def _promote(by_space: dict[str, list[Buffer]], movable: list[Buffer], l2_room: int) -> int:
        """Promotion: activations go to L2 while they end within ``l2_room``, around the buffers
        already there (the rest to DDR); returns the peak of the L2 buffers placed here."""
        peak = 0
        if not movable:
            return peak
        arena = _Arena()
        for b in by_space["l2"]:
            arena.add(b)
        for b in _order(movable, "start"):
            b.offset = arena.fit(b, "first")
            if b.offset + b.size <= l2_room:
                b.space = "l2"
                arena.add(b)
                by_space["l2"].append(b)
                peak = max(peak, b.offset + b.size)
            else:
                b.space = "ddr"
                by_space["ddr"].append(b)
        return peak

    def _place_space(self, space: str, bufs: list[Buffer], budget: int, ops: list[Operation], what: str = "",
                     shared: int | None = None, total: int = 0) -> int:
        """Place ``bufs`` within ``budget`` bytes; returns their peak. With ``shared`` (Batch-x), the
        buffers are one core's, ``budget`` its room and ``total`` the space's budget (for errors)."""
        if not bufs:
            return 0
        fits, peak = place(bufs, budget, self.max_memplan_attempts)
        if fits:
            return peak
        # name the op where the most bytes are live
        live = np.zeros(len(ops) + 1, np.int64)
        for b in bufs:
            live[b.start] += b.size
            live[b.end + 1] -= b.size
        live = np.cumsum(live)
        at = int(np.argmax(live[: len(ops)]))
        need = int(live[at])
        o = ops[at]
        what = what or f"{space} buffers"
        if shared is not None:  # one core's buffers of a Batch-x plan
            x = self.cores
            if need > budget:
                raise CompileError(
                    f"tile-plan-memory: the model does not fit in {space} for {x} cores: at '{o.name}' op "
                    f"\"{_src(o)}\" {need} bytes of {what} are live per core, {shared} bytes of shared constants + "
                    f"{x} x {need} = {shared + x * need} bytes needed, {total} bytes available ({space}-bytes)"
                )
            raise CompileError(
                f"tile-plan-memory: the {what} of {x} cores do not fit after {max(1, self.max_memplan_attempts)} "
                f"placement attempts: the best plan needs {shared} bytes of shared constants + {x} x {peak} = "
                f"{shared + x * peak} bytes (at most {need} bytes per core are live, at '{o.name}' op "
                f"\"{_src(o)}\"), {total} bytes available ({space}-bytes)"
            )
        if need > budget:
            raise CompileError(
                f"tile-plan-memory: the model does not fit in {space}: at '{o.name}' op \"{_src(o)}\" "
                f"{need} bytes of {what} are live, {budget} bytes available ({space}-bytes)"
            )
        raise CompileError(
            f"tile-plan-memory: the {what} do not fit after {max(1, self.max_memplan_attempts)} "
            f"placement attempts: the best plan needs {peak} bytes (at most {need} bytes are live, at "
            f"'{o.name}' op \"{_src(o)}\"), {budget} bytes available ({space}-bytes)"
        )

    def _add_reuse_tokens(self, by_space: dict[str, list[Buffer]], fn: func.FuncOp) -> None:
        """Writers of a buffer wait for the users of the dead buffers whose bytes it reuses."""
        for bufs in by_space.values():
            if len(bufs) < 2:
                continue
            ordered = sorted(bufs, key=lambda b: b.start)
            ends = np.asarray([b.end for b in ordered], np.int64)
            offs = np.asarray([b.offset for b in ordered], np.int64)
            tops = offs + np.asarray([b.size for b in ordered], np.int64)
            for i, b in enumerate(ordered):
                cand = np.nonzero((ends < b.start) & (offs < b.offset + b.size) & (tops > b.offset))[0]
                if cand.size == 0:
                    continue
                # latest-ending first; skip buffers whose overlap is covered by later ones
                cand = cand[np.argsort(-ends[cand], kind="stable")]
                covered: list[tuple[int, int]] = []
                tokens: list[SSAValue] = []
                for j in cand.tolist():
                    lo = max(int(offs[j]), b.offset)
                    hi = min(int(tops[j]), b.offset + b.size)
                    if _covered(covered, lo, hi):
                        continue
                    covered.append((lo, hi))
                    a = ordered[j]
                    for u in a.op.result.uses:
                        user = u.operation
                        if user.results and isinstance(user.results[-1].type, tile.TokenType):
                            tokens.append(user.results[-1])
                if not tokens:
                    continue
                writers = [u.operation for u in b.op.result.uses if b.op.result in buffer_writers(u.operation)]
                for w in writers:
                    _add_deps(w, tokens)


def _covered(ranges: list[tuple[int, int]], lo: int, hi: int) -> bool:
    """Whether [lo, hi) lies inside the union of ``ranges``."""
    cur = lo
    for a, b in sorted(ranges):
        if a > cur:
            return False
        cur = max(cur, b)
        if cur >= hi:
            return True
    return cur >= hi
