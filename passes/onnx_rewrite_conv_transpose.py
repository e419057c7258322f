"""``onnx-rewrite-conv-transpose``: a non-overlapping ConvTranspose as a 1x1 Conv and a DepthToSpace.

A 2-D ``ConvTranspose`` whose kernel equals its stride (k x k, stride k: the upsampling heads of DB
text detectors, U-Nets, FPNs) writes every output pixel from exactly one input pixel:

    y[n, o, k*i + a, k*j + b] = sum_c x[n, c, i, j] * W[c, o, a, b] + B[o]

which is a 1x1 Conv with O*k*k output channels, ``W'[o*k*k + a*k + b, c] = W[c, o, a, b]`` (bias
``B'[o*k*k + a*k + b] = B[o]``), followed by ``DepthToSpace(blocksize=k, mode="CRD")``: the same
products and sums, so the MACs run on the MVM array and the pixel shuffle is data movement.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects import builtin
from xdsl.dialects.builtin import IntegerAttr, StringAttr, TensorType, i64
from xdsl.ir import Operation
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    GreedyRewritePatternApplier,
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
)

from axc.dialects import onnx
from axc.passes.onnx_utils import constant_value, erase_if_dead, int_list, make_constant, shape_of

__all__ = ["OnnxRewriteConvTransposePass", "ConvTransposeToConvDepthToSpace"]


def _ints(op: onnx.OnnxOp, key: str, default: list[int]) -> list[int]:
    v = op.ints_attr(key)
    return default if v is None else v


class ConvTransposeToConvDepthToSpace(RewritePattern):
    """Rewrite one ``onnx.ConvTranspose`` (see the module docstring for when and how)."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter, /) -> None:
        if op.name != "onnx.ConvTranspose" or not isinstance(op, onnx.OnnxOp):
            return
        if op.attributes.get("axc.placement") == StringAttr("host") or not 2 <= len(op.operands) <= 3:
            return
        w = constant_value(op.operands[1])
        b = constant_value(op.operands[2]) if len(op.operands) == 3 else None
        x_shape = shape_of(op.operands[0])
        if w is None or w.ndim != 4 or len(x_shape) != 4 or (len(op.operands) == 3 and b is None):
            return
        c, o, kh, kw = w.shape
        strides = _ints(op, "strides", [1, 1])
        if kh != kw or strides != [kh, kw] or kh < 2:
            return
        if (op.int_attr("group", 1) != 1 or _ints(op, "dilations", [1, 1]) != [1, 1]
                or any(_ints(op, "pads", [0, 0, 0, 0])) or any(_ints(op, "output_padding", [0, 0]))
                or "output_shape" in op.attributes or op.str_attr("auto_pad", "NOTSET") not in ("NOTSET", "VALID")):
            return
        k = kh
        n, _, h, wd = x_shape
        name = op.node_name
        w2 = np.ascontiguousarray(np.asarray(w, np.float32).transpose(1, 2, 3, 0).reshape(o * k * k, c, 1, 1))
        new_ops: list[Operation] = [make_constant(w2, f"{name}/W")]
        operands = [op.operands[0], new_ops[0].results[0]]
        if b is not None:
            new_ops.append(make_constant(np.repeat(np.asarray(b, np.float32), k * k), f"{name}/B"))
            operands.append(new_ops[-1].results[0])
        et = op.results[0].type.get_element_type()  # type: ignore[union-attr]
        conv = onnx.ConvOp.create_with(
            operands, [TensorType(et, [n, o * k * k, h, wd])],
            {"kernel_shape": int_list([1, 1]), "pads": int_list([0, 0, 0, 0]), "strides": int_list([1, 1]),
             "onnx_name": StringAttr(name)},
        )
        d2s = onnx.OP_BY_ONNX_TYPE["DepthToSpace"].create_with(
            [conv.Y], [op.results[0].type],
            {"blocksize": IntegerAttr(k, i64), "mode": StringAttr("CRD"), "onnx_name": StringAttr(f"{name}/shuffle")},
        )
        producers = [v.owner for v in op.operands[1:]]
        rewriter.replace(op, [*new_ops, conv, d2s])
        erase_if_dead(rewriter, producers)  # type: ignore[arg-type]


@dataclass(frozen=True)
class OnnxRewriteConvTransposePass(ModulePass):
    """Run non-overlapping 2-D ConvTransposes on the MVM array.

    Guarantees afterwards: every ``onnx.ConvTranspose`` with constant weights (and bias), a square
    k x k kernel with stride k (k >= 2), group 1, no dilation, padding, output padding or output
    shape, is an ``onnx.Conv`` 1x1 with O*k*k output channels (the ConvTranspose's name) followed
    by an ``onnx.DepthToSpace`` (``<name>/shuffle``, blocksize k, mode CRD) computing the same
    values. Any other ConvTranspose is left as it is (a host op).
    """

    name = "onnx-rewrite-conv-transpose"

    def apply(self, ctx: Context, op: builtin.ModuleOp) -> None:
        PatternRewriteWalker(
            GreedyRewritePatternApplier([ConvTransposeToConvDepthToSpace()], dce_enabled=False)
        ).rewrite_module(op)
