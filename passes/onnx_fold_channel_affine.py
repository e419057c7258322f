"""``onnx-fold-channel-affine``: per-channel Mul / Add by constants folded into the preceding Conv."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects import builtin
from xdsl.ir import Operation
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    GreedyRewritePatternApplier,
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)

from axc.dialects import onnx
from axc.passes.onnx_utils import constant_value, erase_if_dead, make_constant, shape_of


def _conv_and_channel_constant(op: Operation) -> tuple[onnx.ConvOp, np.ndarray, Operation | None] | None:
    """For a binary ``op``: (the Conv feeding it, the per-channel constant as [C] float64, the
    constant's op) if one operand is a single-use Conv with constant weights and the other a
    constant broadcastable per channel ([C,1,1], [1,C,1,1], [1], scalar, ...) that does not change
    the Conv's result shape."""
    a, b = op.operands
    for x, k in ((a, b), (b, a)):
        conv = x.owner
        c = constant_value(k)
        if not isinstance(conv, onnx.ConvOp) or c is None or not conv.Y.has_one_use():
            continue
        if constant_value(conv.W) is None or (conv.B is not None and constant_value(conv.B) is None):
            continue
        y_shape = shape_of(conv.Y)
        if shape_of(op.results[0]) != y_shape or c.ndim > len(y_shape):
            continue
        if np.broadcast_shapes(y_shape, c.shape) != y_shape:
            continue
        c4 = (1,) * (len(y_shape) - c.ndim) + c.shape
        if any(d != 1 for i, d in enumerate(c4) if i != 1):
            continue
        ch = np.broadcast_to(c.reshape(-1).astype(np.float64), (y_shape[1],))
        return conv, ch, k.owner if isinstance(k.owner, Operation) else None
    return None


def _replace_conv(
    rewriter: PatternRewriter, op: Operation, conv: onnx.ConvOp, w: np.ndarray, bias: np.ndarray, dead: list
) -> None:
    wc = make_constant(w.astype(np.float32), f"{conv.node_name}/W")
    bc = make_constant(bias.astype(np.float32), f"{conv.node_name}/B")
    new = onnx.ConvOp.create_with([conv.X, wc.output, bc.output], [op.results[0].type], dict(conv.attributes))
    old = [conv.W.owner, conv.B.owner if conv.B is not None else None]
    rewriter.replace(op, [wc, bc, new])
    rewriter.erase(conv)
    erase_if_dead(rewriter, [*old, *dead])


def _weights(conv: onnx.ConvOp) -> tuple[np.ndarray, np.ndarray]:
    w = constant_value(conv.W)
    assert w is not None
    b = constant_value(conv.B) if conv.B is not None else None
    oc = w.shape[0]
    return w.astype(np.float64), (b.astype(np.float64) if b is not None else np.zeros(oc))


class FoldChannelMul(RewritePattern):
    """``Mul(Conv(x, W, B), s)`` with s constant per channel: ``Conv(x, W * s, B * s)``."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: onnx.MulOp, rewriter: PatternRewriter, /) -> None:  # type: ignore[valid-type]
        m = _conv_and_channel_constant(op)
        if m is None:
            return
        conv, s, k = m
        w, b = _weights(conv)
        _replace_conv(rewriter, op, conv, w * s.reshape(-1, *([1] * (w.ndim - 1))), b * s, [k])


class FoldChannelAdd(RewritePattern):
    """``Add(Conv(x, W, B), t)`` with t constant per channel: ``Conv(x, W, B + t)``."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: onnx.AddOp, rewriter: PatternRewriter, /) -> None:  # type: ignore[valid-type]
        m = _conv_and_channel_constant(op)
        if m is None:
            return
        conv, t, k = m
        w, b = _weights(conv)
        _replace_conv(rewriter, op, conv, w, b + t, [k])


@dataclass(frozen=True)
class OnnxFoldChannelAffinePass(ModulePass):
    """Fold per-channel scales and shifts into the Conv that produces their input.

    Guarantees afterwards: no ``onnx.Mul`` / ``onnx.Add`` whose operands are a Conv result used
    only there (constant weights and bias) and a constant broadcastable per output channel
    ([C, 1, 1], [1, C, 1, 1], [1] or a scalar, not growing the result) is left: the Mul scales the
    Conv's weights and bias, the Add adds to its bias (a bias is created if the Conv had none).
    The Conv keeps its name. Run after ``onnx-fold-constants`` (the constants of DenseNet and
    Inception v2 are Unsqueeze'd initializers) and ``onnx-fold-batchnorm``.
    """

    name = "onnx-fold-channel-affine"

    def apply(self, ctx: Context, op: builtin.ModuleOp) -> None:
        PatternRewriteWalker(
            GreedyRewritePatternApplier([FoldChannelMul(), FoldChannelAdd()], dce_enabled=False)
        ).rewrite_module(op)


