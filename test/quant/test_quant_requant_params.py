"""The fixed-point parameters that the quant ops derive from their types, against float math."""

from __future__ import annotations

import numpy as np
import pytest
from _quant_helpers import parse
from xdsl.dialects.builtin import TensorType, i8, i32
from xdsl.utils.test_value import create_ssa_value

from axc.dialects import quant
from axc.dialects.quant import ConstantOp, UniformPerAxisType, UniformType
from axc.lowering.onnx_importer import dense_from_numpy
from axc.runtime.interp_quant import run_quant_module
from axc.runtime.quantization import dequantize, quantize, requantize

REL = 2.0**-30  # M in [2^30, 2^31) rounded: relative error <= 2^-31


def _t(shape, el):
    return TensorType(el, list(shape))


def _conv(s_in: float, s_w: list[float], s_out: float) -> quant.Conv2dOp:
    oc = len(s_w)
    x = create_ssa_value(_t((1, 2, 4, 4), UniformType(s_in, 3)))
    w = ConstantOp.build(properties={"value": dense_from_numpy(np.ones((oc, 2, 1, 1), np.int8), i8)},
                         result_types=[_t((oc, 2, 1, 1), UniformPerAxisType(0, s_w))])
    b = ConstantOp.build(properties={"value": dense_from_numpy(np.zeros(oc, np.int32), i32)},
                         result_types=[_t((oc,), i32)])
    return quant.Conv2dOp.build(operands=[x, w.output, b.output],
                                result_types=[_t((1, oc, 4, 4), UniformType(s_out, -5))])


@pytest.mark.parametrize("s_in,s_out", [(0.02, 0.05), (1 / 255, 0.3), (0.5, 0.001)])
def test_conv2d_multipliers_match_real_scale(s_in: float, s_out: float) -> None:
    s_w = [0.001, 0.0037, 1e-6, 0.02]
    op = _conv(s_in, s_w, s_out)
    m, s = op.requant_params()
    real = s_in * np.array(s_w) / s_out
    assert m.dtype == np.int64 and s.dtype == np.int64 and m.shape == s.shape == (4,)
    nz = m > 0
    assert np.all((m[nz] >= 2**30) & (m[nz] < 2**31)) and np.all((s >= 0) & (s <= 62))
    np.testing.assert_allclose(m * 2.0 ** (-s.astype(np.float64)), real, rtol=REL, atol=2.0**-32)


def test_conv2d_requantization_rounds_like_float_math() -> None:
    op = _conv(0.017, [0.0031, 0.0007], 0.041)
    m, s = op.requant_params()
    real = 0.017 * np.array([0.0031, 0.0007]) / 0.041
    acc = np.random.default_rng(0).integers(-(2**22), 2**22, size=(4096, 2)).astype(np.int32)
    got = requantize(acc, m, s, -5, -128, 127).astype(np.int64)
    want = np.clip(np.floor(acc * real + 0.5) - 5, -128, 127)  # round half up, as the contract
    assert np.abs(got - want).max() <= 1
    assert np.mean(got != want) < 1e-3  # only at exact-tie neighbourhoods


@pytest.mark.parametrize("sa,sb,so", [(0.02, 0.05, 0.06), (0.1, 0.001, 0.1), (1 / 255, 3 / 255, 4 / 255)])
def test_add_multipliers_share_a_shift(sa: float, sb: float, so: float) -> None:
    a = _t((1, 4, 2, 2), UniformType(sa, 0))
    b = _t((1, 4, 2, 2), UniformType(sb, 10))
    text = f"""
func.func @f(%a: {a}, %b: {b}) -> {_t((1, 4, 2, 2), UniformType(so, -7))} {{
  %c = quant.add %a, %b : ({a}, {b}) -> {_t((1, 4, 2, 2), UniformType(so, -7))}
  func.return %c : {_t((1, 4, 2, 2), UniformType(so, -7))}
}}"""
    op = next(o for o in parse(text).walk() if isinstance(o, quant.AddOp))
    ma, mb, shift = op.requant_params()
    big = max(sa, sb) / so
    assert 2**30 <= max(ma, mb) < 2**31 and 0 <= shift <= 62
    assert abs(ma * 2.0**-shift - sa / so) <= big * REL + 2.0**-shift
    assert abs(mb * 2.0**-shift - sb / so) <= big * REL + 2.0**-shift


def test_avg_pool_multipliers_per_window_count() -> None:
    x = _t((1, 3, 5, 5), UniformType(0.02, 4))
    y = _t((1, 3, 3, 3), UniformType(0.015, -2))
    text = f"""
func.func @f(%x: {x}) -> {y} {{
  %y = quant.avg_pool %x {{kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>}} : {x} -> {y}
  func.return %y : {y}
}}"""
    op = next(o for o in parse(text).walk() if isinstance(o, quant.AvgPoolOp))
    mults, shift = op.requant_params()
    assert mults.shape == (10,) and mults[0] == 0
    counts = np.arange(1, 10)
    np.testing.assert_allclose(mults[1:] * 2.0**-shift, 0.02 / 0.015 / counts, rtol=0, atol=2.0**-shift)


def test_requantize_op_matches_float_requantization() -> None:
    """quant.requantize in the interpreter: within one step of re-quantizing the dequantized value."""
    si, zi, so, zo = 0.0123, 17, 0.0311, -40
    x = _t((1, 256), UniformType(si, zi))
    y = _t((1, 256), UniformType(so, zo))
    text = f"""
func.func @main(%f: tensor<1x256xf32>) -> tensor<1x256xf32> attributes {{axc.input_names = ["f"], axc.output_names = ["g"]}} {{
  %x = quant.quantize %f : tensor<1x256xf32> -> {x}
  %y = quant.requantize %x : {x} -> {y}
  %g = quant.dequantize %y : {y} -> tensor<1x256xf32>
  func.return %g : tensor<1x256xf32>
}}"""
    module = parse(text)
    op = next(o for o in module.walk() if isinstance(o, quant.RequantizeOp))
    m, s = op.requant_params()
    assert abs(m * 2.0**-s - si / so) <= si / so * REL
    q = np.arange(-128, 128, dtype=np.int8).reshape(1, 256)
    f = dequantize(q, si, zi)
    out = run_quant_module(module, {"f": f})["g"]
    want = dequantize(quantize(f, so, zo), so, zo)
    assert np.abs(out - want).max() <= so * 1.0001
    # exact where the float value is not near a rounding tie
    frac = np.abs((q.astype(np.float64) - zi) * si / so % 1 - 0.5)
    assert np.array_equal(out[frac > 1e-3], want[frac > 1e-3])


def test_bias_safe_weight_scales() -> None:
    """Only channels whose int32 bias (plus the accumulator of k taps) would overflow get a larger
    weight scale, the smallest float32 for which the bias fits; the others keep theirs bit for bit."""
    from axc.lowering.quant_qparams import bias_safe_weight_scales
    from axc.runtime.quantization import INT32_MAX, quantize_bias

    s_in, k = 0.01, 27
    ws = np.array([0.02, 1e-9, 3e-12, 0.5], np.float32)
    b = np.array([1.0, 1.0, -2.0, 0.0], np.float32)
    safe, raised = bias_safe_weight_scales(b, s_in, ws, k)
    assert raised.tolist() == [1, 2] and safe.dtype == np.float32
    assert safe[0] == ws[0] and safe[3] == ws[3]
    bound = INT32_MAX - 2 * 128 * 127 * k
    q = quantize_bias(b, s_in, safe)
    assert np.all(np.abs(q.astype(np.int64)) <= bound)
    smaller = np.nextafter(safe[1:3], np.float32(0))  # rounded up by at most one float32 step
    assert np.all(np.abs(b[1:3].astype(np.float64)) / (float(np.float32(s_in)) * smaller.astype(np.float64)) > bound)
