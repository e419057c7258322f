"""The quant-level interpreter: the golden integer model.

Values are numpy arrays in the logical NCHW layout of the IR: int8 for ``!quant.uniform`` tensors,
int8 / int32 for ``quant.constant``, float32 for the f32 values around host ops. The integer kernels
(:mod:`axc.runtime.int_kernels`) work on one HWC frame, so the windowed ops (conv2d, max_pool,
avg_pool) loop over the batch axis and transpose each frame CHW -> HWC and back. Elementwise ops
(add, requantize, clamp) are layout-independent and run on the whole batch at once (bit-identical).

Host ops (``onnx.*`` on f32) run with the onnx-level impls (:class:`OnnxFunctions`), i.e. the same
float kernels as every other level.

Per-op preparation (weights re-laid out for the kernels, requantization parameters derived from the
types) is done once per interpreter and cached with ``interpreter.get_data``; a
:class:`QuantRunner` keeps its interpreter, so repeated runs (and frames) reuse it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from xdsl.dialects import builtin
from xdsl.interpreter import Interpreter, InterpreterFunctions, impl, register_impls
from xdsl.ir import Operation

from axc.dialects import quant
from axc.runtime import int_kernels as ik
from axc.runtime.interp_onnx import Observer, OnnxRunner
from axc.runtime.quantization import dequantize, quantize, requantize

__all__ = ["QuantFunctions", "QuantRunner", "run_quant_module"]


def _prepared(interpreter: Interpreter, op: Operation, make: Callable[[], Any]) -> Any:
    """Per-op data computed once per interpreter (weights layout, multipliers, ...)."""
    cache: dict[Operation, Any] = interpreter.get_data(QuantFunctions, "prepared", dict)
    data = cache.get(op)
    if data is None:
        data = cache[op] = make()
    return data


def _per_frame(x: np.ndarray, kernel: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Apply an HWC frame kernel to every frame of an NCHW batch; returns NCHW."""
    frames = [kernel(np.ascontiguousarray(f.transpose(1, 2, 0))).transpose(2, 0, 1) for f in x]
    return np.ascontiguousarray(np.stack(frames))


@register_impls
class QuantFunctions(InterpreterFunctions):
    """Impls of every ``quant`` op on numpy arrays (NCHW int8), with the integer kernels."""

    @impl(quant.QuantizeOp)
    def run_quantize(self, interpreter: Interpreter, op: quant.QuantizeOp, args: tuple[Any, ...]):
        u = quant.uniform_of(op.output)
        return (quantize(args[0], u.s, u.zp),)

    @impl(quant.DequantizeOp)
    def run_dequantize(self, interpreter: Interpreter, op: quant.DequantizeOp, args: tuple[Any, ...]):
        u = quant.uniform_of(op.input)
        return (dequantize(args[0], u.s, u.zp),)

    @impl(quant.ConstantOp)
    def run_constant(self, interpreter: Interpreter, op: quant.ConstantOp, args: tuple[Any, ...]):
        return (_prepared(interpreter, op, lambda: op.array().copy()),)

    @impl(quant.Conv2dOp)
    def run_conv2d(self, interpreter: Interpreter, op: quant.Conv2dOp, args: tuple[Any, ...]):
        x, w, b = args
        params = op.conv_params()

        def prepare():
            m, s = op.requant_params()
            return ik.prepare_conv2d_weights(w, params["group"]), np.asarray(b, np.int32), m, s

        if isinstance(op.weight.owner, quant.ConstantOp) and isinstance(op.bias.owner, quant.ConstantOp):
            cw, bias, m, s = _prepared(interpreter, op, prepare)
        else:
            cw, bias, m, s = prepare()
        zp_in = quant.uniform_of(op.input).zp
        zp_out = quant.uniform_of(op.output).zp
        lo, hi = op.clamp_bounds()

        def frame(xh: np.ndarray) -> np.ndarray:
            acc = ik.conv2d(xh, cw, bias, zp_in, params["strides"], params["pads"], params["dilations"],
                            params["group"])
            return requantize(acc, m, s, zp_out, lo, hi)  # per-channel m, s on the last axis

        return (_per_frame(x, frame),)

    @impl(quant.AddOp)
    def run_add(self, interpreter: Interpreter, op: quant.AddOp, args: tuple[Any, ...]):
        ma, mb, shift = _prepared(interpreter, op, op.requant_params)
        lo, hi = op.clamp_bounds()
        za, zb = quant.uniform_of(op.lhs).zp, quant.uniform_of(op.rhs).zp
        zo = quant.uniform_of(op.output).zp
        return (ik.add(args[0], za, ma, args[1], zb, mb, shift, zo, lo, hi),)

    @impl(quant.MulOp)
    def run_mul(self, interpreter: Interpreter, op: quant.MulOp, args: tuple[Any, ...]):
        m, shift = _prepared(interpreter, op, op.requant_params)
        lo, hi = op.clamp_bounds()
        za, zb = quant.uniform_of(op.lhs).zp, quant.uniform_of(op.rhs).zp
        zo = quant.uniform_of(op.output).zp
        return (ik.mul(args[0], za, args[1], zb, m, shift, zo, lo, hi),)

    @impl(quant.MaxPoolOp)
    def run_max_pool(self, interpreter: Interpreter, op: quant.MaxPoolOp, args: tuple[Any, ...]):
        p = op.pool_params()
        return (
            _per_frame(
                args[0],
                lambda f: ik.max_pool(f, p["kernel"], p["strides"], p["pads"], p["ceil_mode"], p["dilations"]),
            ),
        )

    @impl(quant.AvgPoolOp)
    def run_avg_pool(self, interpreter: Interpreter, op: quant.AvgPoolOp, args: tuple[Any, ...]):
        p = op.pool_params()
        mults, shift = _prepared(interpreter, op, op.requant_params)
        zp_in = quant.uniform_of(op.input).zp
        zp_out = quant.uniform_of(op.output).zp
        lo, hi = op.clamp_bounds()

        def frame(f: np.ndarray) -> np.ndarray:
            return ik.avg_pool(f, zp_in, p["kernel"], p["strides"], p["pads"], p["count_include_pad"],
                               p["ceil_mode"], mults, shift, zp_out, lo, hi, p["dilations"])

        return (_per_frame(args[0], frame),)

    @impl(quant.RequantizeOp)
    def run_requantize(self, interpreter: Interpreter, op: quant.RequantizeOp, args: tuple[Any, ...]):
        m, s = _prepared(interpreter, op, op.requant_params)
        lo, hi = op.clamp_bounds()
        zp_in = quant.uniform_of(op.input).zp
        zp_out = quant.uniform_of(op.output).zp
        return (ik.requantize_int8(args[0], zp_in, m, s, zp_out, lo, hi),)

    @impl(quant.ClampOp)
    def run_clamp(self, interpreter: Interpreter, op: quant.ClampOp, args: tuple[Any, ...]):
        lo, hi = op.clamp_bounds()
        return (np.clip(args[0], lo, hi).astype(np.int8),)

    @impl(quant.LutOp)
    def run_lut(self, interpreter: Interpreter, op: quant.LutOp, args: tuple[Any, ...]):
        return (ik.lut(args[0], _prepared(interpreter, op, op.table_array)),)

    @impl(quant.ConcatOp)
    def run_concat(self, interpreter: Interpreter, op: quant.ConcatOp, args: tuple[Any, ...]):
        return (np.concatenate(args, axis=op.axis.value.data),)

    @impl(quant.ReshapeOp)
    def run_reshape(self, interpreter: Interpreter, op: quant.ReshapeOp, args: tuple[Any, ...]):
        x = args[0]
        shape = tuple(op.output.type.get_shape())  # type: ignore[union-attr]
        return (x.reshape((x.shape[0],) + shape[1:]),)  # the batch axis follows the input


class QuantRunner(OnnxRunner):
    """A quant-level interpreter bound to ``module``'s ``@main``, reused across runs and frames.

    Same interface and input checks as :class:`~axc.runtime.interp_onnx.OnnxRunner` (arrays keyed by
    the ONNX input names, frames stacked on axis 0 and run one after the other, outputs keyed by the
    ONNX output names); host ops run with the onnx impls. Weights, biases and requantization
    parameters are prepared on the first frame and kept for the life of the runner.
    """

    def __init__(self, module: builtin.ModuleOp, observer: Observer | None = None):
        super().__init__(module, observer, extra=(QuantFunctions(),))


def run_quant_module(module: builtin.ModuleOp, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Interpret a quant-level module on ``inputs`` keyed by ONNX input names; outputs keyed by ONNX
    output names (f32, as the graph's results). Build a :class:`QuantRunner` to run it repeatedly."""
    return QuantRunner(module).run(inputs)
