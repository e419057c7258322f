"""The ``aipu`` dialect: the AIPU instruction set with concrete byte addresses.

The instructions and their operands are those of :data:`axc.runtime.isa.ISA` (one table shared with
the assembly parser and the runtime, docs/isa.md): every instruction op is generated from it, keeps
its operands as properties, and is verified by :func:`axc.runtime.isa_checks.check_instr`. The structure:

* ``aipu.program`` (region: ``aipu.data``, ``aipu.io``, one ``aipu.task_list`` per core) with the
  header: ``cores``, ``frequency`` (Hz), ``instances`` (Batch-1 copies), ``batch`` (frames per
  execution, absent = 1: Batch-1; x: Batch-x, one frame per core), the memory sizes;
* ``aipu.data``: a constant blob (``dense<...>``) loaded at an address;
* ``aipu.io``: a model input / output buffer with its quantization (``frame = k``: the buffer of
  frame k of the batch, absent = 0);
* ``aipu.task_list``: the instructions of one core, in issue order;
* instructions ``aipu.dma``, ``aipu.mvm``, ``aipu.dwpu``, ``aipu.dpu``, ``aipu.wait`` and
  ``aipu.host`` (its region holds the ``onnx.*`` ops of the host segment on f32 tensors, block
  arguments = dequantized inputs, ``aipu.yield`` = values quantized into the outputs).

Syntax (shared by every op)::

    aipu.program cores = 1, frequency = 800000000, instances = 1, l1_size = 3670016, ... {
      aipu.data name = "conv1.w", at = ddr[0x0], value = dense<1> : tensor<8x1x3x3xi8>
      aipu.io kind = input, name = "x", at = l2[0x0], shape = [1, 1, 8, 8], stored = [8, 8, 64], scale = 0.5, zp = -3
      aipu.task_list core = 0 {
        aipu.dma from = ddr[0x0], to = l1[0x0], sizes = [72], signal = 0, src = "conv1"
        aipu.wait tokens = [0]
        aipu.mvm in = l1[0x100], in_shape = [8, 8, 64], ..., signal = 1, src = "conv1"
      }
    }

Operands are ``key = value`` separated by commas: addresses ``space[0xADDR]``, integers, integer
lists ``[a, b]``, floats, strings ``"..."``, bare words (``op = add``), host buffers
``{at = l2[0x0], shape = [...], stored = [...], scale = 0.5, zp = 0}``.

:func:`instr_of` / :func:`program_of` turn the IR into the runtime's :class:`~axc.runtime.isa.Program`
model; :func:`instr_op` builds an instruction op from Python values.
"""

from __future__ import annotations

import keyword
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
from xdsl.dialects.builtin import (
    ArrayAttr,
    DenseArrayBase,
    DenseIntOrFPElementsAttr,
    FloatAttr,
    IntAttr,
    IntegerAttr,
    StringAttr,
    TensorType,
    f64,
    i64,
)
from xdsl.ir import Attribute, Block, Dialect, Operation, ParametrizedAttribute, Region
from xdsl.irdl import (
    IRDLOperation,
    irdl_attr_definition,
    irdl_op_definition,
    opt_prop_def,
    region_def,
    traits_def,
    var_operand_def,
)
from xdsl.parser import AttrParser, Parser
from xdsl.printer import Printer
from xdsl.traits import HasParent, IsolatedFromAbove, IsTerminator, NoTerminator
from xdsl.utils.exceptions import VerifyException

from axc.runtime import isa, isa_checks
from axc.runtime.isa import AsmError, DataBlob, HostBuffer, Instr, IODecl, Mem, Program

# --------------------------------------------------------------------------------------------------
# attributes


def _parse_mem(parser: AttrParser) -> Mem:
    space = parser.parse_identifier(" (a memory space: ddr, l2 or l1)")
    parser.parse_punctuation("[")
    addr = parser.parse_integer(allow_boolean=False)
    parser.parse_punctuation("]")
    return Mem(space, addr)


def _mem_text(m: Mem) -> str:
    return f"{m.space}[0x{m.address:x}]"


@irdl_attr_definition
class MemAttr(ParametrizedAttribute):
    """A byte address in a memory space: ``#aipu.mem<l1[0x1000]>`` (``l1[0x1000]`` in op syntax)."""

    name = "aipu.mem"
    space: StringAttr
    address: IntAttr

    def __init__(self, space: str, address: int):
        super().__init__(StringAttr(space), IntAttr(address))

    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> list[Attribute]:
        with parser.in_angle_brackets():
            m = _parse_mem(parser)
        return [StringAttr(m.space), IntAttr(m.address)]

    def print_parameters(self, printer: Printer) -> None:
        printer.print_string(f"<{_mem_text(self.mem)}>")

    def verify(self) -> None:
        if self.space.data not in isa.SPACES:
            raise VerifyException(f"memory space must be one of {list(isa.SPACES)}, got '{self.space.data}'")
        if self.address.data < 0:
            raise VerifyException(f"address must be >= 0, got {self.address.data}")

    @property
    def mem(self) -> Mem:
        return Mem(self.space.data, self.address.data)


def _fmt_ints(v: Sequence[int]) -> str:
    return "[" + ", ".join(str(x) for x in v) + "]"


def _parse_ints(parser: AttrParser) -> tuple[int, ...]:
    return tuple(parser.parse_comma_separated_list(
        parser.Delimiter.SQUARE, lambda: parser.parse_integer(allow_boolean=False)))


_HOSTBUF_KEYS = ("at", "dtype", "shape", "stored", "scale", "zp")


def _parse_hostbuf_body(parser: AttrParser) -> HostBuffer:
    vals: dict[str, Any] = {}
    for i, key in enumerate(_HOSTBUF_KEYS):
        if i:
            parser.parse_punctuation(",")
        parser.parse_keyword(key)
        parser.parse_punctuation("=")
        if key == "at":
            vals[key] = _parse_mem(parser)
        elif key == "dtype":
            vals[key] = parser.parse_identifier()
        elif key in ("shape", "stored"):
            vals[key] = _parse_ints(parser)
        elif key == "scale":
            vals[key] = float(parser.parse_number())
        else:
            vals[key] = parser.parse_integer(allow_boolean=False)
    return HostBuffer(**vals)


def _hostbuf_text(b: HostBuffer) -> str:
    return (f"at = {_mem_text(b.at)}, dtype = {b.dtype}, shape = {_fmt_ints(b.shape)}, "
            f"stored = {_fmt_ints(b.stored)}, scale = {b.scale!r}, zp = {b.zp}")


@irdl_attr_definition
class HostBufferAttr(ParametrizedAttribute):
    """A buffer of a host segment: ``#aipu.host_buffer<at = l2[0x0], dtype = i8, shape = [1, 10],
    stored = [1, 1, 64], scale = 0.5, zp = 0>`` (see :class:`axc.runtime.isa.HostBuffer`)."""

    name = "aipu.host_buffer"
    at: MemAttr
    dtype: StringAttr
    shape: DenseArrayBase
    stored: DenseArrayBase
    scale: FloatAttr
    zp: IntAttr

    def __init__(self, b: HostBuffer):
        super().__init__(MemAttr(b.at.space, b.at.address), StringAttr(b.dtype),
                         DenseArrayBase.from_list(i64, list(b.shape)),
                         DenseArrayBase.from_list(i64, list(b.stored)), FloatAttr(b.scale, f64), IntAttr(b.zp))

    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> list[Attribute]:
        with parser.in_angle_brackets():
            b = _parse_hostbuf_body(parser)
        return list(HostBufferAttr(b).parameters)

    def print_parameters(self, printer: Printer) -> None:
        printer.print_string(f"<{_hostbuf_text(self.buffer)}>")

    @property
    def buffer(self) -> HostBuffer:
        return HostBuffer(self.at.mem, tuple(self.shape.get_values()), tuple(self.stored.get_values()),
                          float(self.scale.value.data), self.zp.data, self.dtype.data)


# --------------------------------------------------------------------------------------------------
# operand kinds <-> attributes

_ATTR_TYPES: dict[str, type[Attribute]] = {
    "mem": MemAttr, "int": IntegerAttr, "ints": DenseArrayBase, "float": FloatAttr, "str": StringAttr,
    "word": StringAttr, "hostbufs": ArrayAttr, "dense": DenseIntOrFPElementsAttr,
}


def to_attr(kind: str, v: Any) -> Attribute:
    """The property attribute holding a Python operand value of ``kind``."""
    if kind == "mem":
        return MemAttr(v.space, v.address)
    if kind == "int":
        return IntegerAttr(int(v), i64)
    if kind == "ints":
        return DenseArrayBase.from_list(i64, [int(x) for x in v])
    if kind == "float":
        return FloatAttr(float(v), f64)
    if kind in ("str", "word"):
        return StringAttr(str(v))
    if kind == "hostbufs":
        return ArrayAttr([HostBufferAttr(b) for b in v])
    if kind == "dense":
        return v
    raise ValueError(f"unknown operand kind {kind}")


def from_attr(kind: str, a: Attribute) -> Any:
    """The Python value of a property attribute (inverse of :func:`to_attr`)."""
    if kind == "mem":
        assert isinstance(a, MemAttr)
        return a.mem
    if kind == "int":
        assert isinstance(a, IntegerAttr)
        return int(a.value.data)
    if kind == "ints":
        assert isinstance(a, DenseArrayBase)
        return tuple(int(x) for x in a.get_values())
    if kind == "float":
        assert isinstance(a, FloatAttr)
        return float(a.value.data)
    if kind in ("str", "word"):
        assert isinstance(a, StringAttr)
        return a.data
    if kind == "hostbufs":
        assert isinstance(a, ArrayAttr)
        return tuple(b.buffer for b in a.data)  # type: ignore[attr-defined]
    return a


def _print_value(printer: Printer, kind: str, v: Any) -> None:
    if kind == "mem":
        printer.print_string(_mem_text(v))
    elif kind == "int":
        printer.print_string(str(v))
    elif kind == "ints":
        printer.print_string(_fmt_ints(v))
    elif kind == "float":
        printer.print_string(repr(float(v)))
    elif kind == "str":
        printer.print_string_literal(v)
    elif kind == "word":
        printer.print_string(v)
    elif kind == "hostbufs":
        printer.print_string("[" + ", ".join("{" + _hostbuf_text(b) + "}" for b in v) + "]")
    elif kind == "dense":
        printer.print_attribute(v)
    else:
        raise ValueError(kind)


def _parse_value(parser: Parser, kind: str) -> Any:
    if kind == "mem":
        return _parse_mem(parser)
    if kind == "int":
        return parser.parse_integer(allow_boolean=False)
    if kind == "ints":
        return _parse_ints(parser)
    if kind == "float":
        return float(parser.parse_number())
    if kind == "str":
        return parser.parse_str_literal()
    if kind == "word":
        return parser.parse_identifier()
    if kind == "hostbufs":
        def one() -> HostBuffer:
            parser.parse_punctuation("{")
            b = _parse_hostbuf_body(parser)
            parser.parse_punctuation("}")
            return b

        return tuple(parser.parse_comma_separated_list(parser.Delimiter.SQUARE, one))
    if kind == "dense":
        a = parser.parse_attribute()
        if not isinstance(a, DenseIntOrFPElementsAttr):
            parser.raise_error(f"expected a dense<...> attribute, got {a}")
        return a
    raise ValueError(kind)


def _field(name: str) -> str:
    """The Python field name of an operand (keywords and Operation members get a ``_`` suffix)."""
    if keyword.iskeyword(name) or hasattr(IRDLOperation, name) or name in ("name", "traits"):
        return name + "_"
    return name


# --------------------------------------------------------------------------------------------------
# the shared syntax


class AipuOp(IRDLOperation):
    """Base of every aipu op: ``aipu.<op> key = value, ... [region]`` driven by ``OPERANDS``."""

    #: operand name -> (kind, required)
    OPERANDS: ClassVar[dict[str, tuple[str, bool]]] = {}
    #: print the entry block arguments of the region (aipu.host)
    PRINT_BLOCK_ARGS: ClassVar[bool] = False

    def values(self) -> dict[str, Any]:
        """The present operands as Python values, in declaration order."""
        out = {}
        for key, (kind, _) in self.OPERANDS.items():
            a = self.properties.get(key)
            if a is not None:
                out[key] = from_attr(kind, a)
        return out

    @classmethod
    def from_values(cls, values: dict[str, Any], regions: Sequence[Region] = ()) -> AipuOp:
        props = {}
        for key, v in values.items():
            key = key.rstrip("_") if key.rstrip("_") in cls.OPERANDS else key
            if v is None:
                continue
            if key not in cls.OPERANDS:
                raise ValueError(f"'{cls.name}' has no operand '{key}', expected one of {list(cls.OPERANDS)}")
            props[key] = to_attr(cls.OPERANDS[key][0], v)
        return cls.create(properties=props, regions=list(regions))

    @classmethod
    def parse(cls, parser: Parser) -> AipuOp:
        values: dict[str, Any] = {}
        if cls.OPERANDS:
            while True:
                pos = parser.pos
                key = parser.parse_optional_identifier()
                if key is None:
                    break
                if key not in cls.OPERANDS:
                    parser.raise_error(f"'{cls.name}' has no operand '{key}', expected one of "
                                       f"{list(cls.OPERANDS)}", pos, parser.pos)
                if key in values:
                    parser.raise_error(f"'{cls.name}' operand '{key}' given twice", pos, parser.pos)
                parser.parse_punctuation("=")
                values[key] = _parse_value(parser, cls.OPERANDS[key][0])
                if parser.parse_optional_punctuation(",") is None:
                    break
        regions = []
        if cls.get_irdl_definition().regions:
            regions.append(cls._parse_body(parser))
        return cls.from_values(values, regions)

    @classmethod
    def _parse_body(cls, parser: Parser) -> Region:
        region = parser.parse_region()
        if not region.blocks:  # `{ }`: an empty task list / program still has its block
            region.add_block(Block())
        return region

    def print(self, printer: Printer) -> None:
        first = True
        for key, v in self.values().items():
            printer.print_string(" " if first else ", ")
            first = False
            printer.print_string(f"{key} = ")
            _print_value(printer, self.OPERANDS[key][0], v)
        for r in self.regions:
            printer.print_string(" ")
            printer.print_region(r, print_entry_block_args=self.PRINT_BLOCK_ARGS)

    def verify_(self) -> None:
        for key, (_, required) in self.OPERANDS.items():
            if required and key not in self.properties:
                raise VerifyException(f"'{self.name}' op needs operand '{key}'")


def _program_memory(op: Operation) -> dict[str, int]:
    p = op.parent_op()
    while p is not None and not isinstance(p, ProgramOp):
        p = p.parent_op()
    return p.memory() if isinstance(p, ProgramOp) else isa.default_memory()


class InstructionOp(AipuOp):
    """Base of the instruction ops (generated from :data:`axc.runtime.isa.ISA`)."""

    MNEMONIC: ClassVar[str] = ""

    def instr(self) -> Instr:
        return isa.make_instr(self.MNEMONIC, 0, **self.values())

    def verify_(self) -> None:
        super().verify_()
        ins = self.instr()
        try:
            isa_checks.check_instr(ins, _program_memory(self))
        except AsmError as e:
            raise VerifyException(f"'{self.name}' op {e.message.removeprefix(ins.describe()).strip()}") from None
        if self.MNEMONIC == "host":
            _verify_host_body(self, ins)


def _verify_host_body(op: InstructionOp, ins: Instr) -> None:
    block = op.regions[0].block
    ins_bufs, out_bufs = ins["inputs"], ins["outputs"]
    if len(block.args) != len(ins_bufs):
        raise VerifyException(f"'aipu.host' op body must have {len(ins_bufs)} arguments (one per input), "
                              f"got {len(block.args)}")
    for i, (arg, b) in enumerate(zip(block.args, ins_bufs, strict=True)):
        shape = tuple(arg.type.get_shape()) if isinstance(arg.type, TensorType) else None
        if shape != tuple(b.shape):
            raise VerifyException(f"'aipu.host' op argument {i} must be a tensor of shape {list(b.shape)}, "
                                  f"got {arg.type}")
    term = block.last_op
    if not isinstance(term, YieldOp):
        raise VerifyException("'aipu.host' op body must end with aipu.yield")
    if len(term.values) != len(out_bufs):
        raise VerifyException(f"'aipu.host' op must yield {len(out_bufs)} values (one per output), "
                              f"got {len(term.values)}")
    for i, (v, b) in enumerate(zip(term.values, out_bufs, strict=True)):
        shape = tuple(v.type.get_shape()) if isinstance(v.type, TensorType) else None
        if shape != tuple(b.shape):
            raise VerifyException(f"'aipu.host' op yielded value {i} must have shape {list(b.shape)}, "
                                  f"got {v.type}")


def _instruction_class(mnemonic: str) -> type[InstructionOp]:
    spec = isa.ISA[mnemonic]
    fields: dict[str, Any] = {
        "name": f"aipu.{mnemonic}",
        "MNEMONIC": mnemonic,
        "__module__": __name__,
        "__qualname__": f"{mnemonic.capitalize()}Op",
        "OPERANDS": {k: (o.kind, o.required) for k, o in spec.items()},
        "__annotations__": {"MNEMONIC": "ClassVar[str]", "OPERANDS": "ClassVar[dict[str, tuple[str, bool]]]",
                            "PRINT_BLOCK_ARGS": "ClassVar[bool]"},
        "__doc__": f"The ``{mnemonic}`` instruction (docs/isa.md). Operands: {', '.join(spec)}.",
        "traits": traits_def(HasParent(TaskListOp)) if mnemonic != "host" else
        traits_def(HasParent(TaskListOp), IsolatedFromAbove()),
    }
    for k, o in spec.items():
        fields[_field(k)] = opt_prop_def(_ATTR_TYPES[o.kind], prop_name=k)
    if mnemonic == "host":
        fields["body"] = region_def("single_block")
        fields["PRINT_BLOCK_ARGS"] = True
    return irdl_op_definition(type(f"{mnemonic.capitalize()}Op", (InstructionOp,), fields))


# --------------------------------------------------------------------------------------------------
# structure ops


@irdl_op_definition
class TaskListOp(AipuOp):
    """The instructions of one core, in issue order: ``aipu.task_list core = 0 { ... }``."""

    name = "aipu.task_list"
    OPERANDS: ClassVar[dict[str, tuple[str, bool]]] = {"core": ("int", True)}
    core = opt_prop_def(IntegerAttr)
    body = region_def("single_block")
    traits = traits_def(NoTerminator())

    @property
    def core_id(self) -> int:
        assert self.core is not None
        return self.core.value.data

    def verify_(self) -> None:
        super().verify_()
        for op in self.body.block.ops:
            if not isinstance(op, InstructionOp):
                raise VerifyException(f"'aipu.task_list' op may hold aipu instructions only, got '{op.name}'")


@irdl_op_definition
class DataOp(AipuOp):
    """A constant blob loaded at an address before the program runs."""

    name = "aipu.data"
    OPERANDS: ClassVar[dict[str, tuple[str, bool]]] = {"name": ("str", True), "at": ("mem", True),
                                                        "value": ("dense", True)}
    name_ = opt_prop_def(StringAttr, prop_name="name")
    at = opt_prop_def(MemAttr)
    value = opt_prop_def(DenseIntOrFPElementsAttr)

    def array(self) -> np.ndarray:
        from axc.lowering.onnx_importer import numpy_from_dense

        assert self.value is not None
        return numpy_from_dense(self.value)

    def verify_(self) -> None:
        super().verify_()
        et = self.value.get_element_type() if self.value is not None else None
        if str(et) not in ("i8", "i32"):
            raise VerifyException(f"'aipu.data' op value must be i8 or i32, got {et}")


@irdl_op_definition
class IoOp(AipuOp):
    """A model input / output: where its int8 tensor lives and its quantization."""

    name = "aipu.io"
    OPERANDS: ClassVar[dict[str, tuple[str, bool]]] = {
        "kind": ("word", True), "name": ("str", True), "frame": ("int", False), "at": ("mem", True),
        "dtype": ("word", True),
        "shape": ("ints", True), "stored": ("ints", True), "scale": ("float", True), "zp": ("int", True)}
    kind = opt_prop_def(StringAttr)
    name_ = opt_prop_def(StringAttr, prop_name="name")
    frame = opt_prop_def(IntegerAttr)
    at = opt_prop_def(MemAttr)
    dtype = opt_prop_def(StringAttr)
    shape = opt_prop_def(DenseArrayBase)
    stored = opt_prop_def(DenseArrayBase)
    scale = opt_prop_def(FloatAttr)
    zp = opt_prop_def(IntegerAttr)

    def decl(self) -> IODecl:
        v = self.values()
        return IODecl(kind=v["kind"], name=v["name"], at=v["at"], shape=v["shape"], stored=v["stored"],
                      scale=v["scale"], zp=v["zp"], dtype=v["dtype"], frame=v.get("frame", 0))

    def verify_(self) -> None:
        super().verify_()
        d = self.decl()
        if d.kind not in ("input", "output"):
            raise VerifyException(f"'aipu.io' op kind must be input or output, got {d.kind}")
        if d.frame < 0:
            raise VerifyException(f"'aipu.io' op frame must be >= 0, got {d.frame}")
        try:
            isa_checks.check_hostbuf(d, f"'aipu.io' op \"{d.name}\"")
        except AsmError as e:
            raise VerifyException(e.message) from None


@irdl_op_definition
class ProgramOp(AipuOp):
    """A whole AIPU program (see the module docstring)."""

    name = "aipu.program"
    OPERANDS: ClassVar[dict[str, tuple[str, bool]]] = {
        "cores": ("int", True), "frequency": ("int", True), "instances": ("int", False), "batch": ("int", False),
        "l1_size": ("int", False), "l2_size": ("int", False), "ddr_size": ("int", False)}
    cores = opt_prop_def(IntegerAttr)
    frequency = opt_prop_def(IntegerAttr)
    instances = opt_prop_def(IntegerAttr)
    batch = opt_prop_def(IntegerAttr)
    l1_size = opt_prop_def(IntegerAttr)
    l2_size = opt_prop_def(IntegerAttr)
    ddr_size = opt_prop_def(IntegerAttr)
    body = region_def("single_block")
    traits = traits_def(NoTerminator(), IsolatedFromAbove())

    def memory(self) -> dict[str, int]:
        d = isa.default_memory()
        v = self.values()
        return {s: int(v.get(f"{s}_size", d[s])) for s in ("l1", "l2", "ddr")}

    def verify_(self) -> None:
        super().verify_()
        cores: list[int] = []
        for op in self.body.block.ops:
            if not isinstance(op, (DataOp, IoOp, TaskListOp)):
                raise VerifyException(f"'aipu.program' op may hold aipu.data, aipu.io and aipu.task_list, "
                                      f"got '{op.name}'")
            if isinstance(op, TaskListOp):
                if op.core_id in cores:
                    raise VerifyException(f"'aipu.program' op has two task lists for core {op.core_id}")
                cores.append(op.core_id)
        try:
            isa_checks.check_program(program_of(self))
        except AsmError as e:
            raise VerifyException(f"'aipu.program' op {e.message}") from None


@irdl_op_definition
class YieldOp(IRDLOperation):
    """Ends a host segment: the f32 values quantized into the ``aipu.host`` outputs."""

    name = "aipu.yield"
    values = var_operand_def()
    traits = traits_def(IsTerminator())
    assembly_format = "($values^ `:` type($values))? attr-dict"


DmaOp = _instruction_class("dma")
MvmOp = _instruction_class("mvm")
DwpuOp = _instruction_class("dwpu")
DpuOp = _instruction_class("dpu")
WaitOp = _instruction_class("wait")
HostOp = _instruction_class("host")

INSTRUCTION_OPS: dict[str, type[InstructionOp]] = {
    "dma": DmaOp, "mvm": MvmOp, "dwpu": DwpuOp, "dpu": DpuOp, "wait": WaitOp, "host": HostOp,
}


# --------------------------------------------------------------------------------------------------
# builders and the runtime model


def instr_op(mnemonic: str, /, **operands: Any) -> InstructionOp:
    """An instruction op from Python operand values (``in_`` / ``from_`` for the Python keywords);
    ``None`` operands are left out. ``aipu.host`` gets an empty body (fill it with the segment)."""
    cls = INSTRUCTION_OPS[mnemonic]
    regions = [Region(Block())] if mnemonic == "host" else []
    return cls.from_values(operands, regions)  # type: ignore[return-value]


def instr_of(op: InstructionOp) -> Instr:
    """The runtime :class:`~axc.runtime.isa.Instr` of an instruction op."""
    return op.instr()


DATA_ALIGN = 64  # bytes: every .data blob starts at a multiple of this offset of the constants file


def data_layout(program: ProgramOp) -> list[tuple[DataOp, int]]:
    """(data op, offset in the constants file) for every ``aipu.data``, in program order."""
    out, off = [], 0
    for op in program.body.block.ops:
        if isinstance(op, DataOp):
            out.append((op, off))
            assert op.value is not None
            n = len(op.value.data.data)
            off += -(-n // DATA_ALIGN) * DATA_ALIGN
    return out


def constants_of(program: ProgramOp) -> bytes:
    """The constants file: every ``aipu.data`` value at its :func:`data_layout` offset."""
    parts = bytearray()
    for op, off in data_layout(program):
        assert op.value is not None
        parts.extend(b"\0" * (off - len(parts)))
        parts.extend(op.value.data.data)
    return bytes(parts)


def program_of(op: ProgramOp) -> Program:
    """The runtime :class:`~axc.runtime.isa.Program` of an ``aipu.program`` (what the assembly holds)."""
    v = op.values()
    p = Program(cores=v["cores"], frequency=v["frequency"], instances=v.get("instances", 1),
                batch=v.get("batch", 1), memory=op.memory())
    for d, off in data_layout(op):
        dv = d.values()
        value = dv["value"]
        et = str(value.get_element_type())
        p.data.append(DataBlob(name=dv["name"], at=dv["at"], offset=off, size=len(value.data.data), dtype=et,
                               shape=tuple(value.get_shape())))
    for child in op.body.block.ops:
        if isinstance(child, IoOp):
            p.io.append(child.decl())
        elif isinstance(child, TaskListOp):
            p.task_lists[child.core_id] = [i.instr() for i in child.body.block.ops if isinstance(i, InstructionOp)]
    return p


AIPU = Dialect(
    "aipu",
    [ProgramOp, TaskListOp, DataOp, IoOp, YieldOp, DmaOp, MvmOp, DwpuOp, DpuOp, WaitOp, HostOp],
    [MemAttr, HostBufferAttr],
)
