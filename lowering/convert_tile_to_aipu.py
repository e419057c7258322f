"""``convert-tile-to-aipu``: the planned tile schedule becomes an ``aipu.program`` with concrete addresses.

Guarantees:

* ``func.func @main`` (planned by ``tile-plan-memory``: every ``tile.alloc`` / ``tile.constant`` has
  an ``offset``) is replaced by one ``aipu.program`` with one ``aipu.task_list`` per core
  (``instances``, default 1: Batch-1 copies of the whole program the runtime may run side by side,
  recorded in the header for the cycle model).
* Batch-x (``cores`` = x > 1, planned by ``tile-plan-memory{cores=x}``: the module's
  ``tile.multicore`` layout, which ``cores`` must match): x task lists and ``batch = x``. Core k's
  list is core 0's with every L2 / DDR address of a per-core buffer (at or above the shared
  constants) moved by ``k * stride`` of its space (:class:`axc.runtime.multicore.CoreLayout`),
  token ids moved by ``k * T`` (T = the tokens of one core: no token is shared between cores, the
  cores share only read-only constants), and a copy of every host segment; frame k's I/O are core
  k's buffers (``aipu.io ... frame = k``). L1 addresses stay (each core has its own L1).
* Buffers resolve to (space, address = offset); ``tile.constant`` becomes ``aipu.data``; the
  ``input`` / ``output`` buffers become ``aipu.io`` in the order of ``axc.input_names`` /
  ``axc.output_names``, with their logical shape and quantization.
* ``tile.dma`` becomes ``aipu.dma``: the box (offsets, sizes in elements of a row-major memref)
  becomes a base address plus byte strides, with unit and contiguous dimensions merged (at most 4).
  With ``dual-channel`` DMAs into L1 of weights / tables use channel 1, other loads channel 0 and
  stores from L1 channel 1; otherwise every DMA uses channel 0.
* ``tile.conv2d`` becomes ``aipu.mvm`` (``aipu.dwpu op=dwconv`` when depthwise, group == C > 1),
  ``tile.max_pool`` / ``tile.avg_pool`` become ``aipu.dwpu``, ``tile.add`` / ``tile.requantize`` /
  ``tile.clamp`` / ``tile.lut`` / ``tile.mul`` become ``aipu.dpu`` (``op=mul``: b may be a 1 x 1 channel vector) (``op=lut``: the table's L1 address in ``table``); every instruction keeps ``src``.
* ``tile.host`` becomes ``aipu.host segment=N`` (N counts from 0 in program order) whose region
  holds the same onnx ops (:func:`axc.lowering.aipu_asm.host_segment_model` makes the ONNX model
  of the package from it).
* Synchronisation: an instruction depends on the producers of the tokens it waited for at the tile
  level **and** on every earlier instruction whose memory ranges conflict with its own (read after
  write, write after read, write after write, from the planned addresses), so the program is
  race-free even if the tile level left an ordering implicit. Dependences on an instruction of the
  same unit need no wait (each unit runs its queue in order); the others are satisfied by an
  ``aipu.wait`` right before the first instruction that needs them (tokens are numbered from 0
  in issue order; an instruction signals only if someone waits for it). The task list ends with a
  wait for the last instruction of every unit, so the frame is complete when the list is done.
* With ``schedule`` (default) the issue order is a list schedule over this dependence graph driven
  by the cycle model (runtime/cycle_model.py): the next instruction in tile order is issued unless
  it would stall the sequencer, in which case the first instruction within ``window`` that is ready
  without stalling goes first (a DMA prefetch overlapping compute). Without it, tile order is kept.
* Ends by checking that no ``tile`` op is left (``PassFailedException`` naming it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from xdsl.context import Context
from xdsl.dialects import builtin, func
from xdsl.dialects.builtin import ArrayAttr, MemRefType, StringAttr
from xdsl.ir import Block, Operation, Region, SSAValue
from xdsl.passes import ModulePass
from xdsl.utils.exceptions import PassFailedException

from axc.dialects import aipu, tile
from axc.passes.tile_plan_memory import core_layout
from axc.runtime.cycle_model import instruction_cycles
from axc.runtime.errors import CompileError
from axc.runtime.hardware import AIPU_V1
from axc.runtime.isa import (
    HostBuffer,
    Instr,
    Mem,
    RangeTracker,
    accesses,
    default_memory,
    dma_engine,
    is_logical,
    make_instr,
)
from axc.runtime.multicore import SHARED_SPACES, CoreLayout

__all__ = ["ConvertTileToAipuPass"]


def _fail(msg: str) -> PassFailedException:
    return PassFailedException(f"convert-tile-to-aipu: {msg}")


def _describe(op: Operation) -> str:
    src = op.properties.get("src") or op.attributes.get("src")
    return f"'{op.name}' op" + (f" \"{src.data}\"" if isinstance(src, StringAttr) else "")


@dataclass
class _Buf:
    """A planned buffer: where it is and its row-major layout."""

    space: str
    address: int
    shape: tuple[int, ...]
    elem: int  # bytes per element
    dtype: str  # i8 | i32 | f32

    @property
    def strides(self) -> tuple[int, ...]:
        s, out = self.elem, []
        for d in reversed(self.shape):
            out.append(s)
            s *= d
        return tuple(reversed(out))

    @property
    def mem(self) -> Mem:
        return Mem(self.space, self.address)


def _dma_box(src: _Buf, dst: _Buf, so: tuple[int, ...], do: tuple[int, ...], sizes: tuple[int, ...]):
    """(from, to, sizes, from_strides, to_strides) of a box copy in bytes, dims merged."""
    ss, ds = src.strides, dst.strides
    a = src.address + sum(o * s for o, s in zip(so, ss, strict=True))
    b = dst.address + sum(o * s for o, s in zip(do, ds, strict=True))
    # dims as (size, src stride, dst stride), innermost last; the innermost becomes a byte run
    dims = [(n, x, y) for n, x, y in zip(sizes, ss, ds, strict=True)]
    n, x, y = dims[-1]
    assert x == y == src.elem
    dims[-1] = (n * src.elem, 1, 1)
    dims = [d for d in dims[:-1] if d[0] != 1] + [dims[-1]]
    merged = [dims[-1]]
    for n, x, y in reversed(dims[:-1]):
        n1, x1, y1 = merged[0]
        if x == n1 * x1 and y == n1 * y1:  # the outer dim continues the inner one in both buffers
            merged[0] = (n * n1, x1, y1)
        else:
            merged.insert(0, (n, x, y))
    # the innermost is a contiguous run: strides 1; outer strides as computed
    sizes_b = tuple(d[0] for d in merged)
    return Mem(src.space, a), Mem(dst.space, b), sizes_b, tuple(d[1] for d in merged[:-1]), \
        tuple(d[2] for d in merged[:-1])


@dataclass
class _Item:
    """One instruction being scheduled."""

    instr: Instr
    unit: str
    deps: set[int]
    host: Operation | None = None  # the tile.host whose region moves into the aipu.host
    token: int | None = None


def _unit(ins: Instr) -> str:
    if ins.op == "dma":
        return f"dma.{dma_engine(ins)}.ch{ins['channel']}"
    return ins.op


@dataclass(frozen=True)
class ConvertTileToAipuPass(ModulePass):
    """Lower the planned tile schedule to an ``aipu.program`` (see the module docstring)."""

    name = "convert-tile-to-aipu"

    cores: int = 1  # Batch-x: cores running one frame each (aipu_cores_used; must match the plan)
    instances: int = 1  # Batch-1 copies of the program recorded in the header
    frequency: int = AIPU_V1.frequency_hz
    dual_channel: bool = True
    schedule: bool = True
    window: int = 64
    l1_bytes: int = 0  # memory sizes recorded in the program (0: the AIPU v1 budgets)
    l2_bytes: int = 0
    ddr_bytes: int = 0

    def apply(self, ctx: Context, op: builtin.ModuleOp) -> None:
        fn = next((o for o in op.ops if isinstance(o, func.FuncOp) and o.sym_name.data == "main"), None)
        if fn is None:
            raise _fail("the module has no func.func @main")
        if not 1 <= self.cores <= AIPU_V1.cores:
            raise _fail(f"cores must be in [1, {AIPU_V1.cores}], got {self.cores}")
        if not 1 <= self.instances <= AIPU_V1.cores // self.cores:
            raise _fail(f"instances must be in [1, {AIPU_V1.cores // self.cores}] ({AIPU_V1.cores} cores / "
                        f"cores={self.cores}), got {self.instances}")
        if not 20_000_000 <= self.frequency <= AIPU_V1.frequency_hz:
            raise _fail(f"frequency must be in [20000000, {AIPU_V1.frequency_hz}] Hz, got {self.frequency}")
        try:
            layout = core_layout(op)
        except CompileError as e:
            raise _fail(str(e)) from None
        if layout.cores != self.cores:
            raise _fail(f"cores={self.cores} but the memory plan is for {layout.cores} core(s): run "
                        f"tile-plan-memory{{cores={self.cores}}} first")
        prog = _Converter(self, fn, layout).run()
        op.body.block.insert_op_before(prog, fn)
        fn.detach()
        fn.erase(safe_erase=False)
        for o in op.walk():
            if o.dialect_name() == "tile":
                raise _fail(f"{_describe(o)} was not converted")


class _Converter:
    def __init__(self, opts: ConvertTileToAipuPass, fn: func.FuncOp, layout: CoreLayout):
        self.opts = opts
        self.fn = fn
        self.layout = layout
        d = default_memory()
        self.memory = {"l1": opts.l1_bytes or d["l1"], "l2": opts.l2_bytes or d["l2"], "ddr": opts.ddr_bytes or d["ddr"]}
        self.bufs: dict[SSAValue, _Buf] = {}
        self.producer: dict[SSAValue, int] = {}  # token -> item index
        self.items: list[_Item] = []
        self.hazards = RangeTracker()
        self.data_ops: list[Operation] = []
        self.io: list[tuple[str, str, aipu.IoOp]] = []  # (kind, name, op)
        self.segments = 0
        self.constant_bufs: set[SSAValue] = set()

    # -- buffers ----------------------------------------------------------------------------------
    def _buf(self, op: tile.AllocOp | tile.ConstantOp) -> _Buf:
        t = op.result.type
        assert isinstance(t, MemRefType)
        if op.offset is None:
            raise _fail(f"{_describe(op)} \"{op.buffer_name.data}\" has no offset: run tile-plan-memory first")
        et = str(t.element_type)
        if et not in ("i8", "i32") and not is_logical(et):
            raise _fail(f"{_describe(op)}: unsupported element type {et}")
        b = _Buf(tile.space_of(t), op.offset.value.data, tuple(t.get_shape()), tile.element_bytes(t), et)
        self._check_region(op, b)
        return b

    def _check_region(self, op: tile.AllocOp | tile.ConstantOp, b: _Buf) -> None:
        """Batch-x: a constant lies in the shared prefix of its space, any other L2 / DDR buffer in
        core 0's region (so relocating by address moves exactly the per-core buffers)."""
        lay = self.layout
        if lay.cores == 1 or b.space not in SHARED_SPACES:
            return
        lo, hi = b.address, b.address + tile.buffer_bytes(op.result.type)  # type: ignore[arg-type]
        shared, stride = lay.shared[b.space], lay.stride[b.space]
        if isinstance(op, tile.ConstantOp):
            if hi > shared:
                raise _fail(f"{_describe(op)} \"{op.buffer_name.data}\" at {b.space}[{lo}, {hi}) must lie in the "
                            f"shared constants [0, {shared}) of the {lay.cores}-core plan")
        elif lo < shared or hi > shared + stride:
            raise _fail(f"{_describe(op)} \"{op.buffer_name.data}\" at {b.space}[{lo}, {hi}) must lie in core 0's "
                        f"region [{shared}, {shared + stride}) of the {lay.cores}-core plan")

    def _get(self, v: SSAValue, user: Operation) -> _Buf:
        b = self.bufs.get(v)
        if b is None:
            raise _fail(f"{_describe(user)}: operand is not a tile.alloc / tile.constant buffer")
        return b

    def _l1(self, v: SSAValue, user: Operation) -> _Buf:
        b = self._get(v, user)
        if b.space != "l1":
            raise _fail(f"{_describe(user)}: compute operands must be in l1, got {b.space}")
        return b

    # -- walk --------------------------------------------------------------------------------------
    def run(self) -> aipu.ProgramOp:
        for o in list(self.fn.body.block.ops):
            if isinstance(o, tile.AllocOp):
                self._alloc(o)
            elif isinstance(o, tile.ConstantOp):
                b = self._buf(o)
                self.bufs[o.result] = b
                self.constant_bufs.add(o.result)
                self.data_ops.append(aipu.DataOp.from_values(
                    {"name": o.buffer_name.data, "at": b.mem, "value": o.value}))
            elif isinstance(o, tile.DmaOp):
                self._dma(o)
            elif isinstance(o, tile.Conv2dOp):
                self._conv(o)
            elif isinstance(o, tile.MaxPoolOp | tile.AvgPoolOp):
                self._pool(o)
            elif isinstance(o, tile.AddOp | tile.MulOp | tile.RequantizeOp | tile.ClampOp | tile.LutOp):
                self._dpu(o)
            elif isinstance(o, tile.HostOp):
                self._host(o)
            elif isinstance(o, func.ReturnOp):
                pass
            else:
                raise _fail(f"'{o.name}' is not a tile op this conversion knows")
        order = self._schedule() if self.opts.schedule else list(range(len(self.items)))
        return self._emit(order)

    def _alloc(self, o: tile.AllocOp) -> None:
        b = self._buf(o)
        self.bufs[o.result] = b
        kind = o.kind.data
        if kind not in ("input", "output"):
            return
        shape = o.prop_ints("shape")
        if is_logical(b.dtype):
            scale, zp = 1.0, 0
        elif b.dtype == "i8":
            if o.scale is None or o.zero_point is None:
                raise _fail(f"{_describe(o)}: int8 {kind} \"{o.buffer_name.data}\" needs scale and zero_point")
            scale, zp = float(o.scale.value.data), int(o.zero_point.value.data)
        else:
            raise _fail(f"{_describe(o)}: {kind} buffers must be i8 or hold their tensor (f32, i64, ...), got {b.dtype}")
        io = aipu.IoOp.from_values({"kind": kind, "name": o.buffer_name.data, "at": b.mem, "dtype": b.dtype,
                                    "shape": shape, "stored": b.shape, "scale": scale, "zp": zp})
        self.io.append((kind, o.buffer_name.data, io))

    def _add(self, op: Operation, ins: Instr, host: Operation | None = None) -> None:
        idx = len(self.items)
        deps: set[int] = set()
        for t in getattr(op, "deps", ()):
            p = self.producer.get(t)
            if p is None:
                raise _fail(f"{_describe(op)} waits for a token no converted op produced")
            deps.add(p)
        reads, writes = [], []
        for a in accesses(ins):
            (writes if a.write else reads).append((a.at.space, a.at.address, a.at.address + a.size))
        deps |= self.hazards.depend(idx, reads, writes)
        self.items.append(_Item(ins, _unit(ins), deps, host))
        for r in op.results:
            self.producer[r] = idx

    def _src(self, op: Operation) -> str | None:
        a = op.properties.get("src")
        return a.data if isinstance(a, StringAttr) else None

    def _dma(self, o: tile.DmaOp) -> None:
        src, dst = self._get(o.source, o), self._get(o.dest, o)
        frm, to, sizes, fs, ts = _dma_box(src, dst, o.prop_ints("src_offsets"), o.prop_ints("dst_offsets"),
                                          o.prop_ints("sizes"))
        if len(sizes) > 4:
            raise _fail(f"{_describe(o)}: the box needs {len(sizes)} dimensions after merging, the DMA has 4")
        channel = 0
        if self.opts.dual_channel:
            if src.space == "l1" or o.source in self.constant_bufs:
                channel = 1
        ins = make_instr("dma", 0, from_=frm, to=to, sizes=sizes, from_strides=fs, to_strides=ts,
                         channel=channel or None, src=self._src(o))
        self._add(o, ins)

    def _conv(self, o: tile.Conv2dOp) -> None:
        x, w, t, y = (self._l1(v, o) for v in (o.input, o.weight, o.table, o.output))
        c, oc = o.prop_ints("channels")
        group = o.prop_int("group", 1)
        common = dict(in_=x.mem, in_shape=x.shape, out=y.mem, out_shape=y.shape, strides=o.prop_ints("strides"),
                      dilations=o.prop_ints("dilations"), pads=o.prop_ints("pads"), in_zp=o.prop_int("in_zp"),
                      out_zp=o.prop_int("out_zp"), clamp=o.prop_ints("clamp"), src=self._src(o))
        if group > 1 and group == c and w.shape[1] == 1:
            ins = make_instr("dwpu", 0, op="dwconv", channels=(c, oc), kernel=w.shape[2:], w=w.mem, w_shape=w.shape,
                             table=t.mem, **common)
        else:
            ins = make_instr("mvm", 0, w=w.mem, w_shape=w.shape, table=t.mem, channels=(c, oc), group=group, **common)
        self._add(o, ins)

    def _pool(self, o: tile.MaxPoolOp | tile.AvgPoolOp) -> None:
        x, y = self._l1(o.input, o), self._l1(o.output, o)
        (c,) = o.prop_ints("channels")
        args: dict[str, Any] = dict(in_=x.mem, in_shape=x.shape, out=y.mem, out_shape=y.shape, channels=(c, c),
                                    kernel=o.prop_ints("kernel"), strides=o.prop_ints("strides", (1, 1)),
                                    pads=o.prop_ints("pads", (0, 0, 0, 0)),
                                    dilations=o.prop_ints("dilations", (1, 1)),
                                    ceil_mode=o.prop_int("ceil_mode") or None, src=self._src(o))
        if isinstance(o, tile.MaxPoolOp):
            ins = make_instr("dwpu", 0, op="maxpool", **args)
        else:
            ins = make_instr("dwpu", 0, op="avgpool", count_include_pad=o.prop_int("count_include_pad") or None,
                             in_zp=o.prop_int("in_zp"), out_zp=o.prop_int("out_zp"), clamp=o.prop_ints("clamp"),
                             multipliers=o.prop_ints("multipliers"), shift=o.prop_int("shift"), **args)
        self._add(o, ins)

    def _dpu(self, o: tile.AddOp | tile.MulOp | tile.RequantizeOp | tile.ClampOp | tile.LutOp) -> None:
        y = self._l1(o.output, o)
        (c,) = o.prop_ints("channels")
        if isinstance(o, tile.LutOp):
            x, t = self._l1(o.input, o), self._l1(o.table, o)
            self._add(o, make_instr("dpu", 0, op="lut", in_=x.mem, in_shape=x.shape, table=t.mem, out=y.mem,
                                    out_shape=y.shape, channels=c, src=self._src(o)))
            return
        common = dict(out=y.mem, out_shape=y.shape, channels=c, clamp=o.prop_ints("clamp"), src=self._src(o))
        if isinstance(o, tile.AddOp):
            a, b = self._l1(o.lhs, o), self._l1(o.rhs, o)
            ins = make_instr("dpu", 0, op="add", a=a.mem, a_shape=a.shape, b=b.mem, b_shape=b.shape,
                             a_zp=o.prop_int("a_zp"), a_mult=o.prop_int("a_mult"), b_zp=o.prop_int("b_zp"),
                             b_mult=o.prop_int("b_mult"), shift=o.prop_int("shift"), out_zp=o.prop_int("out_zp"),
                             **common)
        elif isinstance(o, tile.MulOp):
            a, b = self._l1(o.lhs, o), self._l1(o.rhs, o)
            ins = make_instr("dpu", 0, op="mul", a=a.mem, a_shape=a.shape, b=b.mem, b_shape=b.shape,
                             a_zp=o.prop_int("a_zp"), b_zp=o.prop_int("b_zp"), mult=o.prop_int("mult"),
                             shift=o.prop_int("shift"), out_zp=o.prop_int("out_zp"), **common)
        else:
            x = self._l1(o.input, o)
            if isinstance(o, tile.RequantizeOp):
                ins = make_instr("dpu", 0, op="requantize", in_=x.mem, in_shape=x.shape, in_zp=o.prop_int("in_zp"),
                                 mult=o.prop_int("mult"), shift=o.prop_int("shift"), out_zp=o.prop_int("out_zp"),
                                 **common)
            else:
                ins = make_instr("dpu", 0, op="clamp", in_=x.mem, in_shape=x.shape, **common)
        self._add(o, ins)

    def _host(self, o: tile.HostOp) -> None:
        params = o.buffer_params()
        bufs = []
        for v, (scale, zp, shape) in zip(o.buffers(), params, strict=True):
            b = self._get(v, o)
            if is_logical(b.dtype):
                bufs.append(HostBuffer(b.mem, tuple(shape), b.shape, 1.0, 0, b.dtype))
            else:
                bufs.append(HostBuffer(b.mem, tuple(shape), b.shape, float(scale), int(zp), "i8"))
        n = len(o.inputs)
        ins = make_instr("host", 0, segment=self.segments, inputs=tuple(bufs[:n]), outputs=tuple(bufs[n:]),
                         src=self._src(o))
        self.segments += 1
        self._add(o, ins, host=o)

    # -- scheduling ---------------------------------------------------------------------------------
    def _schedule(self) -> list[int]:
        """A list schedule: tile order unless the next instruction would stall the sequencer."""
        hw = AIPU_V1
        issue = hw.instruction_issue_cycles
        items = self.items
        remaining = list(range(len(items)))
        issued: set[int] = set()
        done_at: dict[int, int] = {}
        unit_free: dict[str, int] = {}
        waited: set[int] = set()
        t = 0
        order: list[int] = []
        while remaining:
            def stall(i: int) -> int:
                need = [d for d in items[i].deps if d not in waited and items[d].unit != items[i].unit]
                return max((done_at[d] for d in need), default=0) - t

            pick = None
            head = remaining[0]
            if stall(head) <= 0:
                pick = 0
            else:
                for k, i in enumerate(remaining[1: 1 + self.opts.window], start=1):
                    if all(d in issued for d in items[i].deps) and stall(i) <= 0:
                        pick = k
                        break
            if pick is None:
                pick = 0
            i = remaining.pop(pick)
            it = items[i]
            need = [d for d in it.deps if d not in waited and items[d].unit != it.unit]
            if need:
                t = max(t, max(done_at[d] for d in need)) + issue
                waited.update(need)
            t += issue
            start = max(t, unit_free.get(it.unit, 0))
            end = start + instruction_cycles(it.instr, hw)
            if it.unit != "host":
                unit_free[it.unit] = end
            done_at[i] = end
            issued.add(i)
            order.append(i)
        return order

    # -- emission ------------------------------------------------------------------------------------
    def _emit(self, order: list[int]) -> aipu.ProgramOp:
        items = self.items
        waited: set[int] = set()
        waits_before: dict[int, list[int]] = {}
        for i in order:
            it = items[i]
            need = sorted(d for d in it.deps if d not in waited and items[d].unit != it.unit)
            if need:
                waits_before[i] = need
                waited.update(need)
        last_of_unit: dict[str, int] = {}
        for i in order:
            last_of_unit[items[i].unit] = i
        final = sorted(i for i in last_of_unit.values() if i not in waited and items[i].unit != "host")
        # tokens: numbered in issue order, only for instructions someone waits for
        wanted = {d for ds in waits_before.values() for d in ds} | set(final)
        next_token = 0
        for i in order:
            if i in wanted:
                items[i].token = next_token
                next_token += 1
        lay = self.layout
        lists: list[Operation] = []
        first: dict[int, Operation] = {}  # item -> its op in core 0's list (host bodies are cloned from it)
        for core in range(lay.cores):
            shift = core * next_token  # core k's tokens: T * k + core 0's
            ops: list[Operation] = []
            for i in order:
                if i in waits_before:
                    ops.append(aipu.instr_op("wait", tokens=tuple(items[d].token + shift for d in waits_before[i])))
                it = items[i]
                values: dict[str, Any] = dict(lay.relocate(it.instr, core).args)
                if it.token is not None:
                    values["signal"] = it.token + shift
                regions = [] if it.host is None else [Region() if core == 0 else first[i].regions[0].clone()]
                new = aipu.INSTRUCTION_OPS[it.instr.op].from_values(values, regions)
                if it.host is not None and core == 0:
                    self._move_body(it.host, new)
                    first[i] = new
                ops.append(new)
            if final:
                ops.append(aipu.instr_op("wait", tokens=tuple(items[i].token + shift for i in final)))
            lists.append(aipu.TaskListOp.from_values({"core": core}, [Region(Block(ops))]))

        order_in = self._names("axc.input_names")
        order_out = self._names("axc.output_names")

        def rank(kind: str, name: str) -> int:
            names = order_in if kind == "input" else order_out
            return names.index(name) if name in names else len(names)

        ios: list[Operation] = []
        for _, _, io in sorted(self.io, key=lambda x: (x[0] != "input", rank(x[0], x[1]))):
            ios.append(io)
            for core in range(1, lay.cores):
                v = io.values()
                ios.append(aipu.IoOp.from_values(v | {"at": lay.shift(v["at"], core), "frame": core}))
        body = [*self.data_ops, *ios, *lists]
        values = {"cores": lay.cores, "frequency": self.opts.frequency, "instances": self.opts.instances,
                  "batch": lay.cores if lay.cores > 1 else None,
                  "l1_size": self.memory["l1"], "l2_size": self.memory["l2"], "ddr_size": self.memory["ddr"]}
        return aipu.ProgramOp.from_values(values, [Region(Block(body))])

    def _names(self, key: str) -> list[str]:
        a = self.fn.attributes.get(key)
        return [s.data for s in a.data] if isinstance(a, ArrayAttr) else []

    @staticmethod
    def _move_body(host: Operation, new: Operation) -> None:
        assert isinstance(host, tile.HostOp)
        host.body.move_blocks(new.regions[0])
        block = new.regions[0].block
        term = block.last_op
        assert isinstance(term, tile.YieldOp)
        block.insert_op_before(aipu.YieldOp.create(operands=list(term.values)), term)
        block.erase_op(term)
