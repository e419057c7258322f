"""Quantized and float views of values while ``convert-onnx-to-quant`` rewrites the graph.

Contract (the rules are in the module docstring of convert_onnx_to_quant.py):

* A converted value is bridged to its f32 users by a ``builtin.unrealized_conversion_cast``
  (``bridge``); ``cast_source(v)`` is the quant tensor behind such a cast, or None.
* ``quantized(rewriter, v)``: the quant tensor of ``v``, the bridged tensor or one shared
  ``quant.quantize`` placed right after the definition of an f32 value (after the quantize ops of
  earlier graph inputs for an argument), with the qparams of its calibration or the given ones.
* ``float_view(rewriter, v)``: the f32 value of ``v``: the source of a ``quant.quantize``, one
  shared ``quant.dequantize`` placed right after the quant tensor, or ``v`` itself.
"""

from __future__ import annotations

from xdsl.dialects import builtin
from xdsl.dialects.builtin import TensorType, UnrealizedConversionCastOp
from xdsl.ir import Attribute, BlockArgument, Operation, SSAValue
from xdsl.pattern_rewriter import PatternRewriter
from xdsl.rewriter import InsertPoint
from xdsl.utils.exceptions import PassFailedException

from axc.dialects import quant
from axc.dialects.quant import UniformType
from axc.lowering.quant_qparams import is_f32_tensor, is_quant_type, qtype, shape, uniform_of_value

__all__ = ["cast_source", "quantized", "float_view", "bridge"]


def cast_source(v: SSAValue) -> SSAValue | None:
    """The quant tensor behind a quant -> f32 bridge cast, or None."""
    op = v.owner
    if isinstance(op, UnrealizedConversionCastOp) and len(op.inputs) == 1 and is_quant_type(op.inputs[0].type):
        return op.inputs[0]
    return None


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
    src = cast_source(v)
    if src is not None:
        return src
    if not is_f32_tensor(v):
        raise PassFailedException(f"cannot quantize a value of type {v.type}")
    if el is None:
        el = uniform_of_value(v)
    return _cast_after_def(rewriter, v, quant.QuantizeOp, qtype(shape(v), el), "_q")


def float_view(rewriter: PatternRewriter, v: SSAValue) -> SSAValue:
    """The f32 value for ``v`` (see the module docstring)."""
    src = cast_source(v)
    if src is None:
        return v
    if isinstance(src.owner, quant.QuantizeOp):
        return src.owner.input
    return _cast_after_def(rewriter, src, quant.DequantizeOp, TensorType(builtin.f32, list(shape(src))), "_f")


def _cast_after_def(rewriter: PatternRewriter, v: SSAValue, op_type: type[quant.QuantizeOp | quant.DequantizeOp],
                    result_type: Attribute, suffix: str) -> SSAValue:
    """The result of an existing ``op_type`` use of ``v`` with ``result_type``, or of a new one
    inserted right after ``v``'s definition (named after ``v`` with ``suffix``)."""
    for use in v.uses:
        if isinstance(use.operation, op_type) and use.operation.output.type == result_type:
            return use.operation.output
    op = op_type.build(operands=[v], result_types=[result_type])
    if v.name_hint:
        op.output.name_hint = v.name_hint + suffix
    _insert_after_def(rewriter, v, op)
    return op.output


def bridge(q: SSAValue, like: SSAValue) -> UnrealizedConversionCastOp:
    """quant -> f32 cast that stands for the converted value until its users are converted."""
    cast, _ = UnrealizedConversionCastOp.cast_one(q, like.type)
    return cast
