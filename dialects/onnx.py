"""The ``onnx`` dialect: the float graph, one op per ONNX node.

Values are ranked ``tensor<...xf32>`` (shape tensors ``tensor<...xi64>``), in the layout of the ONNX
model (NCHW for images). Initializers become ``onnx.Constant`` ops. ONNX attributes are kept under
their ONNX names as builtin attributes: ints as ``i64``, floats as ``f32``, int lists as
``array<i64: ...>``, strings as strings, tensors as ``dense<...>``. The node name of the ONNX model
is kept in the ``onnx_name`` attribute so that every error can name the model node.

Syntax (shared by every op of the dialect)::

    %y = onnx.Conv %x, %w, %b {strides = array<i64: 2, 2>, onnx_name = "conv1"}
        : (tensor<1x3x224x224xf32>, tensor<64x3x7x7xf32>, tensor<64xf32>) -> tensor<1x64x112x112xf32>
"""

from __future__ import annotations

from collections.abc import Sequence
from xdsl.dialects.builtin import (
    ArrayAttr,
    DenseArrayBase,
    DenseIntOrFPElementsAttr,
    FloatAttr,
    FunctionType,
    IntegerAttr,
    StringAttr,
    TensorType,
)
from xdsl.ir import Attribute, Dialect, SSAValue
from xdsl.irdl import (
    IRDLOperation,
    irdl_op_definition,
    operand_def,
    opt_attr_def,
    opt_operand_def,
    opt_result_def,
    result_def,
    traits_def,
    var_operand_def,
    var_result_def,
)
from xdsl.irdl.operations import OptionalDef, VariadicDef
from xdsl.parser import Parser, UnresolvedOperand
from xdsl.printer import Printer
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException

IntList = DenseArrayBase


def _group(defs: Sequence[tuple[str, object]], flat: Sequence) -> list:
    """A flat operand / result list grouped by IRDL definitions: a variadic takes what is left, an
    optional takes one if any is left, a single one the next (None if missing: verify() reports it)."""
    grouped: list = []
    rest = list(flat)
    for _, d in defs:
        if isinstance(d, VariadicDef) and not isinstance(d, OptionalDef):
            grouped.append(rest)
            rest = []
        elif isinstance(d, OptionalDef):
            grouped.append([rest.pop(0)] if rest else [])
        else:
            grouped.append(rest.pop(0) if rest else None)
    return grouped


class OnnxOp(IRDLOperation):
    """Base of every ``onnx.*`` op: the shared textual syntax and helpers.

    Operands are given positionally as in ONNX; optional inputs are trailing. The printed form is
    ``operands attr-dict : (operand types) -> result types``.
    """

    @classmethod
    def parse(cls, parser: Parser) -> OnnxOp:
        operands: list[UnresolvedOperand] = []
        first = parser.parse_optional_unresolved_operand()
        if first is not None:
            operands.append(first)
            while parser.parse_optional_punctuation(","):
                operands.append(parser.parse_unresolved_operand())
        attrs = parser.parse_optional_attr_dict()
        parser.parse_punctuation(":")
        pos = parser.pos
        fn_type = parser.parse_function_type()
        if len(fn_type.inputs.data) != len(operands):
            parser.raise_error(
                f"'{cls.name}' expected {len(operands)} operand types, got {len(fn_type.inputs.data)}",
                pos,
                parser.pos,
            )
        values = [
            parser.resolve_operand(o, t) for o, t in zip(operands, fn_type.inputs.data, strict=True)
        ]
        return cls.create_with(values, list(fn_type.outputs.data), attrs)

    def print(self, printer: Printer) -> None:
        if self.operands:
            printer.print_string(" ")
            printer.print_list(self.operands, printer.print_operand)
        printer.print_op_attributes(self.attributes)
        printer.print_string(" : ")
        printer.print_attribute(
            FunctionType.from_lists([o.type for o in self.operands], [r.type for r in self.results])
        )

    @classmethod
    def create_with(
        cls,
        operands: Sequence[SSAValue],
        result_types: Sequence[Attribute],
        attributes: dict[str, Attribute] | None = None,
    ) -> OnnxOp:
        """Build the op from flat ONNX-style operand and result lists (optional ones trailing)."""
        irdl = cls.get_irdl_definition()
        return cls.build(operands=_group(irdl.operands, operands), result_types=_group(irdl.results, result_types),
                         attributes=attributes or {})

    # -- attribute accessors with ONNX defaults --------------------------------------------
    def int_attr(self, key: str, default: int) -> int:
        a = self.attributes.get(key)
        return a.value.data if isinstance(a, IntegerAttr) else default

    def float_attr(self, key: str, default: float) -> float:
        a = self.attributes.get(key)
        return a.value.data if isinstance(a, FloatAttr) else default

    def ints_attr(self, key: str, default: Sequence[int] | None = None) -> list[int] | None:
        a = self.attributes.get(key)
        if isinstance(a, DenseArrayBase):
            return list(a.get_values())
        if isinstance(a, ArrayAttr):
            return [x.value.data for x in a.data]  # type: ignore[attr-defined]
        return None if default is None else list(default)

    def str_attr(self, key: str, default: str) -> str:
        a = self.attributes.get(key)
        return a.data if isinstance(a, StringAttr) else default

    @classmethod
    def onnx_op_type(cls) -> str:
        """The ONNX op type, e.g. ``Conv`` for ``onnx.Conv``."""
        return cls.name.removeprefix("onnx.")

    @property
    def node_name(self) -> str:
        """The ONNX node name (``onnx_name``) or the op name when the node had none."""
        a = self.attributes.get("onnx_name")
        return a.data if isinstance(a, StringAttr) else self.name

    def describe(self) -> str:
        """``'onnx.Conv' node "conv1"``: how errors name this op."""
        return f"'{self.name}' node \"{self.node_name}\""


def _tensor(v: SSAValue) -> TensorType:
    t = v.type
    if not isinstance(t, TensorType):
        raise VerifyException(f"expected a ranked tensor, got {t}")
    return t


def _rank(op: OnnxOp, v: SSAValue, rank: int, what: str) -> tuple[int, ...]:
    shape = tuple(_tensor(v).get_shape())
    if len(shape) != rank:
        raise VerifyException(f"{op.describe()}: {what} must have rank {rank}, got {len(shape)}")
    return shape


_NAME = opt_attr_def(StringAttr, attr_name="onnx_name")


@irdl_op_definition
class ConstantOp(OnnxOp):
    """A constant tensor (an initializer or an ONNX ``Constant`` node)."""

    name = "onnx.Constant"
    value = opt_attr_def(DenseIntOrFPElementsAttr)
    output = result_def(TensorType)
    onnx_name = _NAME
    traits = traits_def(Pure())

    def verify_(self) -> None:
        if self.value is None:
            raise VerifyException(f"{self.describe()}: missing 'value'")
        if self.value.type != self.output.type:
            raise VerifyException(
                f"{self.describe()}: value type {self.value.type} does not match result type {self.output.type}"
            )


@irdl_op_definition
class ConstantOfShapeOp(OnnxOp):
    name = "onnx.ConstantOfShape"
    input = operand_def(TensorType)
    output = result_def(TensorType)
    value = opt_attr_def(DenseIntOrFPElementsAttr)
    onnx_name = _NAME
    traits = traits_def(Pure())


@irdl_op_definition
class ConvOp(OnnxOp):
    """2-D convolution, NCHW input, OIHW weight, optional bias of shape [O]."""

    name = "onnx.Conv"
    X = operand_def(TensorType)
    W = operand_def(TensorType)
    B = opt_operand_def(TensorType)
    Y = result_def(TensorType)
    auto_pad = opt_attr_def(StringAttr)
    dilations = opt_attr_def(IntList)
    group = opt_attr_def(IntegerAttr)
    kernel_shape = opt_attr_def(IntList)
    pads = opt_attr_def(IntList)
    strides = opt_attr_def(IntList)
    onnx_name = _NAME
    traits = traits_def(Pure())

    def verify_(self) -> None:
        x = _rank(self, self.X, 4, "input X")
        w = _rank(self, self.W, 4, "weight W")
        y = _rank(self, self.Y, 4, "result Y")
        g = self.int_attr("group", 1)
        if x[1] != w[1] * g:
            raise VerifyException(
                f"{self.describe()}: input channels {x[1]} must equal weight channels {w[1]} x group {g}"
            )
        if y[1] != w[0]:
            raise VerifyException(f"{self.describe()}: result channels must be {w[0]}, got {y[1]}")
        if self.B is not None and tuple(_tensor(self.B).get_shape()) != (w[0],):
            raise VerifyException(
                f"{self.describe()}: bias must have shape [{w[0]}], got {list(_tensor(self.B).get_shape())}"
            )


def _unary(op_name: str, *attrs: str, doc: str = "") -> type[OnnxOp]:
    """Define a one-input one-output op with the given optional ONNX attributes."""
    fields = {
        "name": f"onnx.{op_name}",
        "X": operand_def(TensorType),
        "Y": result_def(TensorType),
        "onnx_name": _NAME,
        "traits": traits_def(Pure()),
        "__doc__": doc or f"ONNX ``{op_name}``.",
    }
    for a in attrs:
        fields[a] = opt_attr_def(Attribute)
    return irdl_op_definition(type(f"{op_name}Op", (OnnxOp,), fields))


ReluOp = _unary("Relu")
@irdl_op_definition
class MaxPoolOp(OnnxOp):
    """ONNX ``MaxPool``; the optional ``Indices`` result (flattened argmax, int64) is kept when the
    model uses it (such a MaxPool runs on the host, evaluated by the ONNX node runner)."""

    name = "onnx.MaxPool"
    X = operand_def(TensorType)
    Y = result_def(TensorType)
    Indices = opt_result_def(TensorType)
    auto_pad = opt_attr_def(Attribute)
    ceil_mode = opt_attr_def(Attribute)
    dilations = opt_attr_def(Attribute)
    kernel_shape = opt_attr_def(Attribute)
    pads = opt_attr_def(Attribute)
    storage_order = opt_attr_def(Attribute)
    strides = opt_attr_def(Attribute)
    onnx_name = _NAME
    traits = traits_def(Pure())
AveragePoolOp = _unary(
    "AveragePool", "auto_pad", "ceil_mode", "count_include_pad", "kernel_shape", "pads", "strides"
)
GlobalAveragePoolOp = _unary("GlobalAveragePool")
FlattenOp = _unary("Flatten", "axis")
TransposeOp = _unary("Transpose", "perm")
SoftmaxOp = _unary(
    "Softmax", "axis", "opset", doc="ONNX ``Softmax``; ``opset`` < 13 selects the coerce-to-2-D semantics."
)
LRNOp = _unary("LRN", "alpha", "beta", "bias", "size")
IdentityOp = _unary("Identity")


def _binary(op_name: str) -> type[OnnxOp]:
    fields = {
        "name": f"onnx.{op_name}",
        "A": operand_def(TensorType),
        "B": operand_def(TensorType),
        "C": result_def(TensorType),
        "onnx_name": _NAME,
        "traits": traits_def(Pure()),
        "__doc__": f"ONNX ``{op_name}`` with numpy broadcasting.",
    }
    return irdl_op_definition(type(f"{op_name}Op", (OnnxOp,), fields))


AddOp = _binary("Add")
MulOp = _binary("Mul")
MatMulOp = _binary("MatMul")


@irdl_op_definition
class SumOp(OnnxOp):
    name = "onnx.Sum"
    data_0 = var_operand_def(TensorType)
    sum = result_def(TensorType)
    onnx_name = _NAME
    traits = traits_def(Pure())


@irdl_op_definition
class ConcatOp(OnnxOp):
    name = "onnx.Concat"
    inputs = var_operand_def(TensorType)
    concat_result = result_def(TensorType)
    axis = opt_attr_def(IntegerAttr)
    onnx_name = _NAME
    traits = traits_def(Pure())

    def verify_(self) -> None:
        if not self.inputs:
            raise VerifyException(f"{self.describe()}: needs at least one input")


@irdl_op_definition
class GemmOp(OnnxOp):
    """Y = alpha * A' B' + beta * C (A' = A^T if transA, B' = B^T if transB)."""

    name = "onnx.Gemm"
    A = operand_def(TensorType)
    B = operand_def(TensorType)
    C = opt_operand_def(TensorType)
    Y = result_def(TensorType)
    alpha = opt_attr_def(FloatAttr)
    beta = opt_attr_def(FloatAttr)
    transA = opt_attr_def(IntegerAttr)
    transB = opt_attr_def(IntegerAttr)
    onnx_name = _NAME
    traits = traits_def(Pure())

    def verify_(self) -> None:
        _rank(self, self.A, 2, "input A")
        _rank(self, self.B, 2, "input B")


@irdl_op_definition
class BatchNormalizationOp(OnnxOp):
    """Inference-mode batch normalization over axis 1."""

    name = "onnx.BatchNormalization"
    X = operand_def(TensorType)
    scale = operand_def(TensorType)
    B = operand_def(TensorType)
    input_mean = operand_def(TensorType)
    input_var = operand_def(TensorType)
    Y = result_def(TensorType)
    epsilon = opt_attr_def(FloatAttr)
    momentum = opt_attr_def(FloatAttr)
    spatial = opt_attr_def(IntegerAttr)
    is_test = opt_attr_def(IntegerAttr)
    onnx_name = _NAME
    traits = traits_def(Pure())


@irdl_op_definition
class ReshapeOp(OnnxOp):
    name = "onnx.Reshape"
    data = operand_def(TensorType)
    shape = operand_def(TensorType)
    reshaped = result_def(TensorType)
    allowzero = opt_attr_def(IntegerAttr)
    onnx_name = _NAME
    traits = traits_def(Pure())


@irdl_op_definition
class UnsqueezeOp(OnnxOp):
    """``axes`` is an attribute before opset 13 and an input from opset 13."""

    name = "onnx.Unsqueeze"
    data = operand_def(TensorType)
    axes_input = opt_operand_def(TensorType)
    expanded = result_def(TensorType)
    axes = opt_attr_def(IntList)
    onnx_name = _NAME
    traits = traits_def(Pure())


@irdl_op_definition
class DropoutOp(OnnxOp):
    """Inference-mode dropout: the identity. Only the ``output`` result is kept."""

    name = "onnx.Dropout"
    data = operand_def(TensorType)
    extra = var_operand_def(TensorType)
    output = result_def(TensorType)
    ratio = opt_attr_def(FloatAttr)
    is_test = opt_attr_def(IntegerAttr)
    seed = opt_attr_def(IntegerAttr)
    onnx_name = _NAME
    traits = traits_def(Pure())


ONNX_OPS: tuple[type[OnnxOp], ...] = (
    ConstantOp,
    ConstantOfShapeOp,
    ConvOp,
    ReluOp,
    MaxPoolOp,
    AveragePoolOp,
    GlobalAveragePoolOp,
    BatchNormalizationOp,
    GemmOp,
    MatMulOp,
    AddOp,
    SumOp,
    MulOp,
    ConcatOp,
    ReshapeOp,
    FlattenOp,
    TransposeOp,
    SoftmaxOp,
    LRNOp,
    DropoutOp,
    UnsqueezeOp,
    IdentityOp,
)


#: attributes of onnx ops that are ours, never ONNX attributes
NOT_ONNX_ATTRS = frozenset({
    "onnx_name", "calibration", "opset", "onnx_absent_inputs", "onnx_absent_outputs", "onnx_outer",
    "onnx_graphs", "axc.placement",
})


class GenericOnnxOp(OnnxOp):
    """Base of the ONNX ops that have no dedicated class: any operands, results and attributes.

    One class per op type of the default ONNX domain (``onnx.Sigmoid``, ``onnx.Resize``,
    ``onnx.LSTM``, ...), generated from ``onnx.defs``. The op holds the node exactly:

    * operands: the node's non-empty inputs in order, then the outer-scope values its subgraph
      attributes read (their names in ``onnx_outer``, an array of strings);
    * results: the node's non-empty outputs in order;
    * ``onnx_absent_inputs`` / ``onnx_absent_outputs`` (``array<i64>``): positions of omitted
      optional inputs / outputs (``""`` in the node) that precede given ones;
    * ONNX attributes under their names (as for every onnx op); GRAPH attributes (If / Loop / Scan
      bodies) as base64 of the serialized ``GraphProto`` in the ``onnx_graphs`` dictionary.

    Such ops are evaluated by :class:`axc.runtime.onnx_node.NodeRunner` (onnxruntime) at every
    level, so their semantics are ONNX's for every opset and attribute.
    """

    inputs = var_operand_def()
    outputs = var_result_def()
    onnx_name = _NAME

    def positions(self, key: str) -> list[int]:
        """The positions stored in ``onnx_absent_inputs`` / ``onnx_absent_outputs``."""
        return self.ints_attr(key, []) or []


def _generic_op(op_type: str) -> type[GenericOnnxOp]:
    fields: dict[str, object] = {
        "name": f"onnx.{op_type}",
        "__doc__": f"ONNX ``{op_type}`` (generic: see :class:`GenericOnnxOp`).",
        "__module__": __name__,
    }
    return irdl_op_definition(type(f"{op_type}Op", (GenericOnnxOp,), fields))


def _default_domain_op_types() -> list[str]:
    import onnx.defs

    return sorted({s.name for s in onnx.defs.get_all_schemas_with_history() if s.domain in ("", "ai.onnx")})


_TYPED = {op.name.removeprefix("onnx.") for op in ONNX_OPS}
GENERIC_OPS: tuple[type[GenericOnnxOp], ...] = tuple(
    _generic_op(t) for t in _default_domain_op_types() if t not in _TYPED
)

#: ONNX op type -> op class, for the importer.
OP_BY_ONNX_TYPE: dict[str, type[OnnxOp]] = {
    op.name.removeprefix("onnx."): op for op in (*ONNX_OPS, *GENERIC_OPS)
}

ONNX = Dialect("onnx", [*ONNX_OPS, *GENERIC_OPS], [])
