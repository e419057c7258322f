"""``onnx-remove-identity``: drop ops that are the identity at inference."""

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

from axc.dialects import onnx
from axc.passes.onnx_utils import erase_if_dead


class RemoveIdentity(RewritePattern):
    """``onnx.Identity``: its users use its input."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: onnx.IdentityOp, rewriter: PatternRewriter, /) -> None:  # type: ignore[valid-type]
        rewriter.replace(op, [], [op.operands[0]])


class RemoveDropout(RewritePattern):
    """``onnx.Dropout`` at inference: its users use ``data``; ratio / training_mode inputs go."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: onnx.DropoutOp, rewriter: PatternRewriter, /) -> None:
        extra = [v.owner for v in op.extra]
        rewriter.replace(op, [], [op.data])
        erase_if_dead(rewriter, extra)  # type: ignore[arg-type]


@dataclass(frozen=True)
class OnnxRemoveIdentityPass(ModulePass):
    """Remove ``onnx.Identity`` and ``onnx.Dropout`` (inference mode: the identity on its input).

    Guarantees afterwards: no ``onnx.Identity`` or ``onnx.Dropout`` is left; a graph output that
    was one returns its input directly. Constant ratio / training_mode inputs left unused are
    erased.
    """

    name = "onnx-remove-identity"

    def apply(self, ctx: Context, op: builtin.ModuleOp) -> None:
        PatternRewriteWalker(
            GreedyRewritePatternApplier([RemoveIdentity(), RemoveDropout()], dce_enabled=False)
        ).rewrite_module(op)
