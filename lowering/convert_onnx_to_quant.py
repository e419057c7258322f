"""``convert-onnx-to-quant``: post-training quantization of the calibrated onnx graph.

Input: the onnx-level IR after the graph passes (BatchNormalization folded, Gemm rewritten to Conv,
Sum rewritten to Add, Dropout / Identity removed, constants folded) and after ``onnx-calibrate``,
which writes ``calibration = array<f32: lo, hi>`` on every non-constant onnx op and in the
``arg_attrs`` of the graph function.

Output: the quant-level IR (see :mod:`axc.dialects.quant`). One ``RewritePattern`` per source op; the
values that change type are bridged with ``builtin.unrealized_conversion_cast`` (quant -> f32) while
the walk runs, and the casts are gone when the pass returns.

The quantized view of a value (what a quant op consumes):

* a converted value (a cast of a quant tensor): the quant tensor itself;
* an f32 value (a graph input or the result of a host op): one ``quant.quantize`` placed right after
  its definition, with the qparams of its calibration range, shared by every quant consumer.

The float view of a value (what a host op or the graph result consumes):

* a quant tensor made by ``quant.quantize`` from f32: that f32 value (so two host ops in a row share
  one boundary and no quantize / dequantize pair is left between them);
* another quant tensor: one ``quant.dequantize`` right after its definition, shared by its users;
* an f32 value: itself.

Code layout: this module holds the pass and its final checks; quant_qparams.py the calibration
ranges and qparams, aipu_placement.py the AIPU / host split (:func:`runs_on_aipu`), quant_views.py
the quantized / float views, onnx_to_quant_patterns.py the patterns.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import builtin
from xdsl.dialects.builtin import UnrealizedConversionCastOp
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import GreedyRewritePatternApplier, PatternRewriteWalker
from xdsl.utils.exceptions import PassFailedException

from axc.dialects import onnx
from axc.lowering.aipu_placement import runs_on_aipu
from axc.lowering.onnx_to_quant_patterns import PATTERNS
from axc.lowering.quant_qparams import calibration_range, is_quant_type

__all__ = ["ConvertOnnxToQuantPass", "runs_on_aipu", "calibration_range"]


def _cleanup(module: builtin.ModuleOp) -> None:
    """Erase the bridge casts and the onnx constants left without users (last user first)."""
    for op in reversed(list(module.walk())):
        if isinstance(op, UnrealizedConversionCastOp | onnx.ConstantOp) and not any(r.uses for r in op.results):
            op.detach()
            op.erase()


def _check(module: builtin.ModuleOp) -> None:
    for op in module.walk():
        if isinstance(op, UnrealizedConversionCastOp):
            raise PassFailedException(
                f"convert-onnx-to-quant: a bridge cast of {op.inputs[0].type} is still used by "
                f"'{next(iter(op.results[0].uses)).operation.name}'"
            )
        if not isinstance(op, onnx.OnnxOp):
            continue
        if runs_on_aipu(op):
            raise PassFailedException(f"convert-onnx-to-quant: {op.describe()} should run on the AIPU but was not converted")
        bad = [v for v in (*op.operands, *op.results) if is_quant_type(v.type)]
        if bad:
            raise PassFailedException(
                f"convert-onnx-to-quant: host op {op.describe()} must sit on f32 values, got {bad[0].type}"
            )


@dataclass(frozen=True)
class ConvertOnnxToQuantPass(ModulePass):
    """Quantize the calibrated onnx graph to the quant level (int8 activations, per-axis weights).

    Guarantees, when the pass succeeds:

    * every onnx op that the AIPU runs (:func:`runs_on_aipu`: Conv with constant weights, same-shape
      Add, Mul of two activations (same shape or by an (N, C, 1, 1) gate: ``quant.mul``), Relu,
      MaxPool, AveragePool, GlobalAveragePool, channel Concat, (N, C, 1, 1) <-> (N, C)
      Reshape / Flatten, element-wise functions of one activation such as Sigmoid, HardSwish, Clip or
      ``x / 6``, which become ``quant.lut``) is replaced by its quant op; a Conv or Add whose only user is a Relu absorbs
      it (result qparams from the Relu's range, clamp lo = result zero point);
    * activations are ``!quant.uniform`` from their calibration range (``activation_qparams``); Conv
      weights are per-axis (axis 0) symmetric int8, biases int32 ``round(b / (s_in * s_w))``;
    * every other onnx op (a host op) stays an onnx op whose operands and results are f32 (or other
      non-quant tensors such as i64 shapes), with one ``quant.dequantize`` before and one
      ``quant.quantize`` after a run of host ops, never a quantize / dequantize pair between two host
      ops;
    * the graph function keeps its f32 signature: graph inputs are f32 arguments followed by
      ``quant.quantize`` and graph outputs are dequantized to f32;
    * no ``builtin.unrealized_conversion_cast`` and no unused ``onnx.Constant`` is left.

    Fails with ``PassFailedException`` naming the op (and its ``onnx_name``) when a range it needs is
    missing, or when the result breaks one of the guarantees above.
    """

    name = "convert-onnx-to-quant"

    def apply(self, ctx: Context, op: builtin.ModuleOp) -> None:
        walker = PatternRewriteWalker(
            GreedyRewritePatternApplier([p() for p in PATTERNS], dce_enabled=False),
            apply_recursively=True,
        )
        walker.rewrite_module(op)
        _cleanup(op)
        _check(op)
