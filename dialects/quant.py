"""The ``quant`` dialect: the int8 graph after post-training quantization, the golden integer model.

Types
-----
``!quant.uniform<i8:f32, SCALE:ZP>``
    per-tensor affine quantization of an activation: real = SCALE * (q - ZP), q in [-128, 127].
``!quant.uniform_per_axis<i8:f32:AXIS, {S0, S1, ...}>``
    per-axis symmetric quantization of a weight (zero point 0), one scale per index of AXIS.

Both are used as tensor element types, e.g. ``tensor<1x64x56x56x!quant.uniform<i8:f32, 0.02:-128>>``.
Logical shapes stay NCHW as in the onnx level. Bias tensors are plain ``tensor<Cxi32>`` with the
implied scale ``s_in * s_w[c]``.

Fixed-point parameters (multiplier, shift) are *derived* from the types by the methods of the ops
(``requant_params`` ...) through :mod:`axc.runtime.quantization`, so the IR cannot hold a multiplier
that disagrees with its types. Ops that the AIPU does not run stay ``onnx.*`` float ops between
``quant.dequantize`` and ``quant.quantize`` (host ops).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from xdsl.dialects.builtin import (
    ArrayAttr,
    DenseArrayBase,
    DenseIntOrFPElementsAttr,
    FloatData,
    IntAttr,
    IntegerAttr,
    IntegerType,
    TensorType,
    f32,
    i8,
    i64,
)
from xdsl.ir import Attribute, Dialect, ParametrizedAttribute, SSAValue, TypeAttribute
from xdsl.irdl import (
    ParsePropInAttrDict,
    IRDLOperation,
    irdl_attr_definition,
    irdl_op_definition,
    operand_def,
    opt_prop_def,
    prop_def,
    result_def,
    traits_def,
    var_operand_def,
)
from xdsl.parser import AttrParser
from xdsl.printer import Printer
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException

INT8_MIN, INT8_MAX = -128, 127


@irdl_attr_definition
class UniformType(ParametrizedAttribute, TypeAttribute):
    """Per-tensor affine int8: ``!quant.uniform<i8:f32, SCALE:ZP>`` (real = SCALE * (q - ZP))."""

    name = "quant.uniform"
    storage: IntegerType
    scale: FloatData
    zero_point: IntAttr

    def __init__(self, scale: float, zero_point: int, storage: IntegerType = i8):
        super().__init__(storage, FloatData(float(scale)), IntAttr(int(zero_point)))

    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> list[Attribute]:
        with parser.in_angle_brackets():
            storage = parser.parse_type()
            parser.parse_punctuation(":")
            parser.parse_type()  # expressed type, always f32
            parser.parse_punctuation(",")
            scale = parser.parse_float()
            parser.parse_punctuation(":")
            zp = parser.parse_integer()
        return [storage, FloatData(scale), IntAttr(zp)]

    def print_parameters(self, printer: Printer) -> None:
        printer.print_string(f"<{self.storage}:f32, {self.scale.data!r}:{self.zero_point.data}>")

    def verify(self) -> None:
        if self.storage != i8:
            raise VerifyException(f"quant.uniform storage must be i8, got {self.storage}")
        if not self.scale.data > 0:
            raise VerifyException(f"quant.uniform scale must be > 0, got {self.scale.data}")
        if not INT8_MIN <= self.zero_point.data <= INT8_MAX:
            raise VerifyException(
                f"quant.uniform zero point must be in [-128, 127], got {self.zero_point.data}"
            )

    @property
    def s(self) -> float:
        return self.scale.data

    @property
    def zp(self) -> int:
        return self.zero_point.data


@irdl_attr_definition
class UniformPerAxisType(ParametrizedAttribute, TypeAttribute):
    """Per-axis symmetric int8: ``!quant.uniform_per_axis<i8:f32:AXIS, {S0, S1, ...}>``."""

    name = "quant.uniform_per_axis"
    storage: IntegerType
    axis: IntAttr
    scales: ArrayAttr[FloatData]

    def __init__(self, axis: int, scales: Sequence[float], storage: IntegerType = i8):
        super().__init__(storage, IntAttr(axis), ArrayAttr([FloatData(float(s)) for s in scales]))

    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> list[Attribute]:
        with parser.in_angle_brackets():
            storage = parser.parse_type()
            parser.parse_punctuation(":")
            parser.parse_type()
            parser.parse_punctuation(":")
            axis = parser.parse_integer()
            parser.parse_punctuation(",")
            scales = parser.parse_comma_separated_list(parser.Delimiter.BRACES, parser.parse_float)
        return [storage, IntAttr(axis), ArrayAttr([FloatData(s) for s in scales])]

    def print_parameters(self, printer: Printer) -> None:
        body = ", ".join(repr(s.data) for s in self.scales.data)
        printer.print_string(f"<{self.storage}:f32:{self.axis.data}, {{{body}}}>")

    def verify(self) -> None:
        if self.storage != i8:
            raise VerifyException(f"quant.uniform_per_axis storage must be i8, got {self.storage}")
        bad = [s.data for s in self.scales.data if not s.data > 0]
        if bad:
            raise VerifyException(f"quant.uniform_per_axis scales must be > 0, got {bad[0]}")

    def scale_array(self) -> np.ndarray:
        """The scales as a float64 array of shape [dim(axis)]."""
        return np.array([s.data for s in self.scales.data], dtype=np.float64)


def uniform_of(v: SSAValue | Attribute) -> UniformType:
    """The ``!quant.uniform`` element type of a tensor value (or tensor type)."""
    t = v.type if isinstance(v, SSAValue) else v
    if not isinstance(t, TensorType) or not isinstance(t.element_type, UniformType):
        raise VerifyException(f"expected a tensor of !quant.uniform, got {t}")
    return t.element_type


def _clamp_prop():
    return opt_prop_def(DenseArrayBase)


class QuantOp(IRDLOperation):
    """Base of quant ops: clamp bounds and shared checks."""

    def clamp_bounds(self) -> tuple[int, int]:
        """``(lo, hi)`` of the output clamp (a fused Relu sets ``lo`` to the output zero point)."""
        c = self.properties.get("clamp")
        if isinstance(c, DenseArrayBase):
            lo, hi = c.get_values()
            return int(lo), int(hi)
        return INT8_MIN, INT8_MAX

    def _verify_clamp(self) -> None:
        lo, hi = self.clamp_bounds()
        if not INT8_MIN <= lo <= hi <= INT8_MAX:
            raise VerifyException(f"'{self.name}' op clamp must satisfy -128 <= lo <= hi <= 127, got [{lo}, {hi}]")

    def _ints(self, key: str, default: Sequence[int]) -> tuple[int, ...]:
        a = self.properties.get(key)
        return tuple(int(x) for x in a.get_values()) if isinstance(a, DenseArrayBase) else tuple(default)


def _same_qparams(op: IRDLOperation, a: SSAValue, b: SSAValue, what: str) -> None:
    ta, tb = uniform_of(a), uniform_of(b)
    if ta != tb:
        raise VerifyException(f"'{op.name}' op {what} must have the same quantization, got {ta} and {tb}")


@irdl_op_definition
class QuantizeOp(QuantOp):
    """f32 -> int8: q = clamp(round_half_even(x / scale) + zp)."""

    name = "quant.quantize"
    input = operand_def(TensorType)
    output = result_def(TensorType)
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$input attr-dict `:` type($input) `->` type($output)"

    def verify_(self) -> None:
        uniform_of(self.output)


@irdl_op_definition
class DequantizeOp(QuantOp):
    """int8 -> f32: x = scale * (q - zp)."""

    name = "quant.dequantize"
    input = operand_def(TensorType)
    output = result_def(TensorType)
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$input attr-dict `:` type($input) `->` type($output)"

    def verify_(self) -> None:
        uniform_of(self.input)


@irdl_op_definition
class ConstantOp(QuantOp):
    """A constant integer tensor: int8 weights (per-axis type) or int32 bias (``i32``)."""

    name = "quant.constant"
    value = prop_def(DenseIntOrFPElementsAttr)
    output = result_def(TensorType)
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "attr-dict `:` type($output)"

    def verify_(self) -> None:
        out = self.output.type
        assert isinstance(out, TensorType)
        if tuple(self.value.get_shape()) != tuple(out.get_shape()):
            raise VerifyException(
                f"'quant.constant' op value shape {list(self.value.get_shape())} does not match result shape {list(out.get_shape())}"
            )
        el = out.element_type
        storage = el.storage if isinstance(el, UniformType | UniformPerAxisType) else el
        if self.value.get_element_type() != storage:
            raise VerifyException(
                f"'quant.constant' op value element type {self.value.get_element_type()} does not match storage {storage}"
            )

    def array(self) -> np.ndarray:
        """The value as a numpy array (a view on the attribute's bytes)."""
        et = self.value.get_element_type()
        dtype = {8: np.int8, 32: np.int32, 64: np.int64}[et.width.data]  # type: ignore[union-attr]
        return np.frombuffer(self.value.data.data, dtype=dtype).reshape(self.value.get_shape())


@irdl_op_definition
class Conv2dOp(QuantOp):
    """int8 2-D convolution with its requantize epilogue (the MVM -> DPU pipeline).

    input ``tensor<NxCxHxW x !quant.uniform>``, weight ``tensor<OxC/gxKHxKW x !quant.uniform_per_axis<..:0>>``,
    bias ``tensor<Oxi32>`` (scale s_in * s_w[o]); result ``tensor<NxOxHoxWo x !quant.uniform>``.
    acc = sum((x - zp_in) * w) + bias (padding contributes 0); out = clamp(requantize(acc)).
    ``pads`` is [top, left, bottom, right].
    """

    name = "quant.conv2d"
    input = operand_def(TensorType)
    weight = operand_def(TensorType)
    bias = operand_def(TensorType)
    output = result_def(TensorType)
    strides = opt_prop_def(DenseArrayBase)
    pads = opt_prop_def(DenseArrayBase)
    dilations = opt_prop_def(DenseArrayBase)
    group = opt_prop_def(IntegerAttr)
    clamp = _clamp_prop()
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$input `,` $weight `,` $bias attr-dict `:` functional-type(operands, results)"

    @property
    def group_count(self) -> int:
        return self.group.value.data if self.group is not None else 1

    def verify_(self) -> None:
        uniform_of(self.input)
        uniform_of(self.output)
        wt = self.weight.type
        assert isinstance(wt, TensorType)
        if not isinstance(wt.element_type, UniformPerAxisType) or wt.element_type.axis.data != 0:
            raise VerifyException(f"'quant.conv2d' op weight must be per-axis on axis 0, got {wt.element_type}")
        oc = wt.get_shape()[0]
        if len(wt.element_type.scales.data) != oc:
            raise VerifyException(
                f"'quant.conv2d' op weight needs {oc} scales, got {len(wt.element_type.scales.data)}"
            )
        bt = self.bias.type
        assert isinstance(bt, TensorType)
        if tuple(bt.get_shape()) != (oc,) or not isinstance(bt.element_type, IntegerType) or bt.element_type.width.data != 32:
            raise VerifyException(f"'quant.conv2d' op bias must be tensor<{oc}xi32>, got {bt}")
        xs = self.input.type.get_shape()  # type: ignore[union-attr]
        if xs[1] != wt.get_shape()[1] * self.group_count:
            raise VerifyException(
                f"'quant.conv2d' op input channels {xs[1]} must equal weight channels {wt.get_shape()[1]} x group {self.group_count}"
            )
        self._verify_clamp()

    def conv_params(self) -> dict:
        """strides, pads (t, l, b, r), dilations and group as plain ints."""
        return {
            "strides": self._ints("strides", (1, 1)),
            "pads": self._ints("pads", (0, 0, 0, 0)),
            "dilations": self._ints("dilations", (1, 1)),
            "group": self.group_count,
        }

    def requant_params(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-output-channel (multiplier int64[O], shift int64[O]) for s_in * s_w[o] / s_out."""
        from axc.runtime.quantization import quantize_multiplier

        w = self.weight.type.element_type  # type: ignore[union-attr]
        real = uniform_of(self.input).s * w.scale_array() / uniform_of(self.output).s
        m, s = quantize_multiplier(real)
        return np.asarray(m, dtype=np.int64), np.asarray(s, dtype=np.int64)


@irdl_op_definition
class AddOp(QuantOp):
    """Elementwise add of two int8 tensors with different scales, rescaled to the result's."""

    name = "quant.add"
    lhs = operand_def(TensorType)
    rhs = operand_def(TensorType)
    output = result_def(TensorType)
    clamp = _clamp_prop()
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$lhs `,` $rhs attr-dict `:` functional-type(operands, results)"

    def verify_(self) -> None:
        for v in (self.lhs, self.rhs, self.output):
            uniform_of(v)
        if self.lhs.type.get_shape() != self.output.type.get_shape() or self.rhs.type.get_shape() != self.output.type.get_shape():  # type: ignore[union-attr]
            raise VerifyException("'quant.add' op operands and result must have the same shape")
        self._verify_clamp()

    def requant_params(self) -> tuple[int, int, int]:
        """(multiplier_lhs, multiplier_rhs, shift) with a shared shift: out = ((a-za)*Ma + (b-zb)*Mb) >> shift."""
        from axc.runtime.multipliers import add_multipliers

        return add_multipliers(uniform_of(self.lhs).s, uniform_of(self.rhs).s, uniform_of(self.output).s)


@irdl_op_definition
class MulOp(QuantOp):
    """Elementwise product of two int8 activations, rescaled to the result's scale.

    ``lhs`` has the result's shape; ``rhs`` the same shape or, for a rank-4 (N, C, H, W) ``lhs``,
    (N, C, 1, 1) broadcast over H x W (one value per channel). out = clamp(((lhs - zl) * (rhs - zr) * M
    + 2^(shift-1)) >> shift) + zo) with (M, shift) from ``s_l * s_r / s_out`` (``requant_params``).
    """

    name = "quant.mul"
    lhs = operand_def(TensorType)
    rhs = operand_def(TensorType)
    output = result_def(TensorType)
    clamp = _clamp_prop()
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$lhs `,` $rhs attr-dict `:` functional-type(operands, results)"

    def verify_(self) -> None:
        for v in (self.lhs, self.rhs, self.output):
            uniform_of(v)
        a = tuple(self.lhs.type.get_shape())  # type: ignore[union-attr]
        b = tuple(self.rhs.type.get_shape())  # type: ignore[union-attr]
        if a != tuple(self.output.type.get_shape()):  # type: ignore[union-attr]
            raise VerifyException("'quant.mul' op lhs and result must have the same shape")
        if b != a and not (len(a) == 4 and b == (a[0], a[1], 1, 1)):
            raise VerifyException(f"'quant.mul' op rhs must have the shape of lhs {list(a)} or "
                                  f"[N, C, 1, 1] of it, got {list(b)}")
        self._verify_clamp()

    def is_broadcast(self) -> bool:
        """True when rhs is the (N, C, 1, 1) per-channel vector of a larger lhs."""
        return tuple(self.rhs.type.get_shape()) != tuple(self.lhs.type.get_shape())  # type: ignore[union-attr]

    def requant_params(self) -> tuple[int, int]:
        """(multiplier, shift) of ``s_lhs * s_rhs / s_out`` (``multipliers.mul_multiplier``)."""
        from axc.runtime.multipliers import mul_multiplier

        return mul_multiplier(uniform_of(self.lhs).s, uniform_of(self.rhs).s, uniform_of(self.output).s)


@irdl_op_definition
class MaxPoolOp(QuantOp):
    """int8 max pooling; input and result share their quantization. ``pads`` is [t, l, b, r]."""

    name = "quant.max_pool"
    input = operand_def(TensorType)
    output = result_def(TensorType)
    kernel = prop_def(DenseArrayBase)
    strides = opt_prop_def(DenseArrayBase)
    pads = opt_prop_def(DenseArrayBase)
    dilations = opt_prop_def(DenseArrayBase)
    ceil_mode = opt_prop_def(IntegerAttr)
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$input attr-dict `:` type($input) `->` type($output)"

    def verify_(self) -> None:
        _same_qparams(self, self.input, self.output, "input and result")

    def pool_params(self) -> dict:
        return {
            "kernel": self._ints("kernel", ()),
            "strides": self._ints("strides", (1, 1)),
            "pads": self._ints("pads", (0, 0, 0, 0)),
            "dilations": self._ints("dilations", (1, 1)),
            "ceil_mode": bool(self.ceil_mode.value.data) if self.ceil_mode else False,
        }


@irdl_op_definition
class AvgPoolOp(QuantOp):
    """int8 average pooling (GlobalAveragePool is the HxW kernel), requantized per window count.
    ``pads`` is [t, l, b, r]; ``dilations`` (default [1, 1]) space the window taps."""

    name = "quant.avg_pool"
    input = operand_def(TensorType)
    output = result_def(TensorType)
    kernel = prop_def(DenseArrayBase)
    strides = opt_prop_def(DenseArrayBase)
    pads = opt_prop_def(DenseArrayBase)
    dilations = opt_prop_def(DenseArrayBase)
    ceil_mode = opt_prop_def(IntegerAttr)
    count_include_pad = opt_prop_def(IntegerAttr)
    clamp = _clamp_prop()
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$input attr-dict `:` type($input) `->` type($output)"

    def verify_(self) -> None:
        uniform_of(self.input)
        uniform_of(self.output)
        self._verify_clamp()

    def pool_params(self) -> dict:
        return {
            "kernel": self._ints("kernel", ()),
            "strides": self._ints("strides", (1, 1)),
            "pads": self._ints("pads", (0, 0, 0, 0)),
            "dilations": self._ints("dilations", (1, 1)),
            "ceil_mode": bool(self.ceil_mode.value.data) if self.ceil_mode else False,
            "count_include_pad": bool(self.count_include_pad.value.data) if self.count_include_pad else False,
        }

    def requant_params(self) -> tuple[np.ndarray, int]:
        """(multipliers int64[kh*kw + 1] indexed by window count, shared shift) for s_in / (s_out * count)."""
        from axc.runtime.multipliers import count_multipliers

        kh, kw = self._ints("kernel", ())
        return count_multipliers(uniform_of(self.input).s / uniform_of(self.output).s, kh * kw)


@irdl_op_definition
class RequantizeOp(QuantOp):
    """int8 -> int8 with other quantization parameters: out = clamp(requantize(x - zp_in) + zp_out)."""

    name = "quant.requantize"
    input = operand_def(TensorType)
    output = result_def(TensorType)
    clamp = _clamp_prop()
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$input attr-dict `:` type($input) `->` type($output)"

    def verify_(self) -> None:
        uniform_of(self.input)
        uniform_of(self.output)
        self._verify_clamp()

    def requant_params(self) -> tuple[int, int]:
        from axc.runtime.quantization import quantize_multiplier

        m, s = quantize_multiplier(uniform_of(self.input).s / uniform_of(self.output).s)
        return int(m), int(s)


@irdl_op_definition
class ClampOp(QuantOp):
    """int8 clamp to [lo, hi] (a Relu that could not be fused is ``lo = zp``); same quantization."""

    name = "quant.clamp"
    input = operand_def(TensorType)
    output = result_def(TensorType)
    clamp = prop_def(DenseArrayBase)
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$input attr-dict `:` type($input) `->` type($output)"

    def verify_(self) -> None:
        _same_qparams(self, self.input, self.output, "input and result")
        self._verify_clamp()


@irdl_op_definition
class ConcatOp(QuantOp):
    """Concatenation along ``axis``; every input has the result's quantization (requantize first)."""

    name = "quant.concat"
    inputs = var_operand_def(TensorType)
    output = result_def(TensorType)
    axis = prop_def(IntegerAttr)
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$inputs attr-dict `:` functional-type($inputs, $output)"

    def verify_(self) -> None:
        for v in self.inputs:
            _same_qparams(self, v, self.output, "every input and the result")


@irdl_op_definition
class ReshapeOp(QuantOp):
    """A reshape that keeps the element order and the quantization (a view)."""

    name = "quant.reshape"
    input = operand_def(TensorType)
    output = result_def(TensorType)
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$input attr-dict `:` type($input) `->` type($output)"

    def verify_(self) -> None:
        _same_qparams(self, self.input, self.output, "input and result")
        a = int(np.prod(self.input.type.get_shape()))  # type: ignore[union-attr]
        b = int(np.prod(self.output.type.get_shape()))  # type: ignore[union-attr]
        if a != b:
            raise VerifyException(f"'quant.reshape' op element count must be kept, got {a} -> {b}")


@irdl_op_definition
class LutOp(QuantOp):
    """int8 -> int8 through a 256-entry table: ``out = table[x + 128]`` (an element-wise function).

    ``table`` is ``dense<...> : tensor<256xi8>``, entry ``k`` the result for input ``k - 128``;
    input and result are ``!quant.uniform`` of the same shape (their qparams are those the table was
    built for: see ``lowering/lut_tables.py``).
    """

    name = "quant.lut"
    input = operand_def(TensorType)
    output = result_def(TensorType)
    table = prop_def(DenseIntOrFPElementsAttr)
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$input attr-dict `:` type($input) `->` type($output)"

    def verify_(self) -> None:
        uniform_of(self.input)
        uniform_of(self.output)
        if self.input.type.get_shape() != self.output.type.get_shape():  # type: ignore[union-attr]
            raise VerifyException("'quant.lut' op input and result must have the same shape")
        shape = tuple(self.table.get_shape())
        if shape != (256,) or self.table.get_element_type() != i8:
            raise VerifyException(
                f"'quant.lut' op table must be tensor<256xi8>, got tensor<{'x'.join(map(str, shape))}x"
                f"{self.table.get_element_type()}>"
            )

    def table_array(self) -> np.ndarray:
        """The table as an int8 numpy array of 256 entries (index = input + 128)."""
        return np.frombuffer(self.table.data.data, dtype=np.int8).reshape(256)


QUANT = Dialect(
    "quant",
    [
        QuantizeOp,
        DequantizeOp,
        ConstantOp,
        Conv2dOp,
        AddOp,
        MaxPoolOp,
        AvgPoolOp,
        RequantizeOp,
        ClampOp,
        ConcatOp,
        ReshapeOp,
        LutOp,
        MulOp,
    ],
    [UniformType, UniformPerAxisType],
)


def i64_array(values: Sequence[int]) -> DenseArrayBase:
    """``array<i64: ...>`` from Python ints."""
    return DenseArrayBase.from_list(i64, [int(v) for v in values])


__all__ = ["QUANT", "UniformType", "UniformPerAxisType", "uniform_of", "i64_array", "f32"]
