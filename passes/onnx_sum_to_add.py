"""``onnx-sum-to-add``: n-ary ``onnx.Sum`` as a chain of binary ``onnx.Add``."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects import builtin
from xdsl.dialects.builtin import StringAttr, TensorType
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    GreedyRewritePatternApplier,
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)

from axc.dialects import onnx
from axc.passes.onnx_utils import shape_of


class SumToAdd(RewritePattern):
    """``Sum(a, b, c)`` -> ``Add(Add(a, b), c)``; ``Sum(a)`` -> ``a``.

    The last Add keeps the Sum's ``onnx_name``; the others are named ``<name>/add<i>``.
    """

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: onnx.SumOp, rewriter: PatternRewriter, /) -> None:
        inputs = list(op.data_0)
        if len(inputs) == 1:
            rewriter.replace(op, [], [inputs[0]])
            return
        result_type = op.sum.type
        assert isinstance(result_type, TensorType)
        new_ops: list[Operation] = []
        acc: SSAValue = inputs[0]
        for i, x in enumerate(inputs[1:], start=1):
            last = i == len(inputs) - 1
            if last:
                t = result_type
                name = op.node_name
            else:
                shape = np.broadcast_shapes(shape_of(acc), shape_of(x))
                t = TensorType(result_type.get_element_type(), list(shape))
                name = f"{op.node_name}/add{i - 1}"
            add = onnx.AddOp.create_with([acc, x], [t], {"onnx_name": StringAttr(name)})
            new_ops.append(add)
            acc = add.results[0]
        rewriter.replace(op, new_ops)


@dataclass(frozen=True)
class OnnxSumToAddPass(ModulePass):
    """Rewrite every ``onnx.Sum`` into binary ``onnx.Add`` ops (left to right).

    Guarantees afterwards: no ``onnx.Sum`` is left. A Sum of one input is removed; a Sum of n
    inputs becomes n-1 Adds whose intermediate types are the broadcast of their operands.
    """

    name = "onnx-sum-to-add"

    def apply(self, ctx: Context, op: builtin.ModuleOp) -> None:
        PatternRewriteWalker(GreedyRewritePatternApplier([SumToAdd()], dce_enabled=False)).rewrite_module(op)
