"""``onnx-rewrite-dense-to-conv2d``: Gemm / MatMul by constant weights as ``onnx.Conv``."""

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
from axc.passes.onnx_utils import constant_value, erase_if_dead, int_list, make_constant, shape_of


def placed_on_host(op: Operation) -> bool:
    """``onnx-place`` sent ``op`` to the host (``axc.placement = "host"``): a CPU fallback or graph
    cleaner decision that a rewrite into an AIPU op must not undo."""
    return op.attributes.get("axc.placement") == StringAttr("host")


def flattened_4d(v: SSAValue) -> tuple[SSAValue, Operation] | None:
    """If ``v`` (N, K) is an ``onnx.Reshape`` / ``onnx.Flatten`` of a 4-D (N, C, H, W) value with
    K = C * H * W (the same bytes in the same order), return (that 4-D value, the reshape op)."""
    op = v.owner
    if not isinstance(op, (onnx.ReshapeOp, onnx.FlattenOp)):
        return None
    x = op.operands[0]
    xs, vs = shape_of(x), shape_of(v)
    if len(xs) != 4 or len(vs) != 2 or vs != (xs[0], xs[1] * xs[2] * xs[3]):
        return None
    return x, op


def _reshape(x: SSAValue, shape: list[int], name: str) -> list[Operation]:
    """Ops computing ``onnx.Reshape(x, shape)`` (a new i64 shape constant and the Reshape)."""
    sc = make_constant(np.array(shape, dtype=np.int64), f"{name}/shape")
    t = x.type
    assert isinstance(t, TensorType)
    r = onnx.ReshapeOp.create_with(
        [x, sc.output], [TensorType(t.get_element_type(), shape)], {"onnx_name": StringAttr(name)}
    )
    return [sc, r]


def _dense_to_conv(
    rewriter: PatternRewriter,
    op: Operation,
    a: SSAValue,
    w_mk: np.ndarray,
    bias: np.ndarray | None,
    dead: list[Operation | None],
) -> None:
    """Replace ``op`` (result (N, M) = a (N, K) @ w_mk (M, K)^T + bias) by a Conv."""
    name = op.node_name  # type: ignore[attr-defined]
    n, k = shape_of(a)
    m = w_mk.shape[0]
    new_ops: list[Operation] = []
    src = flattened_4d(a)
    if src is not None:
        x, flat = src
        _, c, h, w = shape_of(x)
    else:
        flat = None
        new_ops += _reshape(a, [n, k, 1, 1], f"{name}/reshape_in")
        x, c, h, w = new_ops[-1].results[0], k, 1, 1
    wc = make_constant(np.ascontiguousarray(w_mk, dtype=np.float32).reshape(m, c, h, w), f"{name}/W")
    operands = [x, wc.output]
    new_ops.append(wc)
    if bias is not None:
        bc = make_constant(bias.astype(np.float32), f"{name}/B")
        new_ops.append(bc)
        operands.append(bc.output)
    rt = op.results[0].type
    assert isinstance(rt, TensorType)
    conv = onnx.ConvOp.create_with(
        operands,
        [TensorType(rt.get_element_type(), [n, m, 1, 1])],
        {
            "kernel_shape": int_list([h, w]),
            "pads": int_list([0, 0, 0, 0]),
            "strides": int_list([1, 1]),
            "onnx_name": StringAttr(name),
        },
    )
    new_ops.append(conv)
    new_ops += _reshape(conv.Y, [n, m], f"{name}/reshape")
    rewriter.replace(op, new_ops)
    erase_if_dead(rewriter, [flat, *dead])


class GemmToConv(RewritePattern):
    """``Gemm(A, B, C)`` with B constant, C constant per column or absent, transA = 0: a Conv.

    Weight = alpha * B' reshaped [M, C, H, W] (B' = B^T if transB), bias = beta * C. When A is a
    Flatten / Reshape of a 4-D (N, C, H, W) tensor, the Conv has kernel H x W over that tensor
    (the Flatten / Reshape goes if nothing else uses it); otherwise a 1x1 Conv over A viewed as
    (N, K, 1, 1). The result (N, M, 1, 1) is reshaped back to (N, M) for the Gemm's users."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: onnx.GemmOp, rewriter: PatternRewriter, /) -> None:
        if op.int_attr("transA", 0) or placed_on_host(op):
            return
        b = constant_value(op.B)
        if b is None:
            return
        n, m = shape_of(op.Y)
        w_mk = b if op.int_attr("transB", 0) else b.T
        alpha = op.float_attr("alpha", 1.0)
        if alpha != 1.0:
            w_mk = w_mk * np.float32(alpha)
        bias = None
        if op.C is not None:
            c = constant_value(op.C)
            if c is None or np.broadcast_shapes(c.shape, (n, m)) != (n, m):
                return
            c2 = np.broadcast_to(c, (n, m)) if c.ndim else np.full((n, m), c)
            if n > 1 and not (c2 == c2[:1]).all():
                return  # a per-row bias is not a conv bias
            bias = c2[0].astype(np.float64) * op.float_attr("beta", 1.0)
        dead = [op.B.owner, op.C.owner if op.C is not None else None]
        _dense_to_conv(rewriter, op, op.A, w_mk, bias, dead)  # type: ignore[arg-type]


class MatMulToConv(RewritePattern):
    """``MatMul(A, B)`` with A 2-D and B a constant 2-D matrix: as :class:`GemmToConv`."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: onnx.MatMulOp, rewriter: PatternRewriter, /) -> None:  # type: ignore[valid-type]
        if placed_on_host(op):
            return
        b = constant_value(op.operands[1])
        if b is None or b.ndim != 2 or len(shape_of(op.operands[0])) != 2:
            return
        _dense_to_conv(rewriter, op, op.operands[0], b.T, None, [op.operands[1].owner])


def _transpose(x: SSAValue, perm: list[int], name: str) -> onnx.OnnxOp:
    t = x.type
    assert isinstance(t, TensorType)
    shape = [t.get_shape()[p] for p in perm]
    return onnx.TransposeOp.create_with([x], [TensorType(t.get_element_type(), shape)],
                                        {"perm": int_list(perm), "onnx_name": StringAttr(name)})


class SequenceMatMulToConv(RewritePattern):
    """``MatMul(A, B)`` with A (1, T, K) (a sequence of T tokens, as a transformer's linear layers
    see it) and B a constant (K, N) matrix: a 1x1 Conv over the tokens laid out as (1, K, 1, T).

    ``Transpose(0, 2, 1) -> Reshape (1, K, 1, T) -> Conv (N, K, 1, 1) -> Reshape (1, N, T) ->
    Transpose(0, 2, 1)``: the same products and sums, so the MACs run on the MVM array; the
    transposes are data movement (host ops on int8 values between the AIPU ops)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: onnx.MatMulOp, rewriter: PatternRewriter, /) -> None:  # type: ignore[valid-type]
        if placed_on_host(op):
            return
        b = constant_value(op.operands[1])
        a_shape = shape_of(op.operands[0])
        if b is None or b.ndim != 2 or len(a_shape) != 3 or a_shape[0] != 1:
            return
        name = op.node_name  # type: ignore[attr-defined]
        _, t, k = a_shape
        n = b.shape[1]
        et = op.results[0].type.get_element_type()  # type: ignore[union-attr]
        new_ops: list[Operation] = [_transpose(op.operands[0], [0, 2, 1], f"{name}/to_channels")]
        new_ops += _reshape(new_ops[-1].results[0], [1, k, 1, t], f"{name}/reshape_in")
        wc = make_constant(np.ascontiguousarray(b.T, dtype=np.float32).reshape(n, k, 1, 1), f"{name}/W")
        conv = onnx.ConvOp.create_with(
            [new_ops[-1].results[0], wc.output], [TensorType(et, [1, n, 1, t])],
            {"kernel_shape": int_list([1, 1]), "pads": int_list([0, 0, 0, 0]), "strides": int_list([1, 1]),
             "onnx_name": StringAttr(name)},
        )
        new_ops += [wc, conv, *_reshape(conv.Y, [1, n, t], f"{name}/reshape_out")]
        new_ops.append(_transpose(new_ops[-1].results[0], [0, 2, 1], f"{name}/to_tokens"))
        rewriter.replace(op, new_ops)
        erase_if_dead(rewriter, [op.operands[1].owner])


class SinkReshapeBelowRelu(RewritePattern):
    """``Relu(Reshape(y))`` with y (N, C, H, W) flattened to (N, C*H*W): ``Reshape(Relu(y))``.

    Lets a Relu between two dense layers run on the 4-D Conv result, so the next Gemm sees a
    flatten of a 4-D value and chains as a Conv without a 2-D round trip."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: onnx.ReluOp, rewriter: PatternRewriter, /) -> None:  # type: ignore[valid-type]
        src = flattened_4d(op.operands[0])
        if src is None:
            return
        y, flat = src
        relu = onnx.ReluOp.create_with([y], [y.type], dict(op.attributes))
        new_ops: list[Operation] = [relu, *_reshape(relu.results[0], list(shape_of(op.results[0])), f"{op.node_name}/reshape")]
        rewriter.replace(op, new_ops)
        erase_if_dead(rewriter, [flat])


@dataclass(frozen=True)
class OnnxRewriteDenseToConv2dPass(ModulePass):
    """Run fully connected layers as convolutions on the MVM array.

    Guarantees afterwards: every ``onnx.Gemm`` with constant B, constant per-column (or no) C and
    transA = 0, and every ``onnx.MatMul`` of a 2-D value by a constant 2-D matrix, is an
    ``onnx.Conv`` with the Gemm's name (alpha, beta and transB folded into the constants):
    kernel H x W over the 4-D (N, C, H, W) tensor when the input was its Flatten / Reshape
    (weights reshaped [M, C, H, W]: the same products in the same order), else 1x1 over a
    (N, K, 1, 1) view. Dense layers chain as 1x1 Convs on (N, M, 1, 1) (a Relu between them is
    moved before the reshape); an ``onnx.Reshape`` back to (N, M) remains only where a 2-D value
    is still used (Softmax, a graph output, any other op). A MatMul of a (1, T, K) sequence by a
    constant (K, N) matrix is a 1x1 Conv over (1, K, 1, T) between two transposes
    (:class:`SequenceMatMulToConv`).
    """

    name = "onnx-rewrite-dense-to-conv2d"

    def apply(self, ctx: Context, op: builtin.ModuleOp) -> None:
        PatternRewriteWalker(
            GreedyRewritePatternApplier(
                [GemmToConv(), MatMulToConv(), SequenceMatMulToConv(), SinkReshapeBelowRelu()], dce_enabled=False
            )
        ).rewrite_module(op)
