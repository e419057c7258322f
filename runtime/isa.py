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

:func:`check_program` / :func:`check_instr` are the semantic checks (the dialect verifiers call them
too); they raise :class:`AsmError` with an expected-vs-found message.
"""

from __future__ import annotations

import bisect
import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from .hardware import AIPU_V1, PWORD_BYTES, Hardware
from .int_kernels import output_size

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


@dataclass(frozen=True)
class HostBuffer:
    """A buffer a host segment reads or writes.

    ``shape`` is the logical (ONNX, NCHW) shape of one frame with batch 1. ``dtype`` ``i8``: the
    buffer holds the quantized tensor in HWC with padded channels (``stored``) and ``scale`` / ``zp``
    are its quantization; ``f32``: it holds the float tensor itself in the logical layout
    (``stored == shape``; scale and zp are unused, 1.0 and 0).
    """

    at: Mem
    shape: tuple[int, ...]
    stored: tuple[int, ...]
    scale: float
    zp: int
    dtype: str = "i8"

    @property
    def nbytes(self) -> int:
        return prod(self.stored) * (4 if self.dtype == "f32" else 1)


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
        Operand("op", "word", required=True, words=("add", "requantize", "clamp"), doc="the operation"),
        Operand("a", "mem", doc="add: first input"),
        Operand("a_shape", "ints", lengths=(3,), doc="add: stored shape [H, W, Cs] of a"),
        Operand("b", "mem", doc="add: second input"),
        Operand("b_shape", "ints", lengths=(3,), doc="add: stored shape of b"),
        Operand("in", "mem", doc="requantize / clamp: input"),
        Operand("in_shape", "ints", lengths=(3,), doc="requantize / clamp: stored shape of in"),
        Operand("out", "mem", required=True, doc="output, int8 HWC"),
        Operand("out_shape", "ints", required=True, lengths=(3,), doc="stored shape of out"),
        Operand("channels", "int", required=True, doc="real channels (the same H x W everywhere)"),
        Operand("a_zp", "int", 0, doc="add: zero point of a"),
        Operand("a_mult", "int", 0, doc="add: multiplier of a, in [0, 2^31)"),
        Operand("b_zp", "int", 0, doc="add: zero point of b"),
        Operand("b_mult", "int", 0, doc="add: multiplier of b, in [0, 2^31)"),
        Operand("in_zp", "int", 0, doc="requantize: input zero point"),
        Operand("mult", "int", 0, doc="requantize: multiplier, in [0, 2^31)"),
        Operand("shift", "int", 0, doc="add / requantize: right shift, in [0, 62]"),
        Operand("out_zp", "int", 0, doc="add / requantize: output zero point"),
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
        return prod(self.stored) * (4 if self.dtype == "f32" else 1)


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
    semantics (see :func:`check_instr`)."""
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
# checks


def _err(ins: Instr, msg: str) -> AsmError:
    return AsmError(f"{ins.describe()} {msg}", ins.line)


def _check_mem(ins: Instr | None, what: str, at: Mem, size: int, memory: dict[str, int], line: int = 0) -> None:
    def fail(msg: str) -> AsmError:
        return _err(ins, msg) if ins is not None else AsmError(msg, line)

    if at.space not in SPACES:
        raise fail(f"{what}: memory space must be one of {list(SPACES)}, got '{at.space}'")
    if at.address < 0:
        raise fail(f"{what}: address must be >= 0, got {at.address}")
    limit = memory.get(at.space, 0)
    if at.address + size > limit:
        raise fail(f"{what}: {size} bytes at {at} must end within the {at.space} size {limit} "
                   f"(0x{limit:x}), got end 0x{at.address + size:x}")


def _int8(ins: Instr, name: str) -> None:
    v = ins[name]
    if not INT8_MIN <= v <= INT8_MAX:
        raise _err(ins, f"{name} must be in [-128, 127], got {v}")


def _clamp(ins: Instr) -> None:
    lo, hi = ins["clamp"]
    if not INT8_MIN <= lo <= hi <= INT8_MAX:
        raise _err(ins, f"clamp must satisfy -128 <= lo <= hi <= 127, got [{lo}, {hi}]")


def _window(ins: Instr, kernel: tuple[int, int], ceil_mode: bool) -> None:
    h, w, _ = ins["in_shape"]
    (sh, sw), (dh, dw), (pt, pl, pb, pr) = ins["strides"], ins["dilations"], ins["pads"]
    if min(sh, sw, dh, dw) < 1 or min(kernel) < 1:
        raise _err(ins, f"kernel, strides and dilations must be >= 1, got kernel {list(kernel)}, "
                        f"strides [{sh}, {sw}], dilations [{dh}, {dw}]")
    if min(pt, pl, pb, pr) < 0:
        raise _err(ins, f"pads must be >= 0, got {list(ins['pads'])}")
    try:
        ho = output_size(h, kernel[0], sh, pt, pb, dh, ceil_mode)
        wo = output_size(w, kernel[1], sw, pl, pr, dw, ceil_mode)
    except ValueError as e:
        raise _err(ins, f"window does not fit: {e}") from None
    oh, ow, _ = ins["out_shape"]
    if (oh, ow) != (ho, wo):
        raise _err(ins, f"out_shape must be [{ho}, {wo}, _] for in_shape {list(ins['in_shape'])} and "
                        f"kernel {list(kernel)}, got {list(ins['out_shape'])}")


def check_instr(ins: Instr, memory: dict[str, int] | None = None) -> None:
    """Semantic checks of one instruction (operands present, shapes consistent, memory in range).

    Raises :class:`AsmError` naming the instruction, what was expected and what was found.
    """
    memory = default_memory() if memory is None else memory
    spec = ISA.get(ins.op)
    if spec is None:
        raise AsmError(f"unknown instruction '{ins.op}', expected one of {sorted(ISA)}", ins.line)
    for o in spec.values():
        v = ins.args.get(o.name)
        if v is None:
            if o.required:
                raise _err(ins, f"needs operand '{o.name}'")
            continue
        if o.kind == "ints" and o.lengths and len(v) not in o.lengths:
            raise _err(ins, f"{o.name} must have {' or '.join(map(str, o.lengths))} values, got {len(v)}")
        if o.kind == "word" and v not in o.words:
            raise _err(ins, f"{o.name} must be one of {list(o.words)}, got '{v}'")
    if ins.signal is not None and ins.signal < 0:
        raise _err(ins, f"signal must be a token id >= 0, got {ins.signal}")
    getattr(_Checks, "check_" + ins.op)(ins)
    for acc in accesses(ins):
        _check_mem(ins, acc.role, acc.at, acc.size, memory)


class _Checks:
    @staticmethod
    def check_dma(ins: Instr) -> None:
        sizes = ins["sizes"]
        for name in ("from_strides", "to_strides"):
            if len(ins[name]) != len(sizes) - 1:
                raise _err(ins, f"{name} must have {len(sizes) - 1} values (one per outer dim of sizes "
                                f"{list(sizes)}), got {len(ins[name])}")
            if any(s < 0 for s in ins[name]):
                raise _err(ins, f"{name} must be >= 0, got {list(ins[name])}")
        if any(s < 1 for s in sizes):
            raise _err(ins, f"sizes must be >= 1, got {list(sizes)}")
        if ins["channel"] not in (0, 1):
            raise _err(ins, f"channel must be 0 or 1, got {ins['channel']}")

    @staticmethod
    def check_mvm(ins: Instr) -> None:
        for role in ("in", "w", "table", "out"):
            if ins[role].space != "l1":
                raise _err(ins, f"{role} must be in l1, got {ins[role].space}")
        oct_, cg, kh, kw = ins["w_shape"]
        group = ins["group"]
        c_real, oc_real = ins["channels"]
        if min(oct_, cg, kh, kw) < 1:
            raise _err(ins, f"w_shape must be positive, got {list(ins['w_shape'])}")
        if group < 1 or oct_ % group:
            raise _err(ins, f"w_shape[0] ({oct_}) must be a multiple of group ({group})")
        if cg * group > ins["in_shape"][2]:
            raise _err(ins, f"in_shape[2] must be >= C/group x group = {cg * group}, got {ins['in_shape'][2]}")
        if not 1 <= c_real <= cg * group:
            raise _err(ins, f"channels[0] must be in [1, {cg * group}], got {c_real}")
        if not 1 <= oc_real <= min(oct_, ins["out_shape"][2]):
            raise _err(ins, f"channels[1] must be in [1, {min(oct_, ins['out_shape'][2])}] (w_shape[0] "
                            f"and out_shape[2]), got {oc_real}")
        _int8(ins, "in_zp")
        _int8(ins, "out_zp")
        _clamp(ins)
        _window(ins, (kh, kw), False)

    @staticmethod
    def check_dwpu(ins: Instr) -> None:
        for role in ("in", "out", "w", "table"):
            if ins.get(role) is not None and ins[role].space != "l1":
                raise _err(ins, f"{role} must be in l1, got {ins[role].space}")
        c_in, c_out = ins["channels"]
        kind = ins["op"]
        if not 1 <= c_in <= ins["in_shape"][2]:
            raise _err(ins, f"channels[0] must be in [1, {ins['in_shape'][2]}], got {c_in}")
        if not 1 <= c_out <= ins["out_shape"][2]:
            raise _err(ins, f"channels[1] must be in [1, {ins['out_shape'][2]}], got {c_out}")
        if kind == "dwconv":
            for name in ("w", "w_shape", "table"):
                if ins.get(name) is None:
                    raise _err(ins, f"op=dwconv needs operand '{name}'")
            oc, one, kh, kw = ins["w_shape"]
            if one != 1 or oc < c_out or (kh, kw) != tuple(ins["kernel"]):
                raise _err(ins, f"w_shape must be [>={c_out}, 1, {ins['kernel'][0]}, {ins['kernel'][1]}], "
                                f"got {list(ins['w_shape'])}")
            if c_out % c_in:
                raise _err(ins, f"channels[1] ({c_out}) must be a multiple of channels[0] ({c_in})")
            if ins["ceil_mode"]:
                raise _err(ins, "op=dwconv must have ceil_mode=0")
        else:
            if c_in != c_out:
                raise _err(ins, f"op={kind} needs channels[0] == channels[1], got {list(ins['channels'])}")
            if kind == "avgpool":
                if ins.get("multipliers") is None:
                    raise _err(ins, "op=avgpool needs operand 'multipliers'")
                if tuple(ins["dilations"]) != (1, 1):
                    raise _err(ins, f"op=avgpool needs dilations [1, 1], got {list(ins['dilations'])}")
                if any(not 0 <= m < 2**31 for m in ins["multipliers"]):
                    raise _err(ins, "multipliers must be in [0, 2^31)")
                if not 0 <= ins["shift"] <= 62:
                    raise _err(ins, f"shift must be in [0, 62], got {ins['shift']}")
        _int8(ins, "in_zp")
        _int8(ins, "out_zp")
        _clamp(ins)
        _window(ins, tuple(ins["kernel"]), bool(ins["ceil_mode"]))

    @staticmethod
    def check_dpu(ins: Instr) -> None:
        kind = ins["op"]
        need = ("a", "b") if kind == "add" else ("in",)
        for name in need:
            for n in (name, name + "_shape"):
                if ins.get(n) is None:
                    raise _err(ins, f"op={kind} needs operand '{n}'")
        for name in ("a", "b", "in"):
            if name not in need and ins.get(name) is not None:
                raise _err(ins, f"op={kind} takes no operand '{name}'")
        for name in ("a", "b", "in", "out"):
            if ins.get(name) is not None and ins[name].space != "l1":
                raise _err(ins, f"{name} must be in l1, got {ins[name].space}")
        hw = tuple(ins["out_shape"][:2])
        for name in need:
            if tuple(ins[name + "_shape"][:2]) != hw:
                raise _err(ins, f"{name}_shape must be [{hw[0]}, {hw[1]}, _] (the H x W of out_shape), "
                                f"got {list(ins[name + '_shape'])}")
        cmax = min(ins[n + "_shape"][2] for n in (*need, "out"))
        if not 1 <= ins["channels"] <= cmax:
            raise _err(ins, f"channels must be in [1, {cmax}] (the stored channels), got {ins['channels']}")
        for name in ("a_zp", "b_zp", "in_zp", "out_zp"):
            _int8(ins, name)
        for name in ("a_mult", "b_mult", "mult"):
            if not 0 <= ins[name] < 2**31:
                raise _err(ins, f"{name} must be in [0, 2^31), got {ins[name]}")
        if not 0 <= ins["shift"] <= 62:
            raise _err(ins, f"shift must be in [0, 62], got {ins['shift']}")
        _clamp(ins)

    @staticmethod
    def check_wait(ins: Instr) -> None:
        if not ins["tokens"]:
            raise _err(ins, "must wait for at least one token")
        if any(t < 0 for t in ins["tokens"]):
            raise _err(ins, f"tokens must be >= 0, got {list(ins['tokens'])}")

    @staticmethod
    def check_host(ins: Instr) -> None:
        if ins["segment"] < 0:
            raise _err(ins, f"segment must be >= 0, got {ins['segment']}")
        for which in ("inputs", "outputs"):
            for i, b in enumerate(ins[which]):
                check_hostbuf(b, f"{ins.describe()} {which}[{i}]", ins.line)


def check_hostbuf(b: HostBuffer | IODecl, what: str, line: int = 0) -> None:
    """dtype i8: a valid quantization and a stored HWC shape that holds the logical shape (channels
    padded); dtype f32: stored == shape."""
    if b.dtype not in ("i8", "f32"):
        raise AsmError(f"{what}: dtype must be i8 or f32, got {b.dtype}", line)
    if not b.shape or min(b.shape) < 1:
        raise AsmError(f"{what}: shape must be non-empty and positive, got {list(b.shape)}", line)
    if b.dtype == "f32":
        if tuple(b.stored) != tuple(b.shape):
            raise AsmError(f"{what}: an f32 buffer is stored in its logical shape {list(b.shape)}, got "
                           f"stored {list(b.stored)}", line)
        return
    if not b.scale > 0 or not math.isfinite(b.scale):
        raise AsmError(f"{what}: scale must be > 0, got {b.scale}", line)
    if not INT8_MIN <= b.zp <= INT8_MAX:
        raise AsmError(f"{what}: zp must be in [-128, 127], got {b.zp}", line)
    cs = b.stored[-1] if b.stored else 0
    want = stored_shape(b.shape, cs)
    if tuple(b.stored) != want or cs < channels_of(b.shape):
        raise AsmError(f"{what}: stored shape must be {list(stored_shape(b.shape, channels_of(b.shape)))} "
                       f"(HWC, channels may be padded) for logical shape {list(b.shape)}, got {list(b.stored)}",
                       line)


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


def check_program(p: Program) -> None:
    """Whole-program checks: header, every instruction, data and I/O in range, token discipline,
    the batch (:func:`axc.runtime.multicore.check_batch`: every frame declares the same I/O in
    bytes of its own; cores share no written L2 / DDR bytes unless cross-core tokens order them).

    Tokens: a token id is signalled by at most one instruction of the program; a ``wait`` may only
    name a token signalled earlier in its own task list, or by another core's task list (the
    sequencer of a core is in order: waiting for a later signal of the same core deadlocks).
    """
    from .multicore import check_batch  # multicore builds on this module
    if p.cores < 1:
        raise AsmError(f"cores must be >= 1, got {p.cores}")
    if not 1 <= p.frequency <= 10**10:
        raise AsmError(f"frequency must be a positive number of Hz, got {p.frequency}")
    if p.instances < 1:
        raise AsmError(f"instances must be >= 1, got {p.instances}")
    if not 1 <= p.batch <= p.cores:
        raise AsmError(f"batch must be in [1, cores = {p.cores}] (one frame per core), got {p.batch}")
    for s in SPACES:
        if p.memory.get(s, -1) < 0:
            raise AsmError(f"memory size of {s} must be >= 0, got {p.memory.get(s)}")
    if sorted(p.task_lists) != list(range(p.cores)):
        raise AsmError(f"task lists must be for cores {list(range(p.cores))}, got {sorted(p.task_lists)}")
    spans: list[tuple[str, int, int, str, int]] = []
    for d in p.data:
        _check_mem(None, f".data \"{d.name}\"", d.at, d.size, p.memory, d.line)
        if d.offset < 0 or d.size < 0:
            raise AsmError(f".data \"{d.name}\": offset and size must be >= 0, got {d.offset}, {d.size}", d.line)
        spans.append((d.at.space, d.at.address, d.at.address + d.size, d.name, d.line))
    spans.sort()
    for (s0, _, e0, n0, _), (s1, b1, _, n1, l1) in zip(spans, spans[1:]):
        if s0 == s1 and b1 < e0:
            raise AsmError(f".data \"{n1}\" overlaps .data \"{n0}\" in {s0} (starts at 0x{b1:x}, "
                           f"expected >= 0x{e0:x})", l1)
    names: dict[tuple, IODecl] = {}
    for d in p.io:
        frame = f" of frame {d.frame}" if d.frame else ""
        if (d.frame, d.kind, d.name, d.dtype) in names:
            raise AsmError(f".{d.kind} \"{d.name}\" ({d.dtype}){frame} is declared twice", d.line)
        first = names.get((d.frame, d.kind, d.name))
        if first is not None and (first.shape != d.shape or d.kind == "output"):
            raise AsmError(f".{d.kind} \"{d.name}\"{frame} is declared twice (an input may have one i8 and one "
                           f"f32 buffer of the same shape)", d.line)
        names[(d.frame, d.kind, d.name)] = d
        names[(d.frame, d.kind, d.name, d.dtype)] = d
        check_hostbuf(d, f".{d.kind} \"{d.name}\"", d.line)
        _check_mem(None, f".{d.kind} \"{d.name}\"", d.at, d.nbytes, p.memory, d.line)
    where: dict[int, tuple[int, int]] = {}  # token -> (core, index in its task list)
    for core, lst in sorted(p.task_lists.items()):
        for i, ins in enumerate(lst):
            check_instr(ins, p.memory)
            if ins.signal is None:
                continue
            if ins.signal in where:
                c0, i0 = where[ins.signal]
                raise AsmError(f"{ins.describe()} signals token {ins.signal}, expected a fresh id: already "
                               f"signalled by {p.task_lists[c0][i0].describe()} (line {p.task_lists[c0][i0].line})",
                               ins.line)
            where[ins.signal] = (core, i)
    for core, lst in p.task_lists.items():
        for i, ins in enumerate(lst):
            if ins.op != "wait":
                continue
            for t in ins["tokens"]:
                w = where.get(t)
                if w is None:
                    raise AsmError(f"'wait' waits for token {t}, which no instruction signals", ins.line)
                if w[0] == core and w[1] > i:
                    raise AsmError(f"'wait' waits for token {t} before it is signalled: expected the "
                                   f"signal before line {ins.line or i}, found it at line "
                                   f"{lst[w[1]].line or w[1]}", ins.line)
    check_sync(p)
    check_batch(p)


def unit_of(ins: Instr) -> str:
    """The in-order unit (queue) of one core an instruction runs on."""
    if ins.op == "dma":
        return f"dma.{dma_engine(ins)}.ch{ins['channel']}"
    return ins.op


def _where(core: int, ins: Instr, pos: int) -> str:
    return f"line {ins.line}" if ins.line else f"instruction {pos} of core {core}"


def _conflict(ins: Instr, other: Instr) -> str:
    """``writes l1:0x100..0x140 that 'mvm' reads``: the first overlap of two instructions."""
    for a in accesses(ins):
        for b in accesses(other):
            if a.at.space == b.at.space and (a.write or b.write):
                lo, hi = max(a.at.address, b.at.address), min(a.at.address + a.size, b.at.address + b.size)
                if lo < hi:
                    verb = "writes" if a.write else "reads"
                    other_verb = "writes" if b.write else "reads"
                    return f"{verb} {a.at.space}:0x{lo:x}..0x{hi:x} that {other.describe()} {other_verb}"
    return f"conflicts with {other.describe()}"


def check_sync(p: Program) -> None:
    """Every pair of instructions of a core that touch the same bytes (one of them writing) must be
    ordered: the later one starts only after the earlier one ends.

    Ordering comes from the in-order units (an instruction starts after the previous one of its
    unit ends) and from waits (everything issued after a ``wait`` starts after the waited
    instructions end), transitively. Tracked per core (L1 is per core; cross-core accesses to
    DDR / L2 must be ordered by cross-core tokens and are not checked). The end of a task list is
    an implicit fence (the frame is over when every unit is idle). Raises :class:`AsmError` naming
    both instructions.
    """
    for core, lst in p.task_lists.items():
        seq: dict[str, int] = {}  # unit -> highest instruction number known complete at issue
        last_done: dict[str, dict[str, int]] = {}
        count: dict[str, int] = {}
        done_of: dict[int, dict[str, int]] = {}
        who: list[tuple[str, int, Instr, int]] = []
        tracker = RangeTracker()
        for pos, ins in enumerate(lst):
            if ins.op == "wait":
                for t in ins["tokens"]:
                    for u, n in done_of.get(t, {}).items():
                        seq[u] = max(seq.get(u, -1), n)
                continue
            u = unit_of(ins)
            n = count.get(u, 0)
            count[u] = n + 1
            start = dict(seq)
            for v, m in last_done.get(u, {}).items():
                start[v] = max(start.get(v, -1), m)
            reads, writes = [], []
            for a in accesses(ins):
                (writes if a.write else reads).append((a.at.space, a.at.address, a.at.address + a.size))
            for other in sorted(tracker.depend(len(who), reads, writes)):
                ou, on, oins, opos = who[other]
                if start.get(ou, -1) < on:
                    there, here = _where(core, oins, opos), _where(core, ins, pos)
                    raise AsmError(f"race: {ins.describe()} {_conflict(ins, oins)} ({there}) with nothing "
                                   f"ordering them: expected a wait for the token of {there} before {here}",
                                   ins.line)
            who.append((u, n, ins, pos))
            done = dict(start)
            done[u] = n
            last_done[u] = done
            if ins.signal is not None:
                done_of[ins.signal] = done


def pwords(channels: int) -> int:
    """PWORDs (64-byte vectors) needed for ``channels`` int8 lanes."""
    return -(-int(channels) // PWORD_BYTES)
