"""Helpers shared by the onnx graph passes: constants as numpy, new constants, dead-op cleanup."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from xdsl.dialects.builtin import DenseArrayBase, IntegerAttr, StringAttr, TensorType, f32, i64
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.pattern_rewriter import PatternRewriter

from axc.dialects import onnx
from axc.lowering.onnx_importer import dense_from_numpy, numpy_from_dense


def constant_value(v: SSAValue | None) -> np.ndarray | None:
    """The numpy value of ``v`` if it is the result of an ``onnx.Constant`` (read-only view)."""
    if v is None:
        return None
    owner = v.owner
    if isinstance(owner, onnx.ConstantOp) and owner.value is not None:
        return numpy_from_dense(owner.value)
    return None


def shape_of(v: SSAValue) -> tuple[int, ...]:
    t = v.type
    assert isinstance(t, TensorType)
    return tuple(t.get_shape())


def make_constant(arr: np.ndarray, name: str, element_type: Attribute | None = None) -> onnx.ConstantOp:
    """A new ``onnx.Constant`` holding ``arr`` (float arrays become f32 unless told otherwise)."""
    if element_type is None:
        element_type = i64 if arr.dtype.kind in "iu" else f32
    attr = dense_from_numpy(arr, element_type)
    return onnx.ConstantOp.create_with([], [attr.type], {"value": attr, "onnx_name": StringAttr(name)})  # type: ignore[return-value]


def int_list(values: Sequence[int]) -> DenseArrayBase:
    return DenseArrayBase.from_list(i64, [int(v) for v in values])


def i64_attr(v: int) -> IntegerAttr:
    return IntegerAttr(int(v), i64)


def erase_if_dead(rewriter: PatternRewriter, ops: Sequence[Operation | None]) -> None:
    """Erase each given onnx op whose results are all unused, then its now-dead producers."""
    work = [op for op in ops if op is not None]
    while work:
        op = work.pop()
        if op.parent is None or not isinstance(op, onnx.OnnxOp):
            continue
        if any(r.uses for r in op.results):
            continue
        producers = [o.owner for o in op.operands if isinstance(o.owner, Operation)]
        rewriter.erase(op)
        work.extend(producers)
