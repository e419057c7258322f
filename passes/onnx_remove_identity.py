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
from xdsl.utils.exceptions import PassFailedException

from axc.dialects import onnx
from axc.passes.onnx_utils import constant_value, erase_if_dead


class RemoveIdentity(RewritePattern):
    """``onnx.Identity``: its users use its input."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: onnx.IdentityOp, rewriter: PatternRewriter, /) -> None:  # type: ignore[valid-type]
        rewriter.replace(op, [], [op.operands[0]])


def _check_inference(op: onnx.DropoutOp) -> None:
    """Raise ``PassFailedException`` naming ``op`` unless it is inference-mode Dropout (the
    identity): training mode (``training_mode`` input true, opset >= 12; ``is_test = 0``, the
    attribute of opsets < 7) drops random elements, which the interpreter refuses as well."""
    if op.is_test is not None and op.is_test.value.data == 0:
        raise PassFailedException(f"{op.describe()}: training-mode Dropout (is_test = 0) is random and not "
                                  "supported: export the model for inference")
    if len(op.extra) >= 2:
        mode = constant_value(op.extra[1])
        if mode is None:
            raise PassFailedException(f"{op.describe()}: training_mode is not a constant, so Dropout may be "
                                      "random: export the model for inference")
        if mode.size != 1:
            raise PassFailedException(f"{op.describe()}: training_mode must be a scalar, got shape {list(mode.shape)}")
        if bool(mode.reshape(-1)[0]):
            raise PassFailedException(f"{op.describe()}: training-mode Dropout (training_mode = true) is random "
                                      "and not supported: export the model for inference")


class RemoveDropout(RewritePattern):
    """``onnx.Dropout`` at inference: its users use ``data``; ratio / training_mode inputs go.
    Training-mode Dropout is refused (``PassFailedException`` naming the node)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: onnx.DropoutOp, rewriter: PatternRewriter, /) -> None:
        _check_inference(op)
        extra = [v.owner for v in op.extra]
        rewriter.replace(op, [], [op.data])
        erase_if_dead(rewriter, extra)  # type: ignore[arg-type]


@dataclass(frozen=True)
class OnnxRemoveIdentityPass(ModulePass):
    """Remove ``onnx.Identity`` and ``onnx.Dropout`` (inference mode: the identity on its input).

    Guarantees afterwards: no ``onnx.Identity`` or ``onnx.Dropout`` is left; a graph output that
    was one returns its input directly. Constant ratio / training_mode inputs left unused are
    erased. A training-mode Dropout (``training_mode`` true or not a constant, or ``is_test = 0``)
    is random: the pass fails with one line naming the node (the onnx interpreter refuses it too).
    """

    name = "onnx-remove-identity"

    def apply(self, ctx: Context, op: builtin.ModuleOp) -> None:
        PatternRewriteWalker(
            GreedyRewritePatternApplier([RemoveIdentity(), RemoveDropout()], dce_enabled=False)
        ).rewrite_module(op)
