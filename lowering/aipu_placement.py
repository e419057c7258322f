"""Which onnx ops run on the AIPU (and become quant ops) and which stay host ops on f32.

Contract: ``runs_on_aipu(op)`` is true exactly for the onnx ops ``convert-onnx-to-quant`` lowers
to quant ops, decided from the op and the types / producers of its operands only: Conv of a 4-D
activation with constant weights (and bias), Add of two same-shape activations, Mul of two
activations of one shape or of (N, C, H, W) and (N, C, 1, 1) (``mul_operands``), Relu, MaxPool /
AveragePool / GlobalAveragePool of a 4-D activation, channel Concat of activations (rank 2 or 4),
order-keeping Reshape / Flatten ((N, C, 1, 1) <-> (N, C) or an unchanged shape), and the
element-wise functions of one activation that become a table lookup (``lut_tables.lut_input``:
Sigmoid, HardSwish, Clip, ``x * 6`` ...), all with f32 results, and every activation operand and
result (1, C, H, W) or (1, C). An activation is an f32 tensor not made by ``onnx.Constant``.
``is_host_op(op)``: any
other onnx op except ``onnx.Constant``.
"""

from __future__ import annotations

import math

from xdsl.dialects.builtin import StringAttr
from xdsl.ir import Operation, SSAValue

from axc.dialects import onnx
from axc.lowering.lut_tables import lut_input
from axc.lowering.quant_qparams import const_of, is_f32_tensor, shape

__all__ = ["runs_on_aipu", "is_host_op", "lut_activation", "mul_operands"]


def _order_keeping_reshape(in_shape: tuple[int, ...], out_shape: tuple[int, ...]) -> bool:
    """(N, C, 1, 1) <-> (N, C) or an unchanged shape: the same bytes in HWC (and NCHW) order."""
    if in_shape == out_shape:
        return True
    if len(in_shape) == 4 and len(out_shape) == 2:
        return in_shape[2:] == (1, 1) and in_shape[:2] == out_shape
    if len(in_shape) == 2 and len(out_shape) == 4:
        return out_shape[2:] == (1, 1) and out_shape[:2] == in_shape
    return False


def _frame_shape(s: tuple[int, ...]) -> bool:
    """(1, C, H, W) or (1, C) with positive sizes: what the tile level stores (one HWC frame)."""
    return len(s) in (2, 4) and s[0] == 1 and all(d > 0 for d in s)


def _activation(v: SSAValue) -> bool:
    """An f32 tensor computed by the graph (not an ``onnx.Constant``): what the AIPU consumes."""
    return is_f32_tensor(v) and const_of(v) is None


def runs_on_aipu(op: Operation) -> bool:
    """True for the onnx ops that ``convert-onnx-to-quant`` lowers to quant ops.

    Every other onnx op (except ``onnx.Constant``) is a host op: it stays on f32.
    """
    if not isinstance(op, onnx.OnnxOp) or isinstance(op, onnx.ConstantOp):
        return False
    if op.attributes.get("axc.placement") == StringAttr("host"):  # onnx-place sent it to the host
        return False
    if not all(is_f32_tensor(r) for r in op.results):
        return False
    # the tile level stores one frame HWC: (1, C, H, W) or (1, C) tensors only
    if not all(_frame_shape(shape(v)) for v in (*op.operands, *op.results) if _activation(v)):
        return False
    if isinstance(op, onnx.ConvOp):
        return (
            len(shape(op.X)) == 4
            and _activation(op.X)
            and const_of(op.W) is not None
            and (op.B is None or const_of(op.B) is not None)
        )
    if isinstance(op, onnx.AddOp) and _activation(op.A) and _activation(op.B):
        return shape(op.A) == shape(op.B) == shape(op.C)
    if mul_operands(op) is not None:
        return True
    if isinstance(op, onnx.ReluOp):
        return _activation(op.X)
    if isinstance(op, onnx.MaxPoolOp | onnx.AveragePoolOp | onnx.GlobalAveragePoolOp):
        return len(shape(op.X)) == 4 and _activation(op.X)
    if isinstance(op, onnx.ConcatOp):
        rank = len(shape(op.concat_result))
        axis = op.int_attr("axis", 1)
        axis = axis + rank if axis < 0 else axis
        return rank in (2, 4) and axis == 1 and all(_activation(v) for v in op.inputs)
    if isinstance(op, onnx.ReshapeOp):
        return _activation(op.data) and _order_keeping_reshape(shape(op.data), shape(op.reshaped))
    if isinstance(op, onnx.FlattenOp):
        return _activation(op.X) and _order_keeping_reshape(shape(op.X), shape(op.Y))
    return lut_activation(op) is not None


def mul_operands(op: Operation) -> tuple[SSAValue, SSAValue] | None:
    """(larger, smaller) operands of an onnx Mul that runs on the AIPU as a ``quant.mul``, else None.

    Both operands are distinct activations (``x * x`` is a table lookup, ``lut_activation``) of rank
    2 or 4 with the same shape, or one is (N, C, H, W) and the other (N, C, 1, 1) (squeeze-excitation
    gating); the result has the larger operand's shape. Mul is commutative: the larger comes first.
    """
    if not isinstance(op, onnx.MulOp) or not (_activation(op.A) and _activation(op.B)) or op.A is op.B:
        return None
    a, b = op.A, op.B
    if math.prod(shape(b)) > math.prod(shape(a)):
        a, b = b, a
    sa, sb = shape(a), shape(b)
    if len(sa) not in (2, 4) or shape(op.C) != sa:
        return None
    if sb == sa or (len(sa) == 4 and sb == (sa[0], sa[1], 1, 1)):
        return a, b
    return None


def lut_activation(op: Operation) -> SSAValue | None:
    """The activation of an onnx op that runs on the AIPU as a ``quant.lut`` (None otherwise): the
    ops of ``lut_tables.lut_input`` except an Add of two activations (that is a ``quant.add``)."""
    if isinstance(op, onnx.AddOp) and _activation(op.A) and _activation(op.B):
        return None
    x = lut_input(op)
    return x if x is not None and _activation(x) else None


def is_host_op(op: Operation) -> bool:
    """An onnx op that stays on f32 and runs on the host."""
    return isinstance(op, onnx.OnnxOp) and not isinstance(op, onnx.ConstantOp) and not runs_on_aipu(op)
