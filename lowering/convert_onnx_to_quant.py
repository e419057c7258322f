"""``convert-onnx-to-quant``: post-training quantization of the calibrated onnx graph.

Input: the onnx-level IR after the graph passes (BatchNormalization folded, Gemm rewritten to Conv,
Sum rewritten to Add, Dropout / Identity removed, constants folded) and after ``onnx-calibrate``,
which writes ``calibration = array<f32: lo, hi>`` on every non-constant onnx op and in the
``arg_attrs`` of the graph function.

Output: the quant-level IR (see :mod:`axc.dialects.quant`). One ``RewritePattern`` per source op; the
values that change type are bridged with ``builtin.unrealized_conversion_cast`` (quant -> f32) while
the walk runs, and the casts are gone when the pass returns.

The quantized view of a value (what a quant op consumes):

* a converted value (a cast of a quant tensor): the quant tensor itself;
* an f32 value (a graph input or the result of a host op): one ``quant.quantize`` placed right after
  its definition, with the qparams of its calibration range, shared by every quant consumer.

The float view of a value (what a host op or the graph result consumes):

* a quant tensor made by ``quant.quantize`` from f32: that f32 value (so two host ops in a row share
  one boundary and no quantize / dequantize pair is left between them);
* another quant tensor: one ``quant.dequantize`` right after its definition, shared by its users;
* an f32 value: itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects import builtin, func
from xdsl.dialects.builtin import (
    DenseArrayBase,
    IntegerAttr,
    TensorType,
    UnrealizedConversionCastOp,
    i8,
    i32,
    i64,
)
from xdsl.ir import Attribute, BlockArgument, Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    GreedyRewritePatternApplier,
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)
from xdsl.rewriter import InsertPoint
from xdsl.utils.exceptions import PassFailedException

from axc.dialects import onnx, quant
from axc.dialects.quant import UniformPerAxisType, UniformType, i64_array
from axc.lowering.onnx_importer import dense_from_numpy, input_names, numpy_from_dense
from axc.runtime.quantization import (
    INT8_MAX,
    INT8_MIN,
    activation_qparams,
    quantize_bias,
    weight_qparams_per_axis,
)

CALIBRATION = "calibration"

__all__ = ["ConvertOnnxToQuantPass", "runs_on_aipu", "calibration_range"]


# ------------------------------------------------------------------------------------------------
# small helpers
# ------------------------------------------------------------------------------------------------


def _shape(v: SSAValue | Attribute) -> tuple[int, ...]:
    t = v.type if isinstance(v, SSAValue) else v
    assert isinstance(t, TensorType)
    return tuple(t.get_shape())


def _is_f32_tensor(v: SSAValue) -> bool:
    return isinstance(v.type, TensorType) and v.type.element_type == builtin.f32


def _is_quant_type(t: Attribute) -> bool:
    return isinstance(t, TensorType) and isinstance(t.element_type, UniformType | UniformPerAxisType)


def _qtype(shape: Sequence[int], el: UniformType) -> TensorType:
    return TensorType(el, list(shape))


def _const_of(v: SSAValue | None) -> onnx.ConstantOp | None:
    if v is not None and isinstance(v.owner, onnx.ConstantOp):
        return v.owner
    return None


def _const_array(op: onnx.ConstantOp) -> np.ndarray:
    """The f32 value of an ``onnx.Constant`` as a numpy array (splats broadcast)."""
    assert op.value is not None
    return np.asarray(numpy_from_dense(op.value), dtype=np.float32)


def _range_attr(attrs: dict[str, Attribute] | None) -> tuple[float, float] | None:
    a = (attrs or {}).get(CALIBRATION)
    if isinstance(a, DenseArrayBase):
        vals = tuple(float(x) for x in a.get_values())
        if len(vals) == 2:
            return vals[0], vals[1]
    return None


def _arg_name(arg: BlockArgument) -> str:
    """The ONNX name of a graph input (``axc.input_names`` of its function)."""
    parent = arg.block.parent_op()
    if isinstance(parent, func.FuncOp):
        return input_names(parent)[arg.index]
    return f"arg{arg.index}"


def calibration_range(v: SSAValue) -> tuple[float, float]:
    """The calibrated (lo, hi) of an f32 value: its defining op's or its graph input's attribute.

    Raises ``PassFailedException`` naming the op (and its ``onnx_name``) or the graph input.
    """
    if isinstance(v, BlockArgument):
        parent = v.block.parent_op()
        attrs = None
        if isinstance(parent, func.FuncOp) and parent.arg_attrs is not None:
            attrs = parent.arg_attrs.data[v.index].data
        r = _range_attr(attrs)
        if r is None:
            raise PassFailedException(
                f"graph input \"{_arg_name(v)}\" has no '{CALIBRATION}' range in the arg_attrs of "
                f"@{parent.sym_name.data if isinstance(parent, func.FuncOp) else '?'} "
                "(run onnx-calibrate first)"
            )
        return r
    op = v.owner
    assert isinstance(op, Operation)
    r = _range_attr(op.attributes)
    if r is None:
        what = op.describe() if isinstance(op, onnx.OnnxOp) else f"'{op.name}'"
        raise PassFailedException(
            f"{what} has no '{CALIBRATION}' range (expected array<f32: lo, hi>; run onnx-calibrate first)"
        )
    return r


def _uniform_for_range(lo: float, hi: float, who: str) -> UniformType:
    try:
        s, zp = activation_qparams(lo, hi)
    except ValueError as e:
        raise PassFailedException(f"{who}: bad calibration range: {e}") from e
    return UniformType(s, zp)


def _uniform_of_value(v: SSAValue) -> UniformType:
    """qparams of an f32 value from its calibration."""
    lo, hi = calibration_range(v)
    who = f"graph input \"{_arg_name(v)}\"" if isinstance(v, BlockArgument) else v.owner.describe()  # type: ignore[union-attr]
    return _uniform_for_range(lo, hi, who)


def _representable(u: UniformType) -> tuple[float, float]:
    return u.s * (INT8_MIN - u.zp), u.s * (INT8_MAX - u.zp)


def _name_attrs(op: Operation) -> dict[str, Attribute]:
    """The ``onnx_name`` of the source op, kept as a discardable attribute on the quant op."""
    n = op.attributes.get("onnx_name")
    return {"onnx_name": n} if n is not None else {}


def _explicit_pads(op: onnx.OnnxOp, in_hw: Sequence[int], kernel: Sequence[int],
                   strides: Sequence[int], dilations: Sequence[int]) -> list[int]:
    """ONNX pads [t, l, b, r], resolving ``auto_pad`` (NOTSET, VALID, SAME_UPPER, SAME_LOWER)."""
    auto = op.str_attr("auto_pad", "NOTSET")
    if auto in ("NOTSET", ""):
        return op.ints_attr("pads", [0, 0, 0, 0]) or [0, 0, 0, 0]
    if auto == "VALID":
        return [0, 0, 0, 0]
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        begin, end = [], []
        for i, k, s, d in zip(in_hw, kernel, strides, dilations, strict=True):
            out = -(-i // s)
            total = max(0, (out - 1) * s + (k - 1) * d + 1 - i)
            small = total // 2
            big = total - small
            begin.append(small if auto == "SAME_UPPER" else big)
            end.append(big if auto == "SAME_UPPER" else small)
        return begin + end
    raise PassFailedException(f"{op.describe()}: unsupported auto_pad \"{auto}\"")


# ------------------------------------------------------------------------------------------------
# what the AIPU runs
# ------------------------------------------------------------------------------------------------


def _order_keeping_reshape(in_shape: tuple[int, ...], out_shape: tuple[int, ...]) -> bool:
    """(N, C, 1, 1) <-> (N, C) or an unchanged shape: the same bytes in HWC (and NCHW) order."""
    if in_shape == out_shape:
        return True
    if len(in_shape) == 4 and len(out_shape) == 2:
        return in_shape[2:] == (1, 1) and in_shape[:2] == out_shape
    if len(in_shape) == 2 and len(out_shape) == 4:
        return out_shape[2:] == (1, 1) and out_shape[:2] == in_shape
    return False


def _activation(v: SSAValue) -> bool:
    """An f32 tensor computed by the graph (not an ``onnx.Constant``): what the AIPU consumes."""
    return _is_f32_tensor(v) and _const_of(v) is None


def runs_on_aipu(op: Operation) -> bool:
    """True for the onnx ops that ``convert-onnx-to-quant`` lowers to quant ops.

    Every other onnx op (except ``onnx.Constant``) is a host op: it stays on f32.
    """
    if not isinstance(op, onnx.OnnxOp) or isinstance(op, onnx.ConstantOp):
        return False
    if not all(_is_f32_tensor(r) for r in op.results):
        return False
    if isinstance(op, onnx.ConvOp):
        return (
            len(_shape(op.X)) == 4
            and _activation(op.X)
            and _const_of(op.W) is not None
            and (op.B is None or _const_of(op.B) is not None)
        )
    if isinstance(op, onnx.AddOp):
        return _activation(op.A) and _activation(op.B) and _shape(op.A) == _shape(op.B) == _shape(op.C)
    if isinstance(op, onnx.ReluOp):
        return _activation(op.X)
    if isinstance(op, onnx.MaxPoolOp | onnx.AveragePoolOp | onnx.GlobalAveragePoolOp):
        return len(_shape(op.X)) == 4 and _activation(op.X)
    if isinstance(op, onnx.ConcatOp):
        rank = len(_shape(op.concat_result))
        axis = op.int_attr("axis", 1)
        axis = axis + rank if axis < 0 else axis
        return rank in (2, 4) and axis == 1 and all(_activation(v) for v in op.inputs)
    if isinstance(op, onnx.ReshapeOp):
        return _activation(op.data) and _order_keeping_reshape(_shape(op.data), _shape(op.reshaped))
    if isinstance(op, onnx.FlattenOp):
        return _activation(op.X) and _order_keeping_reshape(_shape(op.X), _shape(op.Y))
    return False


def is_host_op(op: Operation) -> bool:
    """An onnx op that stays on f32 and runs on the host."""
    return isinstance(op, onnx.OnnxOp) and not isinstance(op, onnx.ConstantOp) and not runs_on_aipu(op)


# ------------------------------------------------------------------------------------------------
# quantized / float views of values
# ------------------------------------------------------------------------------------------------


def _cast_source(v: SSAValue) -> SSAValue | None:
    """The quant tensor behind a quant -> f32 bridge cast, or None."""
    op = v.owner
    if isinstance(op, UnrealizedConversionCastOp) and len(op.inputs) == 1 and _is_quant_type(op.inputs[0].type):
        return op.inputs[0]
    return None


def _pending(v: SSAValue) -> bool:
    """The value is made by an onnx op that will become a quant op but has not yet."""
    return runs_on_aipu(v.owner) if isinstance(v.owner, Operation) else False


def _insert_after_def(rewriter: PatternRewriter, v: SSAValue, op: Operation) -> None:
    if isinstance(v, BlockArgument):
        # after the quantize ops of the graph inputs already placed, so they stay in argument order
        last = None
        for o in v.block.ops:
            if not (isinstance(o, quant.QuantizeOp) and isinstance(o.input, BlockArgument)):
                break
            last = o
        rewriter.insert(op, InsertPoint.after(last) if last is not None else InsertPoint.at_start(v.block))
    else:
        assert isinstance(v.owner, Operation)
        rewriter.insert(op, InsertPoint.after(v.owner))


def quantized(rewriter: PatternRewriter, v: SSAValue, el: UniformType | None = None) -> SSAValue:
    """The quant tensor for ``v`` (see the module docstring).

    ``el``: for an f32 value, quantize with these qparams instead of its calibration's.
    """
    src = _cast_source(v)
    if src is not None:
        return src
    if not _is_f32_tensor(v):
        raise PassFailedException(f"cannot quantize a value of type {v.type}")
    if el is None:
        el = _uniform_of_value(v)
    qt = _qtype(_shape(v), el)
    for use in v.uses:
        if isinstance(use.operation, quant.QuantizeOp) and use.operation.output.type == qt:
            return use.operation.output
    q = quant.QuantizeOp.build(operands=[v], result_types=[qt])
    if v.name_hint:
        q.output.name_hint = v.name_hint + "_q"
    _insert_after_def(rewriter, v, q)
    return q.output


def float_view(rewriter: PatternRewriter, v: SSAValue) -> SSAValue:
    """The f32 value for ``v`` (see the module docstring)."""
    src = _cast_source(v)
    if src is None:
        return v
    if isinstance(src.owner, quant.QuantizeOp):
        return src.owner.input
    ft = TensorType(builtin.f32, list(_shape(src)))
    for use in src.uses:
        if isinstance(use.operation, quant.DequantizeOp) and use.operation.output.type == ft:
            return use.operation.output
    dq = quant.DequantizeOp.build(operands=[src], result_types=[ft])
    if src.name_hint:
        dq.output.name_hint = src.name_hint + "_f"
    _insert_after_def(rewriter, src, dq)
    return dq.output


def _bridge(q: SSAValue, like: SSAValue) -> UnrealizedConversionCastOp:
    """quant -> f32 cast that stands for the converted value until its users are converted."""
    cast, _ = UnrealizedConversionCastOp.cast_one(q, like.type)
    return cast


def _sole_relu_user(v: SSAValue) -> onnx.ReluOp | None:
    uses = list(v.uses)
    if len(uses) == 1 and isinstance(uses[0].operation, onnx.ReluOp):
        return uses[0].operation  # type: ignore[return-value]
    return None


def _output_qparams(op: onnx.OnnxOp, result: SSAValue) -> tuple[UniformType, tuple[int, int] | None, Operation]:
    """(result qparams, clamp or None, op to replace) for an op that may absorb its Relu user."""
    relu = _sole_relu_user(result)
    if relu is not None:
        el = _uniform_of_value(relu.Y)
        return el, (el.zp, INT8_MAX), relu
    return _uniform_of_value(result), None, op


def _finish(rewriter: PatternRewriter, src: onnx.OnnxOp, last: Operation, new_ops: list[Operation],
            qresult: SSAValue) -> None:
    """Insert ``new_ops`` before ``src``, bridge ``qresult`` to the users of ``last`` and erase."""
    replaced = last.results[0]
    cast = _bridge(qresult, replaced)
    if replaced.name_hint and not qresult.name_hint:
        qresult.name_hint = replaced.name_hint
    rewriter.insert(new_ops + [cast], InsertPoint.before(src))
    rewriter.replace_all_uses_with(replaced, cast.results[0])
    if last is not src:
        rewriter.erase(last)
    rewriter.erase(src)


# ------------------------------------------------------------------------------------------------
# patterns: one per source op
# ------------------------------------------------------------------------------------------------


def _ready(op: Operation) -> bool:
    return not any(_pending(v) for v in op.operands)


@dataclass
class ConvPattern(RewritePattern):
    """onnx.Conv (+ its sole Relu user) -> quant.conv2d with per-axis int8 weights and int32 bias."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: onnx.ConvOp, rewriter: PatternRewriter) -> None:
        if not runs_on_aipu(op) or not _ready(op):
            return
        x = quantized(rewriter, op.X)
        s_in = quant.uniform_of(x).s
        w_const = _const_of(op.W)
        assert w_const is not None
        w = _const_array(w_const)
        try:
            wq, ws = weight_qparams_per_axis(w, 0)
        except ValueError as e:
            raise PassFailedException(f"{op.describe()}: {e}") from e
        b_const = _const_of(op.B)
        b = _const_array(b_const) if b_const is not None else np.zeros(w.shape[0], np.float32)
        try:
            bq = quantize_bias(b, s_in, ws)
        except ValueError as e:
            raise PassFailedException(f"{op.describe()}: {e}") from e
        wtype = TensorType(UniformPerAxisType(0, [float(s) for s in ws]), list(w.shape))
        wop = quant.ConstantOp.build(properties={"value": dense_from_numpy(wq, i8)}, result_types=[wtype])
        bop = quant.ConstantOp.build(
            properties={"value": dense_from_numpy(bq, i32)}, result_types=[TensorType(i32, [w.shape[0]])]
        )
        wop.output.name_hint = (op.W.name_hint or "w") + "_q"
        bop.output.name_hint = ((op.B.name_hint if op.B is not None else None) or "b") + "_q"

        strides = op.ints_attr("strides", [1, 1]) or [1, 1]
        dilations = op.ints_attr("dilations", [1, 1]) or [1, 1]
        pads = _explicit_pads(op, _shape(op.X)[2:], w.shape[2:], strides, dilations)
        el, clamp, last = _output_qparams(op, op.Y)
        props: dict[str, Attribute] = {
            "strides": i64_array(strides),
            "pads": i64_array(pads),
            "dilations": i64_array(dilations),
            "group": IntegerAttr(op.int_attr("group", 1), i64),
        }
        if clamp is not None:
            props["clamp"] = i64_array(clamp)
        conv = quant.Conv2dOp.build(
            operands=[x, wop.output, bop.output],
            result_types=[_qtype(_shape(op.Y), el)],
            properties=props,
            attributes=_name_attrs(op),
        )
        _finish(rewriter, op, last, [wop, bop, conv], conv.output)


@dataclass
class AddPattern(RewritePattern):
    """onnx.Add of two same-shape activations (+ its sole Relu user) -> quant.add."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: onnx.AddOp, rewriter: PatternRewriter) -> None:
        if not runs_on_aipu(op) or not _ready(op):
            return
        a = quantized(rewriter, op.A)
        b = quantized(rewriter, op.B)
        el, clamp, last = _output_qparams(op, op.C)
        props: dict[str, Attribute] = {}
        if clamp is not None:
            props["clamp"] = i64_array(clamp)
        add = quant.AddOp.build(
            operands=[a, b], result_types=[_qtype(_shape(op.C), el)], properties=props,
            attributes=_name_attrs(op),
        )
        _finish(rewriter, op, last, [add], add.output)


@dataclass
class ReluPattern(RewritePattern):
    """A Relu not absorbed by its producer -> quant.clamp [zp, 127] with its input's qparams."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: onnx.ReluOp, rewriter: PatternRewriter) -> None:
        if not runs_on_aipu(op) or not _ready(op):
            return
        x = quantized(rewriter, op.X)
        el = quant.uniform_of(x)
        clamp = quant.ClampOp.build(
            operands=[x], result_types=[x.type],
            properties={"clamp": i64_array([el.zp, INT8_MAX])}, attributes=_name_attrs(op),
        )
        _finish(rewriter, op, op, [clamp], clamp.output)


def _pool_geometry(op: onnx.OnnxOp, in_hw: Sequence[int]) -> tuple[list[int], list[int], list[int], list[int]]:
    kernel = op.ints_attr("kernel_shape")
    if kernel is None or len(kernel) != 2:
        raise PassFailedException(f"{op.describe()}: needs a 2-D kernel_shape, got {kernel}")
    strides = op.ints_attr("strides", [1, 1]) or [1, 1]
    dilations = op.ints_attr("dilations", [1, 1]) or [1, 1]
    pads = _explicit_pads(op, in_hw, kernel, strides, dilations)
    return kernel, strides, pads, dilations


@dataclass
class MaxPoolPattern(RewritePattern):
    """onnx.MaxPool -> quant.max_pool (the result keeps the input's qparams)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: onnx.MaxPoolOp, rewriter: PatternRewriter) -> None:
        if not runs_on_aipu(op) or not _ready(op):
            return
        x = quantized(rewriter, op.X)
        kernel, strides, pads, dilations = _pool_geometry(op, _shape(op.X)[2:])
        pool = quant.MaxPoolOp.build(
            operands=[x],
            result_types=[_qtype(_shape(op.Y), quant.uniform_of(x))],
            properties={
                "kernel": i64_array(kernel),
                "strides": i64_array(strides),
                "pads": i64_array(pads),
                "dilations": i64_array(dilations),
                "ceil_mode": IntegerAttr(op.int_attr("ceil_mode", 0), i64),
            },
            attributes=_name_attrs(op),
        )
        _finish(rewriter, op, op, [pool], pool.output)


def _avg_pool(rewriter: PatternRewriter, op: onnx.OnnxOp, x_f: SSAValue, y: SSAValue,
              kernel: Sequence[int], strides: Sequence[int], pads: Sequence[int],
              ceil_mode: int, count_include_pad: int) -> None:
    x = quantized(rewriter, x_f)
    pool = quant.AvgPoolOp.build(
        operands=[x],
        result_types=[_qtype(_shape(y), _uniform_of_value(y))],
        properties={
            "kernel": i64_array(kernel),
            "strides": i64_array(strides),
            "pads": i64_array(pads),
            "ceil_mode": IntegerAttr(ceil_mode, i64),
            "count_include_pad": IntegerAttr(count_include_pad, i64),
        },
        attributes=_name_attrs(op),
    )
    _finish(rewriter, op, op, [pool], pool.output)


@dataclass
class AveragePoolPattern(RewritePattern):
    """onnx.AveragePool -> quant.avg_pool (pads, ceil_mode and count_include_pad kept)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: onnx.AveragePoolOp, rewriter: PatternRewriter) -> None:
        if not runs_on_aipu(op) or not _ready(op):
            return
        kernel, strides, pads, _ = _pool_geometry(op, _shape(op.X)[2:])
        _avg_pool(rewriter, op, op.X, op.Y, kernel, strides, pads,
                  op.int_attr("ceil_mode", 0), op.int_attr("count_include_pad", 0))


@dataclass
class GlobalAveragePoolPattern(RewritePattern):
    """onnx.GlobalAveragePool -> quant.avg_pool with the HxW kernel."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: onnx.GlobalAveragePoolOp, rewriter: PatternRewriter) -> None:
        if not runs_on_aipu(op) or not _ready(op):
            return
        h, w = _shape(op.X)[2:]
        _avg_pool(rewriter, op, op.X, op.Y, [h, w], [1, 1], [0, 0, 0, 0], 0, 0)


@dataclass
class ConcatPattern(RewritePattern):
    """Channel concat -> quant.requantize on the inputs whose qparams differ, then quant.concat.

    The result's range is the union of the inputs' ranges (the representable range of a quantized
    input, the calibration of an f32 input), so an input that covers the union needs no requantize.
    """

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: onnx.ConcatOp, rewriter: PatternRewriter) -> None:
        if not runs_on_aipu(op) or not _ready(op):
            return
        ranges = []
        for v in op.inputs:
            src = _cast_source(v)
            ranges.append(_representable(quant.uniform_of(src)) if src is not None else calibration_range(v))
        lo = min(r[0] for r in ranges)
        hi = max(r[1] for r in ranges)
        el = _uniform_for_range(lo, hi, op.describe())
        new_ops: list[Operation] = []
        operands: list[SSAValue] = []
        done: dict[SSAValue, SSAValue] = {}
        for v in op.inputs:
            if v in done:
                operands.append(done[v])
                continue
            if _cast_source(v) is None:
                q = quantized(rewriter, v, el)  # quantize an f32 input straight to the result's qparams
            else:
                q = quantized(rewriter, v)
                if quant.uniform_of(q) != el:
                    rq = quant.RequantizeOp.build(
                        operands=[q], result_types=[_qtype(_shape(q), el)], attributes=_name_attrs(op)
                    )
                    new_ops.append(rq)
                    q = rq.output
            done[v] = q
            operands.append(q)
        cat = quant.ConcatOp.build(
            operands=[operands],
            result_types=[_qtype(_shape(op.concat_result), el)],
            properties={"axis": IntegerAttr(1, i64)},
            attributes=_name_attrs(op),
        )
        _finish(rewriter, op, op, new_ops + [cat], cat.output)


def _reshape(rewriter: PatternRewriter, op: onnx.OnnxOp, x_f: SSAValue, y: SSAValue) -> None:
    x = quantized(rewriter, x_f)
    r = quant.ReshapeOp.build(
        operands=[x], result_types=[_qtype(_shape(y), quant.uniform_of(x))], attributes=_name_attrs(op)
    )
    _finish(rewriter, op, op, [r], r.output)


@dataclass
class ReshapePattern(RewritePattern):
    """An order-keeping onnx.Reshape ((N, C, 1, 1) <-> (N, C)) -> quant.reshape."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: onnx.ReshapeOp, rewriter: PatternRewriter) -> None:
        if runs_on_aipu(op) and _ready(op):
            _reshape(rewriter, op, op.data, op.reshaped)


@dataclass
class FlattenPattern(RewritePattern):
    """An order-keeping onnx.Flatten ((N, C, 1, 1) -> (N, C)) -> quant.reshape."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: onnx.FlattenOp, rewriter: PatternRewriter) -> None:
        if runs_on_aipu(op) and _ready(op):
            _reshape(rewriter, op, op.X, op.Y)


@dataclass
class HostOpPattern(RewritePattern):
    """Any other onnx op stays on f32: its converted operands get their float view (dequantize)."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> None:
        if not is_host_op(op) or not _ready(op):
            return
        for v in set(op.operands):
            if _cast_source(v) is not None:
                rewriter.replace_uses_with_if(v, float_view(rewriter, v), lambda u: u.operation is op)


@dataclass
class ReturnPattern(RewritePattern):
    """Graph outputs: converted values are dequantized to f32 (results stay as in the model)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: func.ReturnOp, rewriter: PatternRewriter) -> None:
        if not _ready(op):
            return
        for v in set(op.operands):
            if _cast_source(v) is not None:
                rewriter.replace_uses_with_if(v, float_view(rewriter, v), lambda u: u.operation is op)


PATTERNS: tuple[type[RewritePattern], ...] = (
    ConvPattern,
    AddPattern,
    ReluPattern,
    MaxPoolPattern,
    AveragePoolPattern,
    GlobalAveragePoolPattern,
    ConcatPattern,
    ReshapePattern,
    FlattenPattern,
    HostOpPattern,
    ReturnPattern,
)


# ------------------------------------------------------------------------------------------------
# the pass
# ------------------------------------------------------------------------------------------------


def _cleanup(module: builtin.ModuleOp) -> None:
    """Erase the bridge casts and the onnx constants left without users (last user first)."""
    for op in reversed(list(module.walk())):
        if isinstance(op, UnrealizedConversionCastOp | onnx.ConstantOp) and not any(r.uses for r in op.results):
            op.detach()
            op.erase()


def _check(module: builtin.ModuleOp) -> None:
    for op in module.walk():
        if isinstance(op, UnrealizedConversionCastOp):
            raise PassFailedException(
                f"convert-onnx-to-quant: a bridge cast of {op.inputs[0].type} is still used by "
                f"'{next(iter(op.results[0].uses)).operation.name}'"
            )
        if not isinstance(op, onnx.OnnxOp):
            continue
        if runs_on_aipu(op):
            raise PassFailedException(f"convert-onnx-to-quant: {op.describe()} should run on the AIPU but was not converted")
        bad = [v for v in (*op.operands, *op.results) if _is_quant_type(v.type)]
        if bad:
            raise PassFailedException(
                f"convert-onnx-to-quant: host op {op.describe()} must sit on f32 values, got {bad[0].type}"
            )


@dataclass(frozen=True)
class ConvertOnnxToQuantPass(ModulePass):
    """Quantize the calibrated onnx graph to the quant level (int8 activations, per-axis weights).

    Guarantees, when the pass succeeds:

    * every onnx op that the AIPU runs (:func:`runs_on_aipu`: Conv with constant weights, same-shape
      Add, Relu, MaxPool, AveragePool, GlobalAveragePool, channel Concat, (N, C, 1, 1) <-> (N, C)
      Reshape / Flatten) is replaced by its quant op; a Conv or Add whose only user is a Relu absorbs
      it (result qparams from the Relu's range, clamp lo = result zero point);
    * activations are ``!quant.uniform`` from their calibration range (``activation_qparams``); Conv
      weights are per-axis (axis 0) symmetric int8, biases int32 ``round(b / (s_in * s_w))``;
    * every other onnx op (a host op) stays an onnx op whose operands and results are f32 (or other
      non-quant tensors such as i64 shapes), with one ``quant.dequantize`` before and one
      ``quant.quantize`` after a run of host ops, never a quantize / dequantize pair between two host
      ops;
    * the graph function keeps its f32 signature: graph inputs are f32 arguments followed by
      ``quant.quantize`` and graph outputs are dequantized to f32;
    * no ``builtin.unrealized_conversion_cast`` and no unused ``onnx.Constant`` is left.

    Fails with ``PassFailedException`` naming the op (and its ``onnx_name``) when a range it needs is
    missing, or when the result breaks one of the guarantees above.
    """

    name = "convert-onnx-to-quant"

    def apply(self, ctx: Context, op: builtin.ModuleOp) -> None:
        walker = PatternRewriteWalker(
            GreedyRewritePatternApplier([p() for p in PATTERNS], dce_enabled=False),
            apply_recursively=True,
        )
        walker.rewrite_module(op)
        _cleanup(op)
        _check(op)
