"""The AIPU instruction set as plain Python data: the program model shared by the compiler and the
deployed runtime.

Pure Python + numpy (no xdsl): the assembly parser builds a :class:`Program` from text, the
``aipu-asm`` target builds the same :class:`Program` from IR (and prints it with
:func:`format_program`), and the ``aipu`` dialect generates its ops and verifiers from :data:`ISA`,
so the IR, the text and the runtime can never disagree on what an operand is.

A program is a header (cores, frequency, Batch-1 instances, the batch, memory sizes), constant
blobs (``.data``: bytes of the constants file loaded at an address), I/O declarations (``.input`` /
``.output``: where the int8 tensors of each frame of the batch live and their quantization) and one
task list per core. A Batch-x program (``batch = x``) runs x frames per execution, frame k on core k
with its own I/O declarations (``frame = k``); ``batch = 1`` is Batch-1.
Every instruction is a mnemonic with named operands (:class:`Instr`); docs/isa.md is the reference.

Operand kinds (:class:`Operand`): ``mem`` (a :class:`Mem`: space + byte address), ``int``,
``ints`` (a tuple of ints), ``float``, ``str`` (a string), ``word`` (an identifier from a fixed
set), ``hostbufs`` (a tuple of :class:`HostBuffer`). An absent optional operand takes its default.

:mod:`axc.runtime.isa_checks` holds the semantic checks (``check_program`` / ``check_instr``, which
the dialect verifiers and the assembly reader call); they raise :class:`AsmError` with an
expected-vs-found message.
"""

from __future__ import annotations

import numpy as np

import bisect
import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from .hardware import AIPU_V1, PWORD_BYTES, Hardware

SPACES = ("ddr", "l2", "l1")
INT8_MIN, INT8_MAX = -128, 127


class AsmError(ValueError):
    """A program (text or IR) breaks a rule of the ISA. ``line`` is the assembly line (0 if none)."""

    def __init__(self, message: str, line: int = 0):
        super().__init__(message)
        self.message = message
        self.line = line

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


# --------------------------------------------------------------------------------------------------
# values


@dataclass(frozen=True)
class Mem:
    """A byte address in a memory space (``l1:0x1000`` in the assembly)."""

    space: str
    address: int

    def __str__(self) -> str:
        return f"{self.space}:0x{self.address:x}"


#: dtypes of host / I/O buffers that hold the tensor itself in its logical layout (``stored ==
#: shape``), by the element-type name of the IR, with their numpy dtype. ``i8`` is not one of them:
#: an ``i8`` buffer holds a quantized tensor in HWC (see :class:`HostBuffer`).
LOGICAL_DTYPES: dict[str, str] = {
    "f32": "<f4", "f64": "<f8", "f16": "<f2", "i64": "<i8", "i32": "<i4", "i16": "<i2",
    "ui8": "u1", "ui16": "<u2", "ui32": "<u4", "ui64": "<u8", "i1": "bool",
}


def is_logical(dtype: str) -> bool:
    """True for a buffer that holds the tensor itself (:data:`LOGICAL_DTYPES`), False for ``i8``."""
    return dtype in LOGICAL_DTYPES


def numpy_dtype_of(dtype: str) -> np.dtype:
    """The numpy dtype of a host / I/O buffer's elements (int8 for a quantized ``i8`` buffer)."""
    return np.dtype(LOGICAL_DTYPES.get(dtype, "i1"))


@dataclass(frozen=True)
class HostBuffer:
    """A buffer a host segment reads or writes.

    ``shape`` is the logical (ONNX, NCHW) shape of one frame with batch 1. ``dtype`` ``i8``: the
    buffer holds the quantized tensor in HWC with padded channels (``stored``) and ``scale`` / ``zp``
    are its quantization; ``f32`` (or another of :data:`LOGICAL_DTYPES`: ``i64``, ``i1``, ...): it
    holds the tensor itself in the logical layout (``stored == shape``; scale and zp are unused, 1.0
    and 0).
    """

    at: Mem
    shape: tuple[int, ...]
    stored: tuple[int, ...]
    scale: float
    zp: int
    dtype: str = "i8"

    @property
    def nbytes(self) -> int:
        return prod(self.stored) * numpy_dtype_of(self.dtype).itemsize


@dataclass(frozen=True)
class Operand:
    """One named operand of an instruction."""

    name: str
    kind: str  # mem | int | ints | float | str | word | hostbufs
    default: Any = None  # None and required=True: must be given
    required: bool = False
    lengths: tuple[int, ...] = ()  # allowed lengths of an ``ints`` operand (empty: any)
    words: tuple[str, ...] = ()  # allowed values of a ``word`` operand
    doc: str = ""


def _ops(*items: Operand) -> dict[str, Operand]:
    return {o.name: o for o in items}


_SIGNAL = Operand("signal", "int", doc="token id signalled when the instruction completes")
_SRC = Operand("src", "str", doc="source layer (ONNX node) name, for profiles and errors")
_CLAMP = Operand("clamp", "ints", (INT8_MIN, INT8_MAX), lengths=(2,), doc="output clamp [lo, hi]")
_PADS = Operand("pads", "ints", (0, 0, 0, 0), lengths=(4,), doc="padding (top, left, bottom, right)")
_STRIDES = Operand("strides", "ints", (1, 1), lengths=(2,), doc="window strides (h, w)")
_DIL = Operand("dilations", "ints", (1, 1), lengths=(2,), doc="window dilations (h, w)")

#: mnemonic -> operands. The order is the printing order.
ISA: dict[str, dict[str, Operand]] = {
    "dma": _ops(
        Operand("from", "mem", required=True, doc="source address"),
        Operand("to", "mem", required=True, doc="destination address"),
        Operand("sizes", "ints", required=True, lengths=(1, 2, 3, 4),
                doc="box extents, outermost first; the last one is a contiguous run of bytes"),
        Operand("from_strides", "ints", (), lengths=(0, 1, 2, 3), doc="source byte strides of the outer dims"),
        Operand("to_strides", "ints", (), lengths=(0, 1, 2, 3), doc="destination byte strides of the outer dims"),
        Operand("channel", "int", 0, doc="DMA channel 0 or 1"),
        _SIGNAL, _SRC,
    ),
    "mvm": _ops(
        Operand("in", "mem", required=True, doc="input activation, int8 HWC"),
        Operand("in_shape", "ints", required=True, lengths=(3,), doc="stored input shape [H, W, Cs]"),
        Operand("w", "mem", required=True, doc="weights, int8 [OCt, C/group, KH, KW]"),
        Operand("w_shape", "ints", required=True, lengths=(4,), doc="[OCt, C/group, KH, KW]"),
        Operand("table", "mem", required=True, doc="epilogue table, int32 [3, OCt]: bias, multiplier, shift"),
        Operand("out", "mem", required=True, doc="output activation, int8 HWC"),
        Operand("out_shape", "ints", required=True, lengths=(3,), doc="stored output shape [Ho, Wo, OCs]"),
        Operand("channels", "ints", required=True, lengths=(2,), doc="real [input channels, output channels]"),
        _STRIDES, _DIL, _PADS,
        Operand("group", "int", 1, doc="convolution groups"),
        Operand("in_zp", "int", 0, doc="input zero point (the padding value)"),
        Operand("out_zp", "int", 0, doc="output zero point"),
        _CLAMP, _SIGNAL, _SRC,
    ),
    "dwpu": _ops(
        Operand("op", "word", required=True, words=("dwconv", "maxpool", "avgpool"), doc="the operation"),
        Operand("in", "mem", required=True, doc="input activation, int8 HWC"),
        Operand("in_shape", "ints", required=True, lengths=(3,), doc="stored input shape [H, W, Cs]"),
        Operand("out", "mem", required=True, doc="output activation, int8 HWC"),
        Operand("out_shape", "ints", required=True, lengths=(3,), doc="stored output shape [Ho, Wo, Cs]"),
        Operand("channels", "ints", required=True, lengths=(2,), doc="real [input channels, output channels]"),
        Operand("kernel", "ints", required=True, lengths=(2,), doc="window (kh, kw)"),
        _STRIDES, _DIL, _PADS,
        Operand("ceil_mode", "int", 0, doc="pooling: ONNX ceil_mode"),
        Operand("count_include_pad", "int", 0, doc="avgpool: divisor counts the pads"),
        Operand("in_zp", "int", 0, doc="input zero point (dwconv: the padding value; avgpool: subtracted)"),
        Operand("out_zp", "int", 0, doc="output zero point (dwconv, avgpool)"),
        Operand("w", "mem", doc="dwconv: int8 weights [OC, 1, KH, KW]"),
        Operand("w_shape", "ints", lengths=(4,), doc="dwconv: [OC, 1, KH, KW]"),
        Operand("table", "mem", doc="dwconv: int32 [3, OC] bias, multiplier, shift"),
        Operand("multipliers", "ints", doc="avgpool: multiplier per window count"),
        Operand("shift", "int", 0, doc="avgpool: shared shift"),
        _CLAMP, _SIGNAL, _SRC,
    ),
    "dpu": _ops(
        Operand("op", "word", required=True, words=("add", "mul", "requantize", "clamp", "lut"), doc="the operation"),
        Operand("a", "mem", doc="add / mul: first input"),
        Operand("a_shape", "ints", lengths=(3,), doc="add / mul: stored shape [H, W, Cs] of a"),
        Operand("b", "mem", doc="add / mul: second input"),
        Operand("b_shape", "ints", lengths=(3,), doc="add / mul: stored shape of b (mul: H x W may be 1 x 1, broadcast)"),
        Operand("in", "mem", doc="requantize / clamp / lut: input"),
        Operand("in_shape", "ints", lengths=(3,), doc="requantize / clamp / lut: stored shape of in"),
        Operand("table", "mem", doc="lut: int8 table of 256 entries in l1, entry x + 128 for input x"),
        Operand("out", "mem", required=True, doc="output, int8 HWC"),
        Operand("out_shape", "ints", required=True, lengths=(3,), doc="stored shape of out"),
        Operand("channels", "int", required=True, doc="real channels (the same H x W everywhere)"),
        Operand("a_zp", "int", 0, doc="add / mul: zero point of a"),
        Operand("a_mult", "int", 0, doc="add: multiplier of a, in [0, 2^31)"),
        Operand("b_zp", "int", 0, doc="add / mul: zero point of b"),
        Operand("b_mult", "int", 0, doc="add: multiplier of b, in [0, 2^31)"),
        Operand("in_zp", "int", 0, doc="requantize: input zero point"),
        Operand("mult", "int", 0, doc="requantize / mul: multiplier, in [0, 2^31)"),
        Operand("shift", "int", 0, doc="add / mul / requantize: right shift, in [0, 62]"),
        Operand("out_zp", "int", 0, doc="add / mul / requantize: output zero point"),
        _CLAMP, _SIGNAL, _SRC,
    ),
    "wait": _ops(Operand("tokens", "ints", required=True, doc="token ids to wait for")),
    "host": _ops(
        Operand("segment", "int", required=True, doc="host segment index: host/segment_N.onnx"),
        Operand("inputs", "hostbufs", (), doc="buffers read into the segment's graph inputs, in order"),
        Operand("outputs", "hostbufs", (), doc="buffers the segment's graph outputs are written to, in order"),
        _SIGNAL, _SRC,
    ),
}

#: the functional unit each mnemonic runs on (DMA refines to core/system and the channel)
UNITS = {"mvm": "mvm", "dwpu": "dwpu", "dpu": "dpu", "host": "host", "wait": "sequencer", "dma": "dma"}


@dataclass(eq=True)
class Instr:
    """One instruction: mnemonic + present operands (absent optional operands take their default)."""

    op: str
    args: dict[str, Any]
    line: int = field(default=0, compare=False)

    def __getitem__(self, name: str) -> Any:
        v = self.args.get(name)
        if v is None:
            return ISA[self.op][name].default
        return v

    def get(self, name: str, default: Any = None) -> Any:
        v = self.args.get(name)
        return default if v is None else v

    @property
    def src(self) -> str:
        return self.args.get("src", "")

    @property
    def signal(self) -> int | None:
        return self.args.get("signal")

    def describe(self) -> str:
        who = f" ({self.src})" if self.src else ""
        return f"'{self.op}'{who}"


@dataclass(eq=True)
class DataBlob:
    """``.data``: ``size`` bytes of the constants file at ``offset``, loaded at ``at``."""

    name: str
    at: Mem
    offset: int
    size: int
    dtype: str  # i8 | i32 (informative: the bytes are little-endian)
    shape: tuple[int, ...]
    line: int = field(default=0, compare=False)


@dataclass(eq=True)
class IODecl:
    """``.input`` / ``.output``: a model I/O tensor (float32 for the user; in memory int8 HWC with
    the quantization ``scale`` / ``zp``, or f32 in the logical layout, like :class:`HostBuffer`)."""

    kind: str  # input | output
    name: str
    at: Mem
    shape: tuple[int, ...]  # logical ONNX shape of one frame (batch 1)
    stored: tuple[int, ...]  # HWC shape in memory (i8) or the logical shape (f32)
    scale: float
    zp: int
    dtype: str = "i8"
    frame: int = 0  # which frame of the batch the buffer holds (Batch-x: frame k is core k's)
    line: int = field(default=0, compare=False)

    @property
    def nbytes(self) -> int:
        return prod(self.stored) * numpy_dtype_of(self.dtype).itemsize


def default_memory(hw: Hardware = AIPU_V1) -> dict[str, int]:
    """Byte sizes of the address spaces a program may use (the hardware budgets)."""
    return {"l1": hw.l1_budget, "l2": hw.l2_budget, "ddr": hw.ddr_budget}


@dataclass(eq=True)
class Program:
    """A whole AIPU program: header, constants, I/O and one task list per core.

    ``batch``: frames one execution consumes (1: Batch-1; x: Batch-x, frame k in the I/O buffers
    declared with ``frame = k``); ``instances``: Batch-1 copies of the whole program the runtime
    runs side by side (each on its own cores).
    """

    cores: int = 1
    frequency: int = AIPU_V1.frequency_hz
    instances: int = 1
    batch: int = 1
    memory: dict[str, int] = field(default_factory=default_memory)
    data: list[DataBlob] = field(default_factory=list)
    io: list[IODecl] = field(default_factory=list)
    task_lists: dict[int, list[Instr]] = field(default_factory=dict)

    @property
    def inputs(self) -> list[IODecl]:
        """The input declarations of frame 0 (the model's inputs; other frames repeat them)."""
        return [d for d in self.io if d.kind == "input" and d.frame == 0]

    @property
    def outputs(self) -> list[IODecl]:
        """The output declarations of frame 0 (the model's outputs; other frames repeat them)."""
        return [d for d in self.io if d.kind == "output" and d.frame == 0]

    @property
    def mode(self) -> str:
        """``Batch-1`` or ``Batch-x`` (the multi-core mode of the configuration reference)."""
        return f"Batch-{self.batch}"

    @property
    def constants_size(self) -> int:
        """Bytes of the constants file the ``.data`` blobs need."""
        return max((d.offset + d.size for d in self.data), default=0)

    def instructions(self) -> Iterator[tuple[int, Instr]]:
        for core in sorted(self.task_lists):
            for ins in self.task_lists[core]:
                yield core, ins


# --------------------------------------------------------------------------------------------------
# operand values


def normalize(kind: str, value: Any) -> Any:
    """A Python value of an operand kind in its canonical form (ints, tuples, Mem, HostBuffer)."""
    if kind == "int":
        return int(value)
    if kind == "ints":
        return tuple(int(v) for v in value)
    if kind == "float":
        return float(value)
    if kind in ("str", "word"):
        return str(value)
    if kind == "mem":
        if not isinstance(value, Mem):
            raise TypeError(f"expected a Mem, got {value!r}")
        return Mem(str(value.space), int(value.address))
    if kind == "hostbufs":
        return tuple(value)
    raise ValueError(f"unknown operand kind {kind!r}")


def make_instr(op: str, line: int = 0, /, **args: Any) -> Instr:
    """Build an instruction from keyword operands (``in_`` / ``from_`` for the Python keywords).

    The canonical form: operands that are ``None`` or equal to their default are left out, so the
    same instruction built from IR or parsed from text compares equal. Checks names and kinds, not
    semantics (see :func:`axc.runtime.isa_checks.check_instr`)."""
    spec = ISA.get(op)
    if spec is None:
        raise AsmError(f"unknown instruction '{op}', expected one of {sorted(ISA)}", line)
    out: dict[str, Any] = {}
    for key, value in args.items():
        key = key.rstrip("_")  # in_ / from_ for Python keywords
        if value is None:
            continue
        o = spec.get(key)
        if o is None:
            raise AsmError(f"'{op}' has no operand '{key}', expected one of {list(spec)}", line)
        value = normalize(o.kind, value)
        if o.default is not None and value == o.default:
            continue  # canonical form: defaults are left out
        out[key] = value
    return Instr(op, {k: out[k] for k in spec if k in out}, line)


# --------------------------------------------------------------------------------------------------
# text


def _fmt_value(kind: str, v: Any) -> str:
    if kind == "int":
        return str(v)
    if kind == "ints":
        return "[" + ",".join(str(x) for x in v) + "]"
    if kind == "float":
        return repr(float(v))
    if kind == "str":
        return json.dumps(v)
    if kind == "word":
        return v
    if kind == "mem":
        return str(v)
    if kind == "hostbufs":
        return "[" + ",".join(_fmt_hostbuf(b) for b in v) + "]"
    raise ValueError(kind)


def _fmt_hostbuf(b: HostBuffer) -> str:
    return (f"{{at={b.at} dtype={b.dtype} shape={_fmt_value('ints', b.shape)} "
            f"stored={_fmt_value('ints', b.stored)} scale={b.scale!r} zp={b.zp}}}")


def format_instr(ins: Instr) -> str:
    spec = ISA[ins.op]
    parts = [f"{ins.op:<5}"]
    parts += [f"{k}={_fmt_value(spec[k].kind, v)}" for k, v in ins.args.items()]
    return " ".join(parts)


def format_program(p: Program) -> str:
    """The assembly text of a program (runtime/asm.lark is its grammar)."""
    mem = " ".join(f"{s}_size={p.memory[s]}" for s in ("l1", "l2", "ddr"))
    lines = [
        "; axc AIPU program: one instruction per line, operands key=value (docs/isa.md)",
        f".program cores={p.cores} frequency={p.frequency} instances={p.instances}"
        + (f" batch={p.batch}" if p.batch != 1 else "") + f" {mem}",
    ]
    for d in p.data:
        lines.append(f".data name={json.dumps(d.name)} at={d.at} offset={d.offset} size={d.size} "
                     f"dtype={d.dtype} shape={_fmt_value('ints', d.shape)}")
    for d in p.io:
        frame = f" frame={d.frame}" if d.frame else ""
        lines.append(f".{d.kind} name={json.dumps(d.name)}{frame} at={d.at} dtype={d.dtype} "
                     f"shape={_fmt_value('ints', d.shape)} stored={_fmt_value('ints', d.stored)} "
                     f"scale={d.scale!r} zp={d.zp}")
    for core in sorted(p.task_lists):
        lines.append(f".core {core}")
        lines += ["  " + format_instr(i) for i in p.task_lists[core]]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------------
# memory footprints


def prod(xs: Sequence[int]) -> int:
    return math.prod(int(x) for x in xs)


def box_extent(sizes: Sequence[int], strides: Sequence[int]) -> int:
    """Bytes spanned by a DMA box: the last address touched + 1 (relative to the base)."""
    return sum((s - 1) * st for s, st in zip(sizes[:-1], strides, strict=True)) + sizes[-1]


@dataclass(frozen=True)
class Access:
    """A memory range an instruction reads or writes."""

    role: str
    at: Mem
    size: int
    write: bool


def accesses(ins: Instr) -> list[Access]:
    """The memory ranges an instruction touches (extents, not exact element sets)."""
    a: list[Access] = []
    op = ins.op
    if op == "dma":
        sizes = ins["sizes"]
        a.append(Access("from", ins["from"], box_extent(sizes, ins["from_strides"]), False))
        a.append(Access("to", ins["to"], box_extent(sizes, ins["to_strides"]), True))
    elif op in ("mvm", "dwpu"):
        a.append(Access("in", ins["in"], prod(ins["in_shape"]), False))
        if ins.get("w") is not None and ins.get("w_shape") is not None:
            a.append(Access("w", ins["w"], prod(ins["w_shape"]), False))
            if ins.get("table") is not None:
                a.append(Access("table", ins["table"], 3 * 4 * ins["w_shape"][0], False))
        a.append(Access("out", ins["out"], prod(ins["out_shape"]), True))
    elif op == "dpu":
        for role in ("a", "b", "in"):
            if ins.get(role) is not None and ins.get(role + "_shape") is not None:
                a.append(Access(role, ins[role], prod(ins[role + "_shape"]), False))
        if ins.get("table") is not None:
            a.append(Access("table", ins["table"], 256, False))
        a.append(Access("out", ins["out"], prod(ins["out_shape"]), True))
    elif op == "host":
        for i, b in enumerate(ins["inputs"]):
            a.append(Access(f"inputs[{i}]", b.at, b.nbytes, False))
        for i, b in enumerate(ins["outputs"]):
            a.append(Access(f"outputs[{i}]", b.at, b.nbytes, True))
    return a


def dma_engine(ins: Instr) -> str:
    """``core`` (an end in L1) or ``system`` (DDR/L2 only) DMA."""
    return "core" if "l1" in (ins["from"].space, ins["to"].space) else "system"


def dma_bytes(ins: Instr) -> int:
    return prod(ins["sizes"])


class RangeTracker:
    """Last writer / readers of every byte range, per memory space (sorted disjoint segments).

    :meth:`depend` returns the earlier accesses an access conflicts with (read after write, write
    after read, write after write) and records it; ids are the caller's (instruction indices).
    """

    def __init__(self) -> None:
        self.starts: dict[str, list[int]] = {}
        self.segs: dict[str, list[list[Any]]] = {}  # [start, end, writer | None, readers]

    def _split(self, space: str, at: int) -> None:
        starts, segs = self.starts.setdefault(space, []), self.segs.setdefault(space, [])
        i = bisect.bisect_right(starts, at) - 1
        if i >= 0 and segs[i][0] < at < segs[i][1]:
            s = segs[i]
            segs.insert(i + 1, [at, s[1], s[2], list(s[3])])
            s[1] = at
            starts.insert(i + 1, at)

    def _cover(self, space: str, lo: int, hi: int) -> list[list[Any]]:
        """Segments exactly covering [lo, hi) (gaps are filled with empty segments)."""
        self._split(space, lo)
        self._split(space, hi)
        starts, segs = self.starts[space], self.segs[space]
        i = bisect.bisect_left(starts, lo)
        out, pos = [], lo
        while pos < hi:
            if i < len(segs) and segs[i][0] == pos:
                out.append(segs[i])
                pos = segs[i][1]
                i += 1
            else:
                end = min(hi, segs[i][0]) if i < len(segs) else hi
                seg = [pos, end, None, []]
                segs.insert(i, seg)
                starts.insert(i, pos)
                out.append(seg)
                pos = end
                i += 1
        return out

    def depend(self, idx: int, reads: list[tuple[str, int, int]], writes: list[tuple[str, int, int]]) -> set[int]:
        """Dependences of instruction ``idx`` on earlier ones, and record its accesses."""
        deps: set[int] = set()
        for space, lo, hi in reads:
            for seg in self._cover(space, lo, hi):
                if seg[2] is not None:
                    deps.add(seg[2])
        for space, lo, hi in writes:
            for seg in self._cover(space, lo, hi):
                if seg[2] is not None:
                    deps.add(seg[2])
                deps.update(seg[3])
        for space, lo, hi in reads:
            for seg in self._cover(space, lo, hi):
                seg[3].append(idx)
        for space, lo, hi in writes:
            for seg in self._cover(space, lo, hi):
                seg[2], seg[3] = idx, []
        deps.discard(idx)
        return deps


# --------------------------------------------------------------------------------------------------
# layouts


def stored_shape(shape: Sequence[int], cs: int) -> tuple[int, ...]:
    """The HWC shape of a logical (1, C, ...) tensor stored with ``cs`` >= C channels.

    (1, C, H, W) -> (H, W, cs); (1, C) -> (1, 1, cs); (1, C, L) -> (1, L, cs); other ranks are stored
    as-is (the stored shape equals the logical one without the batch axis padded in the last dim).
    """
    s = tuple(int(x) for x in shape)
    if len(s) == 4 and s[0] == 1:
        return (s[2], s[3], cs)
    if len(s) == 2 and s[0] == 1:
        return (1, 1, cs)
    if len(s) == 3 and s[0] == 1:
        return (1, s[2], cs)
    return s[:-1] + (cs,)


def channels_of(shape: Sequence[int]) -> int:
    """The real channel count of a logical shape (axis 1 of an NC... tensor, else the last axis)."""
    s = tuple(shape)
    return s[1] if len(s) in (2, 3, 4) and s[0] == 1 else s[-1]


def pwords(channels: int) -> int:
    """PWORDs (64-byte vectors) needed for ``channels`` int8 lanes."""
    return -(-int(channels) // PWORD_BYTES)
