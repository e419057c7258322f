"""``onnx-fold-constants``: evaluate onnx ops whose operands are all constants."""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import builtin
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    GreedyRewritePatternApplier,
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)
from xdsl.utils.exceptions import PassFailedException

from axc.dialects import onnx
from axc.passes.onnx_utils import constant_value, erase_if_dead, make_constant
from axc.runtime.errors import ModelError
from axc.runtime.interp_onnx import evaluate_op


@dataclass(frozen=True)
class FoldConstantOperands(RewritePattern):
    """Replace one kind of onnx op whose operands are all ``onnx.Constant`` by the constant result.

    The op is evaluated with the onnx interpreter's kernels (so folding and interpretation agree);
    the new constant keeps the op's ``onnx_name``.
    """

    op_type: type[onnx.OnnxOp]

    def match_and_rewrite(self, op, rewriter: PatternRewriter, /) -> None:  # type: ignore[override]
        if type(op) is not self.op_type or not op.operands or len(op.results) != 1:
            return
        args = [constant_value(v) for v in op.operands]
        if any(a is None for a in args):
            return
        try:
            value = evaluate_op(op, args)  # type: ignore[arg-type]
        except ModelError as e:
            raise PassFailedException(str(e)) from None
        result_type = op.results[0].type
        assert isinstance(result_type, builtin.TensorType)
        if tuple(value.shape) != tuple(result_type.get_shape()):
            raise PassFailedException(
                f"{op.describe()}: folded value has shape {list(value.shape)}, "
                f"the result type says {list(result_type.get_shape())}"
            )
        const = make_constant(value, op.node_name, result_type.get_element_type())
        producers = [v.owner for v in op.operands]
        rewriter.replace(op, const)
        erase_if_dead(rewriter, producers)  # type: ignore[arg-type]


class EraseDeadConstant(RewritePattern):
    """Erase an ``onnx.Constant`` without uses."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: onnx.ConstantOp, rewriter: PatternRewriter, /) -> None:
        if not op.output.uses:
            rewriter.erase(op)


#: the ops folded when all their operands are constants (every op with operands)
FOLDABLE_OPS: tuple[type[onnx.OnnxOp], ...] = tuple(op for op in onnx.ONNX_OPS if op is not onnx.ConstantOp)


@dataclass(frozen=True)
class OnnxFoldConstantsPass(ModulePass):
    """Fold every onnx op whose operands are all constants into an ``onnx.Constant``.

    Guarantees afterwards: no onnx op other than ``onnx.Constant`` has only constant operands
    (ConstantOfShape weights, Unsqueeze / Reshape of constants, Mul / Add of constants, ... are
    evaluated with the interpreter's kernels) and no ``onnx.Constant`` is unused. The folded
    constant keeps the ``onnx_name`` of the op it replaces.
    """

    name = "onnx-fold-constants"

    def apply(self, ctx: Context, op: builtin.ModuleOp) -> None:
        patterns: list[RewritePattern] = [FoldConstantOperands(t) for t in FOLDABLE_OPS]
        patterns.append(EraseDeadConstant())
        PatternRewriteWalker(GreedyRewritePatternApplier(patterns, dce_enabled=False)).rewrite_module(op)
