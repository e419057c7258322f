"""``onnx-fold-batchnorm``: BatchNormalization folded into the preceding Conv or made a Conv."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects import builtin
from xdsl.dialects.builtin import StringAttr
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    GreedyRewritePatternApplier,
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)

from axc.dialects import onnx
from axc.passes.onnx_utils import constant_value, erase_if_dead, i64_attr, int_list, make_constant, shape_of


def batchnorm_affine(op: onnx.BatchNormalizationOp) -> tuple[np.ndarray, np.ndarray] | None:
    """(a, b) with BN(x) = a[c] * x + b[c] (float64), or None if the parameters are not constants
    of shape [C]."""
    params = [constant_value(v) for v in (op.scale, op.B, op.input_mean, op.input_var)]
    if any(p is None for p in params):
        return None
    x_shape = shape_of(op.X)
    if len(x_shape) < 2:
        return None
    c = x_shape[1]
    if any(p.shape != (c,) for p in params):  # type: ignore[union-attr]
        return None
    scale, bias, mean, var = (np.asarray(p, dtype=np.float64) for p in params)  # type: ignore[arg-type]
    eps = op.float_attr("epsilon", 1e-5)
    # the kernels (and onnxruntime) add epsilon in float32
    a = scale / np.sqrt((var.astype(np.float32) + np.float32(eps)).astype(np.float64))
    return a, bias - mean * a


class FoldBatchNorm(RewritePattern):
    """``BatchNormalization(Conv(x, W, B))`` with the Conv used only by the BN: scale the Conv's
    weights and bias (W' = W * a, B' = B * a + b, a = scale / sqrt(var + eps), b = bias - mean * a).
    Any other BN on a 4-D input becomes a depthwise 1x1 ``onnx.Conv`` (group = C, weight a, bias b).
    BNs whose parameters are not constants are left alone."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: onnx.BatchNormalizationOp, rewriter: PatternRewriter, /) -> None:
        if op.int_attr("training_mode", 0):
            return
        ab = batchnorm_affine(op)
        if ab is None:
            return
        a, b = ab
        params = [v.owner for v in (op.scale, op.B, op.input_mean, op.input_var)]
        conv = op.X.owner
        if isinstance(conv, onnx.ConvOp) and conv.Y.has_one_use():
            w = constant_value(conv.W)
            cb = constant_value(conv.B) if conv.B is not None else np.zeros(shape_of(conv.W)[0])
            if w is not None and cb is not None:
                w2 = (w.astype(np.float64) * a.reshape(-1, *([1] * (w.ndim - 1)))).astype(np.float32)
                b2 = (cb.astype(np.float64) * a + b).astype(np.float32)
                wc = make_constant(w2, f"{conv.node_name}/W")
                bc = make_constant(b2, f"{conv.node_name}/B")
                attrs = dict(conv.attributes)
                new = onnx.ConvOp.create_with([conv.X, wc.output, bc.output], [op.Y.type], attrs)
                old = [conv.W.owner, conv.B.owner if conv.B is not None else None]
                rewriter.replace(op, [wc, bc, new])
                rewriter.erase(conv)
                erase_if_dead(rewriter, [*old, *params])  # type: ignore[list-item]
                return
        x_shape = shape_of(op.X)
        if len(x_shape) != 4:
            return
        c = x_shape[1]
        name = op.node_name
        wc = make_constant(a.astype(np.float32).reshape(c, 1, 1, 1), f"{name}/W")
        bc = make_constant(b.astype(np.float32), f"{name}/B")
        attrs = {
            "group": i64_attr(c),
            "kernel_shape": int_list([1, 1]),
            "pads": int_list([0, 0, 0, 0]),
            "strides": int_list([1, 1]),
            "onnx_name": StringAttr(name),
        }
        new = onnx.ConvOp.create_with([op.X, wc.output, bc.output], [op.Y.type], attrs)
        rewriter.replace(op, [wc, bc, new])
        erase_if_dead(rewriter, params)  # type: ignore[arg-type]


@dataclass(frozen=True)
class OnnxFoldBatchnormPass(ModulePass):
    """Remove inference BatchNormalization by folding it into a Conv.

    Guarantees afterwards: every BatchNormalization with constant [C] parameters on a 4-D input
    is gone. If its input is an ``onnx.Conv`` with constant weights (and constant or no bias) that
    nothing else uses, the BN is folded into that Conv's weights and bias (the Conv keeps its
    name). Otherwise (after Concat, MaxPool, a graph input, a shared Conv, ...) it becomes a
    depthwise 1x1 Conv (group = C, weight [C, 1, 1, 1] = scale / sqrt(var + eps), bias = B -
    mean * that) named after the BN, so the hardware runs it. Folding is computed in float64 and
    stored as f32.
    """

    name = "onnx-fold-batchnorm"

    def apply(self, ctx: Context, op: builtin.ModuleOp) -> None:
        PatternRewriteWalker(GreedyRewritePatternApplier([FoldBatchNorm()], dce_enabled=False)).rewrite_module(op)
