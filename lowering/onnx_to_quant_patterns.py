"""The rewrite patterns of ``convert-onnx-to-quant``: one ``RewritePattern`` per source op.

Contract: each pattern fires only on an op whose operands are all converted already (``_ready``:
no operand is made by an onnx op that will run on the AIPU but is still unconverted), so the walk
converts producers before consumers. An AIPU op (:func:`runs_on_aipu`) is replaced by its quant
op(s), inserted before it, on the quantized views of its operands; its result is bridged back to
f32 for its users still to be converted (``_finish``); a Conv or Add whose only user is a Relu
absorbs it. ``HostOpPattern`` and ``ReturnPattern`` give host ops and the graph outputs the float
views of their converted operands. ``PATTERNS`` lists them all for the pass. Errors are
``PassFailedException`` naming the op.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import IntegerAttr, TensorType, i8, i32, i64
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.pattern_rewriter import PatternRewriter, RewritePattern, op_type_rewrite_pattern
from xdsl.rewriter import InsertPoint
from xdsl.utils.exceptions import PassFailedException

from axc.dialects import onnx, quant
from axc.dialects.quant import UniformPerAxisType, UniformType, i64_array
from axc.lowering.aipu_placement import is_host_op, lut_activation, mul_operands, runs_on_aipu
from axc.lowering.lut_tables import lut_table
from axc.lowering.onnx_importer import dense_from_numpy, numpy_from_dense
from axc.lowering.quant_qparams import (
    QuantizationWarning,
    bias_safe_weight_scales,
    calibration_range,
    const_of,
    qtype,
    representable,
    shape,
    uniform_for_range,
    uniform_of_value,
)
from axc.lowering.quant_views import bridge, cast_source, float_view, quantized
from axc.runtime.quantization import INT8_MAX, WEIGHT_QMAX, quantize, quantize_bias, weight_qparams_per_axis

__all__ = [
    "PATTERNS",
    "ConvPattern",
    "AddPattern",
    "MulPattern",
    "ReluPattern",
    "MaxPoolPattern",
    "AveragePoolPattern",
    "GlobalAveragePoolPattern",
    "ConcatPattern",
    "ReshapePattern",
    "FlattenPattern",
    "LutPattern",
    "HostOpPattern",
    "ReturnPattern",
]


def _const_array(op: onnx.ConstantOp) -> np.ndarray:
    """The f32 value of an ``onnx.Constant`` as a numpy array (splats broadcast)."""
    assert op.value is not None
    return np.asarray(numpy_from_dense(op.value), dtype=np.float32)


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


def _pending(v: SSAValue) -> bool:
    """The value is made by an onnx op that will become a quant op but has not yet."""
    return runs_on_aipu(v.owner) if isinstance(v.owner, Operation) else False


def _sole_relu_user(v: SSAValue) -> onnx.ReluOp | None:
    uses = list(v.uses)
    if len(uses) == 1 and isinstance(uses[0].operation, onnx.ReluOp):
        return uses[0].operation  # type: ignore[return-value]
    return None


def _output_qparams(op: onnx.OnnxOp, result: SSAValue) -> tuple[UniformType, tuple[int, int] | None, Operation]:
    """(result qparams, clamp or None, op to replace) for an op that may absorb its Relu user."""
    relu = _sole_relu_user(result)
    if relu is not None:
        el = uniform_of_value(relu.Y)
        return el, (el.zp, INT8_MAX), relu
    return uniform_of_value(result), None, op


def _finish(rewriter: PatternRewriter, src: onnx.OnnxOp, last: Operation, new_ops: list[Operation],
            qresult: SSAValue) -> None:
    """Insert ``new_ops`` before ``src``, bridge ``qresult`` to the users of ``last`` and erase."""
    replaced = last.results[0]
    cast = bridge(qresult, replaced)
    if replaced.name_hint and not qresult.name_hint:
        qresult.name_hint = replaced.name_hint
    rewriter.insert(new_ops + [cast], InsertPoint.before(src))
    rewriter.replace_all_uses_with(replaced, cast.results[0])
    if last is not src:
        rewriter.erase(last)
    rewriter.erase(src)


def _ready(op: Operation) -> bool:
    return not any(_pending(v) for v in op.operands)


def _fit_bias(op: onnx.ConvOp, w: np.ndarray, wq: np.ndarray, ws: np.ndarray, b: np.ndarray,
              s_in: float) -> tuple[np.ndarray, np.ndarray]:
    """(int8 weights, scales) with the scales of channels whose bias would overflow int32 raised
    (``bias_safe_weight_scales``) and those channels requantized; warns naming the node and channels."""
    safe, raised = bias_safe_weight_scales(b, s_in, ws, int(np.prod(w.shape[1:])))
    if not raised.size:
        return wq, ws
    wq = wq.copy()
    wq[raised] = quantize(w[raised], safe[raised].reshape(-1, *([1] * (w.ndim - 1))), 0,
                          qmin=-WEIGHT_QMAX, qmax=WEIGHT_QMAX)
    shown = ", ".join(str(int(c)) for c in raised[:8]) + (f", ... ({raised.size} channels)" if raised.size > 8 else "")
    factor = float(np.max(safe[raised].astype(np.float64) / ws[raised].astype(np.float64)))
    warnings.warn(
        f"{op.describe()}: bias of output channel(s) {shown} does not fit in int32 at input scale {s_in:.3g}; "
        f"their weight scales are raised (up to {factor:.3g}x) so that it does",
        QuantizationWarning, stacklevel=2,
    )
    return wq, safe


@dataclass
class ConvPattern(RewritePattern):
    """onnx.Conv (+ its sole Relu user) -> quant.conv2d with per-axis int8 weights and int32 bias."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: onnx.ConvOp, rewriter: PatternRewriter) -> None:
        if not runs_on_aipu(op) or not _ready(op):
            return
        x = quantized(rewriter, op.X)
        s_in = quant.uniform_of(x).s
        w_const = const_of(op.W)
        assert w_const is not None
        w = _const_array(w_const)
        try:
            wq, ws = weight_qparams_per_axis(w, 0)
        except ValueError as e:
            raise PassFailedException(f"{op.describe()}: {e}") from e
        b_const = const_of(op.B)
        b = _const_array(b_const) if b_const is not None else np.zeros(w.shape[0], np.float32)
        if not np.all(np.isfinite(b)):
            raise PassFailedException(f"{op.describe()}: bias contains NaN or infinite values")
        wq, ws = _fit_bias(op, w, wq, ws, b, s_in)
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
        pads = _explicit_pads(op, shape(op.X)[2:], w.shape[2:], strides, dilations)
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
            result_types=[qtype(shape(op.Y), el)],
            properties=props,
            attributes=_name_attrs(op),
        )
        _finish(rewriter, op, last, [wop, bop, conv], conv.output)


@dataclass
class AddPattern(RewritePattern):
    """onnx.Add of two same-shape activations (+ its sole Relu user) -> quant.add."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: onnx.AddOp, rewriter: PatternRewriter) -> None:
        if not runs_on_aipu(op) or lut_activation(op) is not None or not _ready(op):
            return
        a = quantized(rewriter, op.A)
        b = quantized(rewriter, op.B)
        el, clamp, last = _output_qparams(op, op.C)
        props: dict[str, Attribute] = {}
        if clamp is not None:
            props["clamp"] = i64_array(clamp)
        add = quant.AddOp.build(
            operands=[a, b], result_types=[qtype(shape(op.C), el)], properties=props,
            attributes=_name_attrs(op),
        )
        _finish(rewriter, op, last, [add], add.output)


@dataclass
class MulPattern(RewritePattern):
    """onnx.Mul of two activations (same shape, or (N, C, H, W) by (N, C, 1, 1): ``mul_operands``)
    -> quant.mul with the larger operand first; result qparams from the Mul's calibration range."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: onnx.MulOp, rewriter: PatternRewriter) -> None:
        operands = mul_operands(op)
        if operands is None or not _ready(op):
            return
        a, b = (quantized(rewriter, v) for v in operands)
        mul = quant.MulOp.build(operands=[a, b], result_types=[qtype(shape(op.C), uniform_of_value(op.C))],
                                attributes=_name_attrs(op))
        _finish(rewriter, op, op, [mul], mul.output)


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
        kernel, strides, pads, dilations = _pool_geometry(op, shape(op.X)[2:])
        pool = quant.MaxPoolOp.build(
            operands=[x],
            result_types=[qtype(shape(op.Y), quant.uniform_of(x))],
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
              ceil_mode: int, count_include_pad: int, dilations: Sequence[int] = (1, 1)) -> None:
    x = quantized(rewriter, x_f)
    props: dict[str, Attribute] = {
        "kernel": i64_array(kernel),
        "strides": i64_array(strides),
        "pads": i64_array(pads),
        "ceil_mode": IntegerAttr(ceil_mode, i64),
        "count_include_pad": IntegerAttr(count_include_pad, i64),
    }
    if tuple(dilations) != (1, 1):
        props["dilations"] = i64_array(dilations)
    pool = quant.AvgPoolOp.build(
        operands=[x],
        result_types=[qtype(shape(y), uniform_of_value(y))],
        properties=props,
        attributes=_name_attrs(op),
    )
    _finish(rewriter, op, op, [pool], pool.output)


@dataclass
class AveragePoolPattern(RewritePattern):
    """onnx.AveragePool -> quant.avg_pool (pads, dilations, ceil_mode and count_include_pad kept)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: onnx.AveragePoolOp, rewriter: PatternRewriter) -> None:
        if not runs_on_aipu(op) or not _ready(op):
            return
        kernel, strides, pads, dilations = _pool_geometry(op, shape(op.X)[2:])
        _avg_pool(rewriter, op, op.X, op.Y, kernel, strides, pads,
                  op.int_attr("ceil_mode", 0), op.int_attr("count_include_pad", 0), dilations)


@dataclass
class GlobalAveragePoolPattern(RewritePattern):
    """onnx.GlobalAveragePool -> quant.avg_pool with the HxW kernel."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: onnx.GlobalAveragePoolOp, rewriter: PatternRewriter) -> None:
        if not runs_on_aipu(op) or not _ready(op):
            return
        h, w = shape(op.X)[2:]
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
            src = cast_source(v)
            ranges.append(representable(quant.uniform_of(src)) if src is not None else calibration_range(v))
        lo = min(r[0] for r in ranges)
        hi = max(r[1] for r in ranges)
        el = uniform_for_range(lo, hi, op.describe())
        new_ops: list[Operation] = []
        operands: list[SSAValue] = []
        done: dict[SSAValue, SSAValue] = {}
        for v in op.inputs:
            if v in done:
                operands.append(done[v])
                continue
            if cast_source(v) is None:
                q = quantized(rewriter, v, el)  # quantize an f32 input straight to the result's qparams
            else:
                q = quantized(rewriter, v)
                if quant.uniform_of(q) != el:
                    rq = quant.RequantizeOp.build(
                        operands=[q], result_types=[qtype(shape(q), el)], attributes=_name_attrs(op)
                    )
                    new_ops.append(rq)
                    q = rq.output
            done[v] = q
            operands.append(q)
        cat = quant.ConcatOp.build(
            operands=[operands],
            result_types=[qtype(shape(op.concat_result), el)],
            properties={"axis": IntegerAttr(1, i64)},
            attributes=_name_attrs(op),
        )
        _finish(rewriter, op, op, new_ops + [cat], cat.output)


def _reshape(rewriter: PatternRewriter, op: onnx.OnnxOp, x_f: SSAValue, y: SSAValue) -> None:
    x = quantized(rewriter, x_f)
    r = quant.ReshapeOp.build(
        operands=[x], result_types=[qtype(shape(y), quant.uniform_of(x))], attributes=_name_attrs(op)
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
class LutPattern(RewritePattern):
    """An element-wise function of one activation (Sigmoid, HardSwish, Clip, ``x * 6``, ...: see
    ``lut_tables.lut_input``) -> quant.lut, its table built at the input's qparams and the result's
    (from the op's calibration range). Matches any onnx op kind; only those :func:`lut_activation`
    accepts fire."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> None:
        if not isinstance(op, onnx.OnnxOp) or not runs_on_aipu(op) or not _ready(op):
            return
        x_f = lut_activation(op)
        if x_f is None:
            return
        x = quantized(rewriter, x_f)
        y = op.results[0]
        el = uniform_of_value(y)
        table = lut_table(op, x_f, quant.uniform_of(x), el)
        lut = quant.LutOp.build(
            operands=[x], result_types=[qtype(shape(y), el)],
            properties={"table": dense_from_numpy(table, i8)}, attributes=_name_attrs(op),
        )
        _finish(rewriter, op, op, [lut], lut.output)


@dataclass
class HostOpPattern(RewritePattern):
    """Any other onnx op stays on f32: its converted operands get their float view (dequantize)."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> None:
        if not is_host_op(op) or not _ready(op):
            return
        for v in set(op.operands):
            if cast_source(v) is not None:
                rewriter.replace_uses_with_if(v, float_view(rewriter, v), lambda u: u.operation is op)


@dataclass
class ReturnPattern(RewritePattern):
    """Graph outputs: converted values are dequantized to f32 (results stay as in the model)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: func.ReturnOp, rewriter: PatternRewriter) -> None:
        if not _ready(op):
            return
        for v in set(op.operands):
            if cast_source(v) is not None:
                rewriter.replace_uses_with_if(v, float_view(rewriter, v), lambda u: u.operation is op)


PATTERNS: tuple[type[RewritePattern], ...] = (
    ConvPattern,
    AddPattern,
    MulPattern,
    ReluPattern,
    MaxPoolPattern,
    AveragePoolPattern,
    GlobalAveragePoolPattern,
    ConcatPattern,
    ReshapePattern,
    FlattenPattern,
    LutPattern,
    HostOpPattern,
    ReturnPattern,
)
