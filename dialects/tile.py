"""The ``tile`` dialect: the unrolled schedule of one frame on one core.

Every buffer is a builtin memref whose memory space is a string (``"ddr"``, ``"l2"``, ``"l1"``);
activations are HWC (``H x W x Cp``, Cp = PWORD-padded channels), weights [OCt, C/g, KH, KW] int8,
epilogue tables int32 [3, OCt] = (bias, multiplier, shift). ``tile-plan-memory`` gives every buffer
a byte ``offset`` in its space. Data moves with ``tile.dma`` (box copies); compute ops read and write
L1 buffers only. Every op that does work returns a ``!tile.token`` and waits for the tokens listed
after ``after``. See docs/architecture.md, "The tile level", for the contract.

Syntax::

    %x = tile.alloc {kind = "activation", name = "conv1"} : memref<28x28x64xi8, "l2">
    %w = tile.constant {name = "conv1/w0", value = dense<...> : tensor<64x3x3x3xi8>} : memref<64x3x3x3xi8, "ddr">
    %t0 = tile.dma %x, %a {src_offsets = array<i64: 0, 0, 0>, dst_offsets = array<i64: 0, 0, 0>,
                           sizes = array<i64: 10, 28, 64>} : memref<28x28x64xi8, "l2">, memref<10x28x64xi8, "l1">
    %t1 = tile.conv2d %a, %wl1, %tl1, %o [after %t0] {...} : memref<...>, memref<...>, memref<...>, memref<...>
    %t2 = tile.host ins(%o1 : memref<...>) outs(%o2 : memref<...>) [after %t1] {...} {
    ^bb0(%arg : tensor<1x10xf32>):
      %y = onnx.Softmax %arg ...
      tile.yield %y : tensor<1x10xf32>
    }
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.dialects.builtin import (
    ArrayAttr,
    DenseArrayBase,
    DenseIntOrFPElementsAttr,
    FloatAttr,
    IntegerAttr,
    IntegerType,
    MemRefType,
    StringAttr,
    TensorType,
    f32,
    f16,
    f64,
    i8,
    i32,
    i64,
)
from xdsl.ir import Attribute, Dialect, ParametrizedAttribute, SSAValue, TypeAttribute
from xdsl.irdl import (
    AttrSizedOperandSegments,
    IRDLOperation,
    ParsePropInAttrDict,
    irdl_attr_definition,
    irdl_op_definition,
    operand_def,
    opt_prop_def,
    prop_def,
    region_def,
    result_def,
    traits_def,
    var_operand_def,
)
from xdsl.parser import Parser, UnresolvedOperand
from xdsl.printer import Printer
from xdsl.traits import HasParent, IsTerminator
from xdsl.utils.exceptions import VerifyException

from axc.runtime.int_kernels import output_size

SPACES = ("ddr", "l2", "l1")
BUFFER_KINDS = ("input", "output", "activation", "scratch")
INT8_MIN, INT8_MAX = -128, 127


@irdl_attr_definition
class TokenType(ParametrizedAttribute, TypeAttribute):
    """``!tile.token``: completion of a DMA or compute op; later ops wait for it (``after``)."""

    name = "tile.token"


# ---------------------------------------------------------------------------------------------------
# helpers


def i64_attr(v: int) -> IntegerAttr:
    return IntegerAttr(int(v), i64)


def i64_array(values: Sequence[int]) -> DenseArrayBase:
    return DenseArrayBase.from_list(i64, [int(v) for v in values])


def f64_array(values: Sequence[float]) -> DenseArrayBase:
    return DenseArrayBase.from_list(f64, [float(v) for v in values])


def memref(shape: Sequence[int], element: Attribute, space: str) -> MemRefType:
    """``memref<shape x element, "space">``."""
    return MemRefType(element, [int(s) for s in shape], memory_space=StringAttr(space))


def space_of(t: Attribute | SSAValue) -> str:
    """The memory space string of a memref type or value ("" when it has none)."""
    if isinstance(t, SSAValue):
        t = t.type
    if isinstance(t, MemRefType) and isinstance(t.memory_space, StringAttr):
        return t.memory_space.data
    return ""


def element_bytes(t: Attribute) -> int:
    """Bytes per element of an integer (i1: one byte) / f16 / f32 / f64 memref, tensor or element type."""
    if isinstance(t, MemRefType | TensorType):
        t = t.element_type
    if isinstance(t, IntegerType):
        return max(1, t.width.data // 8)
    if t == f32:
        return 4
    if t == f64:
        return 8
    if t == f16:
        return 2
    raise VerifyException(f"unsupported element type {t}")


def buffer_bytes(t: Attribute) -> int:
    """Bytes of a statically shaped memref."""
    assert isinstance(t, MemRefType)
    n = element_bytes(t)
    for d in t.get_shape():
        n *= d
    return n


def layout_error(t: MemRefType, logical: Sequence[int]) -> str | None:
    """Why a buffer cannot hold a tensor of logical NCHW / (N, C) shape ``logical`` (None if it can):
    an i8 buffer holds one frame HWC with at least C channels; a buffer of any other element type
    (f32, i64, i1, ...: a host-side value) the logical tensor itself."""
    shape, logical = tuple(t.get_shape()), tuple(int(x) for x in logical)
    if t.element_type != i8:
        return None if shape == logical else f"an {t.element_type} buffer must have the logical shape {list(logical)}"
    if len(logical) == 4:
        h, w, c = logical[2], logical[3], logical[1]
    elif len(logical) == 2:
        h, w, c = 1, 1, logical[1]
    else:
        return f"logical shapes must be (1, C, H, W) or (1, C), got {list(logical)}"
    if logical[0] != 1 or len(shape) != 3 or shape[:2] != (h, w) or shape[2] < c:
        return f"an int8 buffer for {list(logical)} must be {h}x{w}x(>= {c})"
    return None


def _ints(a: Attribute | None, default: Sequence[int] = ()) -> tuple[int, ...]:
    if isinstance(a, DenseArrayBase):
        return tuple(int(x) for x in a.get_values())
    return tuple(default)


def _int(a: Attribute | None, default: int = 0) -> int:
    return int(a.value.data) if isinstance(a, IntegerAttr) else default


class TileOp(IRDLOperation):
    """Base of every tile op: the source-op name and shared checks."""

    @property
    def src_name(self) -> str:
        """The ONNX name of the source op (``src``), or the op name."""
        a = self.properties.get("src")
        return a.data if isinstance(a, StringAttr) else self.name

    def _err(self, msg: str) -> VerifyException:
        src = self.properties.get("src")
        where = f" (src \"{src.data}\")" if isinstance(src, StringAttr) else ""
        return VerifyException(f"'{self.name}' op{where} {msg}")

    def prop_ints(self, key: str, default: Sequence[int] = ()) -> tuple[int, ...]:
        return _ints(self.properties.get(key), default)

    def prop_int(self, key: str, default: int = 0) -> int:
        return _int(self.properties.get(key), default)

    def clamp_bounds(self) -> tuple[int, int]:
        c = self.prop_ints("clamp", (INT8_MIN, INT8_MAX))
        return int(c[0]), int(c[1])

    def _check_clamp(self) -> None:
        c = self.prop_ints("clamp", (INT8_MIN, INT8_MAX))
        if len(c) != 2 or not INT8_MIN <= c[0] <= c[1] <= INT8_MAX:
            raise self._err(f"clamp must be [lo, hi] with -128 <= lo <= hi <= 127, got {list(c)}")

    def _check_zp(self, *keys: str) -> None:
        for k in keys:
            v = self.prop_int(k)
            if not INT8_MIN <= v <= INT8_MAX:
                raise self._err(f"{k} must be in [-128, 127], got {v}")

    def _check_pairs(self, *keys: str) -> None:
        for k in keys:
            v = self.prop_ints(k, (1, 1))
            if len(v) != 2 or min(v) < 1:
                raise self._err(f"{k} must be 2 values >= 1, got {list(v)}")

    def _check_pads(self) -> tuple[int, int, int, int]:
        p = self.prop_ints("pads", (0, 0, 0, 0))
        if len(p) != 4 or min(p) < 0:
            raise self._err(f"pads must be 4 non-negative values [t, l, b, r], got {list(p)}")
        return p  # type: ignore[return-value]

    def _check_unary_io(self) -> tuple[MemRefType, MemRefType]:
        """An element-wise op of one L1 ``input`` into one L1 ``output``: same H x W, and
        ``channels = [C]`` within both buffers. Returns their types."""
        it = self._check_l1_act(self.input, "input")  # type: ignore[attr-defined]
        ot = self._check_l1_act(self.output, "output")  # type: ignore[attr-defined]
        _check_same_hw(self, it, ot, "input", "output")
        self._check_channels(1, [(min(it.get_shape()[2], ot.get_shape()[2]), "input/output")])
        return it, ot

    def _check_l1_act(self, v: SSAValue, what: str) -> MemRefType:
        t = v.type
        if not isinstance(t, MemRefType) or space_of(t) != "l1":
            raise self._err(f"{what} must be a memref in \"l1\", got {t}")
        if len(t.get_shape()) != 3 or t.element_type != i8:
            raise self._err(f"{what} must be an HWC memref of i8 (rank 3), got {t}")
        return t

    def _check_channels(self, count: int, limits: Sequence[tuple[int, str]]) -> tuple[int, ...]:
        ch = self.prop_ints("channels")
        if len(ch) != count or min(ch) < 1:
            raise self._err(f"channels must be {count} positive value(s), got {list(ch)}")
        for c, (limit, what) in zip(ch, limits, strict=True):
            if c > limit:
                raise self._err(f"channels {c} exceed the {limit} channels of the {what} buffer")
        return ch


class AsyncTileOp(TileOp):
    """A tile op on buffers that waits for tokens and returns one.

    Syntax: ``%t = tile.NAME %buf0, %buf1, ... [after %t0, %t1] {props} : type0, type1, ...``.
    Subclasses declare their memref operands first and ``deps = var_operand_def(TokenType)`` last.
    """

    def buffers(self) -> tuple[SSAValue, ...]:
        return tuple(self.operands[: len(self.operands) - len(self.deps)])  # type: ignore[attr-defined]

    @classmethod
    def parse(cls, parser: Parser) -> AsyncTileOp:
        bufs: list[UnresolvedOperand] = [parser.parse_unresolved_operand()]
        while parser.parse_optional_punctuation(","):
            bufs.append(parser.parse_unresolved_operand())
        deps: list[UnresolvedOperand] = []
        if parser.parse_optional_punctuation("["):
            parser.parse_keyword("after")
            deps = parser.parse_comma_separated_list(parser.Delimiter.NONE, parser.parse_unresolved_operand)
            parser.parse_punctuation("]")
        attrs = parser.parse_optional_attr_dict()
        parser.parse_punctuation(":")
        pos = parser.pos
        types = parser.parse_comma_separated_list(parser.Delimiter.NONE, parser.parse_type)
        if len(types) != len(bufs):
            parser.raise_error(f"'{cls.name}' expected {len(bufs)} types, got {len(types)}", pos, parser.pos)
        values = [parser.resolve_operand(o, t) for o, t in zip(bufs, types, strict=True)]
        tokens = [parser.resolve_operand(o, TokenType()) for o in deps]
        prop_names = set(cls.get_irdl_definition().properties)
        props = {k: v for k, v in attrs.items() if k in prop_names}
        rest = {k: v for k, v in attrs.items() if k not in prop_names}
        n_single = len(cls.get_irdl_definition().operands) - 1
        if len(values) != n_single:
            parser.raise_error(f"'{cls.name}' expected {n_single} buffer operands, got {len(values)}", pos)
        return cls.build(
            operands=[*values, tokens], result_types=[TokenType()], properties=props, attributes=rest
        )

    def print(self, printer: Printer) -> None:
        bufs = self.buffers()
        printer.print_string(" ")
        printer.print_list(bufs, printer.print_operand)
        deps = self.deps  # type: ignore[attr-defined]
        if deps:
            printer.print_string(" [after ")
            printer.print_list(deps, printer.print_operand)
            printer.print_string("]")
        merged = {**self.properties, **self.attributes}
        if merged:
            printer.print_string(" ")
            printer.print_attr_dict(merged)
        printer.print_string(" : ")
        printer.print_list([b.type for b in bufs], printer.print_attribute)


_SRC = opt_prop_def(StringAttr, prop_name="src")


# ---------------------------------------------------------------------------------------------------
# buffers


@irdl_op_definition
class AllocOp(TileOp):
    """A buffer in a memory space: graph ``input`` / ``output`` (the io pool), ``activation`` (the
    workspace pool) or ``scratch`` (L1 buffers of one tile). ``offset`` (bytes from the start of the
    space's budget) is set by ``tile-plan-memory``. I/O buffers record ``shape`` (the logical NCHW
    shape) and, for int8 buffers, the ``scale`` / ``zero_point`` to (de)quantize with on the host."""

    name = "tile.alloc"
    kind = prop_def(StringAttr)
    buffer_name = prop_def(StringAttr, prop_name="name")
    offset = opt_prop_def(IntegerAttr)
    scale = opt_prop_def(FloatAttr)
    zero_point = opt_prop_def(IntegerAttr)
    shape = opt_prop_def(DenseArrayBase)
    src = _SRC
    result = result_def(MemRefType)
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "attr-dict `:` type($result)"

    def __init__(
        self,
        kind: str,
        name: str,
        type: MemRefType,
        *,
        offset: int | None = None,
        scale: float | None = None,
        zero_point: int | None = None,
        shape: Sequence[int] | None = None,
        src: str | None = None,
    ):
        props: dict[str, Attribute] = {"kind": StringAttr(kind), "name": StringAttr(name)}
        if offset is not None:
            props["offset"] = i64_attr(offset)
        if scale is not None:
            props["scale"] = FloatAttr(float(scale), f64)
        if zero_point is not None:
            props["zero_point"] = i64_attr(zero_point)
        if shape is not None:
            props["shape"] = i64_array(shape)
        if src is not None:
            props["src"] = StringAttr(src)
        super().__init__(properties=props, result_types=[type])

    @property
    def space(self) -> str:
        return space_of(self.result)

    def verify_(self) -> None:
        t = self.result.type
        assert isinstance(t, MemRefType)
        if self.kind.data not in BUFFER_KINDS:
            raise self._err(f"kind must be one of {', '.join(BUFFER_KINDS)}, got \"{self.kind.data}\"")
        if space_of(t) not in SPACES:
            raise self._err(f"memory space must be one of \"ddr\", \"l2\", \"l1\", got {t.memory_space}")
        if any(d < 1 for d in t.get_shape()):
            raise self._err(f"buffer shape must be static and positive, got {t}")
        if self.offset is not None and self.offset.value.data < 0:
            raise self._err(f"offset must be non-negative, got {self.offset.value.data}")
        if self.kind.data == "scratch" and space_of(t) != "l1":
            raise self._err(f"scratch buffers must be in \"l1\", got \"{space_of(t)}\"")
        if self.kind.data != "scratch" and space_of(t) == "l1":
            raise self._err(f"{self.kind.data} buffers must be in \"ddr\" or \"l2\", got \"l1\"")
        if self.kind.data in ("input", "output"):
            if self.shape is None:
                raise self._err(f"{self.kind.data} buffer needs its logical NCHW shape")
            if t.element_type == i8 and (self.scale is None or self.zero_point is None):
                raise self._err(f"int8 {self.kind.data} buffer needs scale and zero_point")
            bad = layout_error(t, self.shape.get_values())
            if bad:
                raise self._err(f"{bad}, got {t}")
        if self.scale is not None and not self.scale.value.data > 0:
            raise self._err(f"scale must be > 0, got {self.scale.value.data}")
        if self.zero_point is not None:
            self._check_zp("zero_point")


@irdl_op_definition
class ConstantOp(TileOp):
    """A constant buffer in the constant pool: int8 weights [OCt, C/g, KH, KW] or an int32 epilogue
    table [3, OCt] (bias, multiplier, shift)."""

    name = "tile.constant"
    value = prop_def(DenseIntOrFPElementsAttr)
    buffer_name = prop_def(StringAttr, prop_name="name")
    offset = opt_prop_def(IntegerAttr)
    src = _SRC
    result = result_def(MemRefType)
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "attr-dict `:` type($result)"

    def __init__(self, value: DenseIntOrFPElementsAttr, name: str, space: str, *, src: str | None = None,
                 offset: int | None = None):
        props: dict[str, Attribute] = {"name": StringAttr(name)}
        if src is not None:
            props["src"] = StringAttr(src)
        if offset is not None:
            props["offset"] = i64_attr(offset)
        props["value"] = value  # last: the long part of the printed op
        t = memref(value.get_shape(), value.get_element_type(), space)
        super().__init__(properties=props, result_types=[t])

    @property
    def space(self) -> str:
        return space_of(self.result)

    def verify_(self) -> None:
        t = self.result.type
        assert isinstance(t, MemRefType)
        if space_of(t) not in ("ddr", "l2"):
            raise self._err(f"constants must be in \"ddr\" or \"l2\", got {t.memory_space}")
        if tuple(self.value.get_shape()) != tuple(t.get_shape()):
            raise self._err(
                f"value shape {list(self.value.get_shape())} does not match buffer shape {list(t.get_shape())}"
            )
        if self.value.get_element_type() != t.element_type:
            raise self._err(
                f"value element type {self.value.get_element_type()} does not match buffer element type {t.element_type}"
            )
        if self.offset is not None and self.offset.value.data < 0:
            raise self._err(f"offset must be non-negative, got {self.offset.value.data}")


# ---------------------------------------------------------------------------------------------------
# data movement


@irdl_op_definition
class DmaOp(AsyncTileOp):
    """Box copy: ``dst[dst_offsets + i] = src[src_offsets + i]`` for every index ``i < sizes`` of the
    (equal-rank, same element type) memrefs."""

    name = "tile.dma"
    source = operand_def(MemRefType)
    dest = operand_def(MemRefType)
    deps = var_operand_def(TokenType)
    src_offsets = prop_def(DenseArrayBase)
    dst_offsets = prop_def(DenseArrayBase)
    sizes = prop_def(DenseArrayBase)
    src = _SRC
    token = result_def(TokenType)

    def __init__(self, source: SSAValue, dest: SSAValue, src_offsets: Sequence[int], dst_offsets: Sequence[int],
                 sizes: Sequence[int], deps: Sequence[SSAValue] = (), src: str | None = None):
        props: dict[str, Attribute] = {
            "src_offsets": i64_array(src_offsets),
            "dst_offsets": i64_array(dst_offsets),
            "sizes": i64_array(sizes),
        }
        if src is not None:
            props["src"] = StringAttr(src)
        super().__init__(operands=[source, dest, list(deps)], result_types=[TokenType()], properties=props)

    def verify_(self) -> None:
        st, dt = self.source.type, self.dest.type
        assert isinstance(st, MemRefType) and isinstance(dt, MemRefType)
        if st.element_type != dt.element_type:
            raise self._err(f"source and destination element types must match, got {st.element_type} and {dt.element_type}")
        rank = len(st.get_shape())
        if len(dt.get_shape()) != rank:
            raise self._err(f"source and destination must have the same rank, got {rank} and {len(dt.get_shape())}")
        so, do, sz = self.prop_ints("src_offsets"), self.prop_ints("dst_offsets"), self.prop_ints("sizes")
        for what, v in (("src_offsets", so), ("dst_offsets", do), ("sizes", sz)):
            if len(v) != rank:
                raise self._err(f"{what} must have {rank} values (the rank), got {len(v)}")
        if min(so) < 0 or min(do) < 0:
            raise self._err(f"offsets must be non-negative, got src_offsets {list(so)} and dst_offsets {list(do)}")
        if min(sz) < 1:
            raise self._err(f"sizes must be positive, got {list(sz)}")
        for what, off, shape in (("source", so, st.get_shape()), ("destination", do, dt.get_shape())):
            if any(o + s > d for o, s, d in zip(off, sz, shape, strict=True)):
                raise self._err(
                    f"box at offsets {list(off)} with sizes {list(sz)} exceeds the {what} shape {list(shape)}"
                )

    @property
    def bytes(self) -> int:
        n = element_bytes(self.source.type)
        for s in self.prop_ints("sizes"):
            n *= s
        return n


# ---------------------------------------------------------------------------------------------------
# compute on L1 tiles


@irdl_op_definition
class Conv2dOp(AsyncTileOp):
    """MVM convolution of one tile with its DPU epilogue (depthwise, group == C, runs on the DWPU).

    ``out[:, :, :OC] = clamp(requantize(conv(in[:, :, :C] - in_zp, w) + bias, mult, shift) + out_zp)``
    with ``(bias, mult, shift) = table[0..2]`` per output channel; ``channels = [C, OC]``. ``pads`` pad
    this tile with ``in_zp`` (nonzero only at image borders): the input buffer holds the rows the
    tile needs, halo included.
    """

    name = "tile.conv2d"
    input = operand_def(MemRefType)
    weight = operand_def(MemRefType)
    table = operand_def(MemRefType)
    output = operand_def(MemRefType)
    deps = var_operand_def(TokenType)
    strides = prop_def(DenseArrayBase)
    dilations = prop_def(DenseArrayBase)
    pads = prop_def(DenseArrayBase)
    group = prop_def(IntegerAttr)
    in_zp = prop_def(IntegerAttr)
    out_zp = prop_def(IntegerAttr)
    clamp = prop_def(DenseArrayBase)
    channels = prop_def(DenseArrayBase)
    src = _SRC
    token = result_def(TokenType)

    def verify_(self) -> None:
        it = self._check_l1_act(self.input, "input")
        ot = self._check_l1_act(self.output, "output")
        wt, tt = self.weight.type, self.table.type
        for v, what in ((self.weight, "weight"), (self.table, "table")):
            if space_of(v) != "l1":
                raise self._err(f"{what} must be a memref in \"l1\", got {v.type}")
        assert isinstance(wt, MemRefType) and isinstance(tt, MemRefType)
        c, oc = self._check_channels(2, [(it.get_shape()[2], "input"), (ot.get_shape()[2], "output")])
        g = self.prop_int("group", 1)
        if g < 1 or c % g or oc % g:
            raise self._err(f"group must divide the input channels {c} and output channels {oc}, got {g}")
        ws = tuple(wt.get_shape())
        if wt.element_type != i8 or len(ws) != 4 or ws[0] != oc or ws[1] * g != c:
            raise self._err(f"weight must be memref<{oc}x{c // g}xKHxKWxi8>, got {wt}")
        if tt.element_type != i32 or tuple(tt.get_shape()) != (3, oc):
            raise self._err(f"table must be memref<3x{oc}xi32> (bias, multiplier, shift), got {tt}")
        self._check_pairs("strides", "dilations")
        pt, pl, pb, pr = self._check_pads()
        self._check_zp("in_zp", "out_zp")
        self._check_clamp()
        (sh, sw), (dh, dw) = self.prop_ints("strides"), self.prop_ints("dilations")
        h, w = it.get_shape()[0], it.get_shape()[1]
        try:
            ho = output_size(h, ws[2], sh, pt, pb, dh)
            wo = output_size(w, ws[3], sw, pl, pr, dw)
        except ValueError as e:
            raise self._err(f"window does not fit the input tile {h}x{w}: {e}") from None
        if (ho, wo) != tuple(ot.get_shape()[:2]):
            raise self._err(f"output tile must be {ho}x{wo} for a {h}x{w} input tile, got {ot.get_shape()[0]}x{ot.get_shape()[1]}")


class _PoolBase(AsyncTileOp):
    def _verify_pool(self, dilated: bool) -> None:
        it = self._check_l1_act(self.input, "input")  # type: ignore[attr-defined]
        ot = self._check_l1_act(self.output, "output")  # type: ignore[attr-defined]
        self._check_channels(1, [(min(it.get_shape()[2], ot.get_shape()[2]), "input/output")])
        k = self.prop_ints("kernel")
        if len(k) != 2 or min(k) < 1:
            raise self._err(f"kernel must be 2 values >= 1, got {list(k)}")
        self._check_pairs("strides", *(("dilations",) if dilated else ()))
        pt, pl, pb, pr = self._check_pads()
        (sh, sw), (dh, dw) = self.prop_ints("strides", (1, 1)), self.prop_ints("dilations", (1, 1))
        ceil = bool(self.prop_int("ceil_mode"))
        h, w = it.get_shape()[0], it.get_shape()[1]
        try:
            ho = output_size(h, k[0], sh, pt, pb, dh, ceil)
            wo = output_size(w, k[1], sw, pl, pr, dw, ceil)
        except ValueError as e:
            raise self._err(f"window does not fit the input tile {h}x{w}: {e}") from None
        if (ho, wo) != tuple(ot.get_shape()[:2]):
            raise self._err(f"output tile must be {ho}x{wo} for a {h}x{w} input tile, got {ot.get_shape()[0]}x{ot.get_shape()[1]}")


@irdl_op_definition
class MaxPoolOp(_PoolBase):
    """Max pooling of one tile (DWPU); padding never wins. ``channels = [C]``."""

    name = "tile.max_pool"
    input = operand_def(MemRefType)
    output = operand_def(MemRefType)
    deps = var_operand_def(TokenType)
    kernel = prop_def(DenseArrayBase)
    strides = prop_def(DenseArrayBase)
    pads = prop_def(DenseArrayBase)
    dilations = opt_prop_def(DenseArrayBase)
    ceil_mode = opt_prop_def(IntegerAttr)
    channels = prop_def(DenseArrayBase)
    src = _SRC
    token = result_def(TokenType)

    def verify_(self) -> None:
        self._verify_pool(dilated=True)


@irdl_op_definition
class AvgPoolOp(_PoolBase):
    """Average pooling of one tile (DWPU): ``requantize(sum(x - in_zp), multipliers[count], shift) +
    out_zp`` clamped, with ``count`` the window size per ``count_include_pad`` / ``ceil_mode`` on
    this tile's ``pads``; ``dilations`` (default [1, 1]) space the window taps. ``channels = [C]``."""

    name = "tile.avg_pool"
    input = operand_def(MemRefType)
    output = operand_def(MemRefType)
    deps = var_operand_def(TokenType)
    kernel = prop_def(DenseArrayBase)
    strides = prop_def(DenseArrayBase)
    pads = prop_def(DenseArrayBase)
    dilations = opt_prop_def(DenseArrayBase)
    ceil_mode = opt_prop_def(IntegerAttr)
    count_include_pad = opt_prop_def(IntegerAttr)
    in_zp = prop_def(IntegerAttr)
    out_zp = prop_def(IntegerAttr)
    multipliers = prop_def(DenseArrayBase)
    shift = prop_def(IntegerAttr)
    clamp = prop_def(DenseArrayBase)
    channels = prop_def(DenseArrayBase)
    src = _SRC
    token = result_def(TokenType)

    def verify_(self) -> None:
        self._verify_pool(dilated=True)
        self._check_zp("in_zp", "out_zp")
        self._check_clamp()
        k = self.prop_ints("kernel")
        m = self.prop_ints("multipliers")
        if len(m) != k[0] * k[1] + 1:
            raise self._err(f"multipliers must have kernel size + 1 = {k[0] * k[1] + 1} entries, got {len(m)}")
        if not 0 <= self.prop_int("shift") <= 62:
            raise self._err(f"shift must be in [0, 62], got {self.prop_int('shift')}")


def _check_same_hw(op: TileOp, a: MemRefType, b: MemRefType, wa: str, wb: str) -> None:
    if tuple(a.get_shape()[:2]) != tuple(b.get_shape()[:2]):
        raise op._err(f"{wa} and {wb} tiles must have the same H x W, got {list(a.get_shape()[:2])} and {list(b.get_shape()[:2])}")


@irdl_op_definition
class AddOp(AsyncTileOp):
    """Elementwise add with rescale (DPU): ``((a - a_zp) * a_mult + (b - b_zp) * b_mult) >> shift``
    rounded, ``+ out_zp``, clamped. ``channels = [C]``."""

    name = "tile.add"
    lhs = operand_def(MemRefType)
    rhs = operand_def(MemRefType)
    output = operand_def(MemRefType)
    deps = var_operand_def(TokenType)
    a_zp = prop_def(IntegerAttr)
    a_mult = prop_def(IntegerAttr)
    b_zp = prop_def(IntegerAttr)
    b_mult = prop_def(IntegerAttr)
    shift = prop_def(IntegerAttr)
    out_zp = prop_def(IntegerAttr)
    clamp = prop_def(DenseArrayBase)
    channels = prop_def(DenseArrayBase)
    src = _SRC
    token = result_def(TokenType)

    def verify_(self) -> None:
        at = self._check_l1_act(self.lhs, "lhs")
        bt = self._check_l1_act(self.rhs, "rhs")
        ot = self._check_l1_act(self.output, "output")
        _check_same_hw(self, at, ot, "lhs", "output")
        _check_same_hw(self, bt, ot, "rhs", "output")
        self._check_channels(1, [(min(at.get_shape()[2], bt.get_shape()[2], ot.get_shape()[2]), "lhs/rhs/output")])
        self._check_zp("a_zp", "b_zp", "out_zp")
        self._check_clamp()
        for k in ("a_mult", "b_mult"):
            if not 0 <= self.prop_int(k) < 2**31:
                raise self._err(f"{k} must be in [0, 2^31), got {self.prop_int(k)}")
        if not 0 <= self.prop_int("shift") <= 62:
            raise self._err(f"shift must be in [0, 62], got {self.prop_int('shift')}")


@irdl_op_definition
class MulOp(AsyncTileOp):
    """Elementwise product with rescale (DPU): ``(((a - a_zp) * (b - b_zp) * mult + 2^(shift-1)) >> shift)
    + out_zp``, clamped (``int_kernels.mul``). ``rhs`` has the H x W of the output or is 1 x 1 (a
    per-channel vector broadcast over H x W). ``channels = [C]``."""

    name = "tile.mul"
    lhs = operand_def(MemRefType)
    rhs = operand_def(MemRefType)
    output = operand_def(MemRefType)
    deps = var_operand_def(TokenType)
    a_zp = prop_def(IntegerAttr)
    b_zp = prop_def(IntegerAttr)
    mult = prop_def(IntegerAttr)
    shift = prop_def(IntegerAttr)
    out_zp = prop_def(IntegerAttr)
    clamp = prop_def(DenseArrayBase)
    channels = prop_def(DenseArrayBase)
    src = _SRC
    token = result_def(TokenType)

    def verify_(self) -> None:
        at = self._check_l1_act(self.lhs, "lhs")
        bt = self._check_l1_act(self.rhs, "rhs")
        ot = self._check_l1_act(self.output, "output")
        _check_same_hw(self, at, ot, "lhs", "output")
        if tuple(bt.get_shape()[:2]) != (1, 1):
            _check_same_hw(self, bt, ot, "rhs", "output")
        self._check_channels(1, [(min(at.get_shape()[2], bt.get_shape()[2], ot.get_shape()[2]), "lhs/rhs/output")])
        self._check_zp("a_zp", "b_zp", "out_zp")
        self._check_clamp()
        if not 0 <= self.prop_int("mult") < 2**31:
            raise self._err(f"mult must be in [0, 2^31), got {self.prop_int('mult')}")
        if not 0 <= self.prop_int("shift") <= 62:
            raise self._err(f"shift must be in [0, 62], got {self.prop_int('shift')}")


@irdl_op_definition
class RequantizeOp(AsyncTileOp):
    """Rescale (DPU): ``clamp(requantize(x - in_zp, mult, shift) + out_zp)``. ``channels = [C]``."""

    name = "tile.requantize"
    input = operand_def(MemRefType)
    output = operand_def(MemRefType)
    deps = var_operand_def(TokenType)
    in_zp = prop_def(IntegerAttr)
    mult = prop_def(IntegerAttr)
    shift = prop_def(IntegerAttr)
    out_zp = prop_def(IntegerAttr)
    clamp = prop_def(DenseArrayBase)
    channels = prop_def(DenseArrayBase)
    src = _SRC
    token = result_def(TokenType)

    def verify_(self) -> None:
        self._check_unary_io()
        self._check_zp("in_zp", "out_zp")
        self._check_clamp()
        if not 0 <= self.prop_int("mult") < 2**31:
            raise self._err(f"mult must be in [0, 2^31), got {self.prop_int('mult')}")
        if not 0 <= self.prop_int("shift") <= 62:
            raise self._err(f"shift must be in [0, 62], got {self.prop_int('shift')}")


@irdl_op_definition
class ClampOp(AsyncTileOp):
    """Clamp to ``[lo, hi]`` (DPU). ``channels = [C]``."""

    name = "tile.clamp"
    input = operand_def(MemRefType)
    output = operand_def(MemRefType)
    deps = var_operand_def(TokenType)
    clamp = prop_def(DenseArrayBase)
    channels = prop_def(DenseArrayBase)
    src = _SRC
    token = result_def(TokenType)

    def verify_(self) -> None:
        self._check_unary_io()
        self._check_clamp()


@irdl_op_definition
class LutOp(AsyncTileOp):
    """Table lookup (DPU): ``out = table[x + 128]`` on the real channels. ``table`` is the L1 copy
    of a 256-byte int8 constant (entry ``k`` is the result for input ``k - 128``). ``channels = [C]``."""

    name = "tile.lut"
    input = operand_def(MemRefType)
    table = operand_def(MemRefType)
    output = operand_def(MemRefType)
    deps = var_operand_def(TokenType)
    channels = prop_def(DenseArrayBase)
    src = _SRC
    token = result_def(TokenType)

    def verify_(self) -> None:
        self._check_unary_io()
        tt = self.table.type
        if not isinstance(tt, MemRefType) or space_of(tt) != "l1" or tt.element_type != i8 \
                or tuple(tt.get_shape()) != (256,):
            raise self._err(f"table must be memref<256xi8, \"l1\">, got {tt}")


# ---------------------------------------------------------------------------------------------------
# host segments


@irdl_op_definition
class HostOp(TileOp):
    """A host segment: onnx float ops run on the host between AIPU ops.

    Operands: the input buffers, then the output buffers (``ddr`` / ``l2``), then the tokens to wait
    for. ``scales`` / ``zero_points`` / ``shapes`` give, per buffer (inputs then outputs), the
    quantization and the logical NCHW shape. An int8 buffer holds HWC data (PWORD-padded channels)
    and is dequantized into / quantized from the logical f32 tensor; an f32 buffer holds the logical
    tensor itself (NCHW order, no padding; used for graph inputs / outputs that are float) and its
    scale / zero point are ignored. The region's block arguments are the f32 inputs; ``tile.yield``
    gives the f32 outputs.
    """

    name = "tile.host"
    inputs = var_operand_def(MemRefType)
    outputs = var_operand_def(MemRefType)
    deps = var_operand_def(TokenType)
    scales = prop_def(DenseArrayBase)
    zero_points = prop_def(DenseArrayBase)
    shapes = prop_def(ArrayAttr[DenseArrayBase])
    src = _SRC
    body = region_def("single_block")
    token = result_def(TokenType)
    irdl_options = (AttrSizedOperandSegments(as_property=True), ParsePropInAttrDict())
    assembly_format = (
        "`ins` `(` $inputs `:` type($inputs) `)` `outs` `(` $outputs `:` type($outputs) `)`"
        " (`[` `after` $deps^ `]`)? attr-dict-with-keyword $body"
    )

    def buffers(self) -> tuple[SSAValue, ...]:
        return (*self.inputs, *self.outputs)

    def buffer_params(self) -> list[tuple[float, int, tuple[int, ...]]]:
        """(scale, zero point, logical shape) per buffer, inputs then outputs."""
        scales = self.scales.get_values()
        zps = self.zero_points.get_values()
        shapes = [tuple(int(x) for x in s.get_values()) for s in self.shapes.data]
        return [(float(s), int(z), sh) for s, z, sh in zip(scales, zps, shapes, strict=True)]

    def verify_(self) -> None:
        n = len(self.inputs) + len(self.outputs)
        for what, k in (("scales", self.scales), ("zero_points", self.zero_points)):
            if len(k.get_values()) != n:
                raise self._err(f"{what} must have one value per buffer ({n}), got {len(k.get_values())}")
        if len(self.shapes.data) != n:
            raise self._err(f"shapes must have one shape per buffer ({n}), got {len(self.shapes.data)}")
        shapes = [tuple(int(x) for x in s.get_values()) for s in self.shapes.data]
        for i, v in enumerate(self.buffers()):
            if space_of(v) not in ("ddr", "l2"):
                raise self._err(f"host buffers must be in \"ddr\" or \"l2\", got {v.type}")
            bad = layout_error(v.type, shapes[i])  # type: ignore[arg-type]
            if bad:
                raise self._err(f"buffer {i}: {bad}, got {v.type}")
        block = self.body.block
        if len(block.args) != len(self.inputs):
            raise self._err(f"region must take {len(self.inputs)} arguments (one per input), got {len(block.args)}")
        for i, a in enumerate(block.args):
            if not isinstance(a.type, TensorType) or tuple(a.type.get_shape()) != shapes[i]:
                raise self._err(f"region argument {i} must be tensor<{'x'.join(map(str, shapes[i]))}xf32>, got {a.type}")
        term = block.last_op
        if not isinstance(term, YieldOp):
            raise self._err("region must end with tile.yield")
        if len(term.values) != len(self.outputs):
            raise self._err(f"tile.yield must give {len(self.outputs)} values (one per output), got {len(term.values)}")
        for j, v in enumerate(term.values):
            want = shapes[len(self.inputs) + j]
            if not isinstance(v.type, TensorType) or tuple(v.type.get_shape()) != want:
                raise self._err(f"yielded value {j} must have shape {list(want)}, got {v.type}")


@irdl_op_definition
class YieldOp(IRDLOperation):
    """Terminator of ``tile.host``: the f32 values to store into the output buffers."""

    name = "tile.yield"
    values = var_operand_def(TensorType)
    traits = traits_def(IsTerminator(), HasParent(HostOp))
    assembly_format = "($values^ `:` type($values))? attr-dict"

    def __init__(self, values: Sequence[SSAValue]):
        super().__init__(operands=[list(values)])


COMPUTE_OPS = (Conv2dOp, MaxPoolOp, AvgPoolOp, AddOp, MulOp, RequantizeOp, ClampOp, LutOp)

TILE = Dialect(
    "tile",
    [AllocOp, ConstantOp, DmaOp, Conv2dOp, MaxPoolOp, AvgPoolOp, AddOp, MulOp, RequantizeOp, ClampOp, LutOp,
     HostOp, YieldOp],
    [TokenType],
)

__all__ = [
    "TILE",
    "TokenType",
    "AllocOp",
    "ConstantOp",
    "DmaOp",
    "Conv2dOp",
    "MaxPoolOp",
    "AvgPoolOp",
    "AddOp",
    "MulOp",
    "RequantizeOp",
    "ClampOp",
    "LutOp",
    "HostOp",
    "YieldOp",
    "COMPUTE_OPS",
    "memref",
    "space_of",
    "buffer_bytes",
    "element_bytes",
    "i64_attr",
    "i64_array",
    "f64_array",
    "layout_error",
]
