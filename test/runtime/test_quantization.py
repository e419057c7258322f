"""Tests of runtime/quantization.py: parameter math, ONNX-exact quantize/dequantize, fixed point."""

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

from axc.runtime.quantization import (Requantizer, activation_qparams, dequantize, quantize, quantize_bias,
                                      quantize_multiplier, requantize, weight_qparams_per_axis)


# --- activation / weight parameters ----------------------------------------------------------------


@pytest.mark.parametrize("lo,hi,scale,zp", [
    (-1.0, 1.0, 2 / 255, -1),         # float32(2/255) > 2/255: -128 + 127.4999.. -> -1
    (-0.5, 0.5, 1 / 255, -1),
    (0.0, 6.0, 6 / 255, -128),
    (2.0, 5.0, 5 / 255, -128),        # widened to contain 0
    (-3.0, -1.0, 3 / 255, 127),       # widened to [-3, 0]
    (-2.55, 0.0, 0.01, 127),
])
def test_activation_qparams(lo, hi, scale, zp):
    s, z = activation_qparams(lo, hi)
    assert isinstance(s, float) and isinstance(z, int)
    assert s == float(np.float32(scale))
    assert z == zp
    # 0.0 is exactly representable and both ends are inside the int8 range
    assert quantize(np.float32(0.0), s, z) == z
    assert -128 <= np.round(min(lo, 0) / s) + z and np.round(max(hi, 0) / s) + z <= 127


def test_activation_qparams_degenerate_and_errors():
    for lo, hi in [(0.0, 0.0), (0.0, 1e-45), (-1e-44, 0.0)]:
        s, z = activation_qparams(lo, hi)
        assert s == float(np.float32(1 / 255)) and s > 0
        assert -128 <= z <= 127
    for lo, hi in [(float("nan"), 1.0), (0.0, float("inf")), (1.0, -1.0)]:
        with pytest.raises(ValueError):
            activation_qparams(lo, hi)


def test_weight_qparams_per_axis():
    w = np.array([[[1.0, -2.0], [0.5, 0.0]],
                  [[0.0, 0.0], [0.0, 0.0]],
                  [[-0.3, 0.1], [0.2, 0.3]]], np.float32)
    q, s = weight_qparams_per_axis(w, axis=0)
    assert q.dtype == np.int8 and s.dtype == np.float32 and s.shape == (3,)
    assert s[0] == np.float32(2.0 / 127) and s[1] == 1.0 and s[2] == np.float32(np.float32(0.3) / 127)
    assert q[0, 0, 1] == -127 and q[0, 0, 0] == 64 and np.all(q[1] == 0)  # 63.5 -> 64 (float32 division)
    assert np.abs(q).max() <= 127 and q[2].max() == 127 and q[2].min() == -127
    err = np.abs(q.astype(np.float32) * s[:, None, None] - w)
    assert np.all(err <= s[:, None, None] / 2 + 1e-7)
    q1, s1 = weight_qparams_per_axis(w.transpose(1, 0, 2), axis=1)
    assert np.array_equal(q1, q.transpose(1, 0, 2)) and np.array_equal(s1, s)
    with pytest.raises(ValueError):
        weight_qparams_per_axis(np.array([np.nan], np.float32))
    with pytest.raises(ValueError):
        weight_qparams_per_axis(w, axis=3)


def test_quantize_bias():
    b = np.array([0.5, -1.0, 1e-3], np.float32)
    q = quantize_bias(b, 0.01, np.array([0.5, 0.25, 0.1], np.float32))
    assert q.dtype == np.int32 and q.tolist() == [100, -400, 1]
    with pytest.raises(ValueError):
        quantize_bias(np.array([1e9]), 1e-3, 1e-3)


# --- quantize / dequantize are ONNX QuantizeLinear / DequantizeLinear bit for bit ---------------------


def _ort_linear(op, x, scale, zp):
    nodes = [helper.make_node(op, ["x", "s", "z"], ["y"])]
    in_type = TensorProto.FLOAT if op == "QuantizeLinear" else TensorProto.INT8
    out_type = TensorProto.INT8 if op == "QuantizeLinear" else TensorProto.FLOAT
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", in_type, x.shape)],
        [helper.make_tensor_value_info("y", out_type, x.shape)],
        initializer=[helper.make_tensor("s", TensorProto.FLOAT, [], [scale]),
                     helper.make_tensor("z", TensorProto.INT8, [], [zp])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    return sess.run(None, {"x": x})[0]


def test_quantize_dequantize_match_onnx():
    rng = np.random.default_rng(0)
    scale, zp = activation_qparams(-1.7, 3.1)
    ties = (np.arange(-300, 300, dtype=np.float32) + 0.5) * np.float32(scale)  # exact .5 cases
    x = np.concatenate([rng.uniform(-3, 5, 2000).astype(np.float32), ties, [0, 1e9, -1e9]]).astype(np.float32)
    q = quantize(x, scale, zp)
    assert q.dtype == np.int8
    assert np.array_equal(q, _ort_linear("QuantizeLinear", x, scale, zp))
    allq = np.arange(-128, 128, dtype=np.int8)
    d = dequantize(allq, scale, zp)
    assert d.dtype == np.float32
    assert np.array_equal(d, _ort_linear("DequantizeLinear", allq, scale, zp))
    assert np.array_equal(quantize(d, scale, zp), allq)  # round trip


def test_quantize_per_axis_and_errors():
    x = np.ones((2, 3, 4), np.float32)
    q = quantize(x, np.array([1.0, 0.5, 0.25], np.float32), np.array([0, 1, 2]), axis=1)
    assert q[:, :, 0].tolist() == [[1, 3, 6], [1, 3, 6]]
    assert np.array_equal(dequantize(q, np.array([1.0, 0.5, 0.25]), np.array([0, 1, 2]), axis=1), x)
    with pytest.raises(ValueError):
        quantize(x, 0.0, 0)


# --- fixed point ----------------------------------------------------------------------------------


@pytest.mark.parametrize("real,m,shift", [
    (0.5, 2**30, 31),
    (1.0, 2**30, 30),
    (0.75, 3 * 2**29, 31),
    (2.0**-32, 2**30, 62),
    (0.0, 0, 0),
    (2.0**-40, 0, 0),                      # flushed: exact for any int32 accumulator
    (float(2**31 - 1), 2**31 - 1, 0),
    (1.0 - 2.0**-40, 2**30, 30),           # mantissa rounds up to 2**31: carry into the shift
])
def test_quantize_multiplier_values(real, m, shift):
    assert quantize_multiplier(real) == (m, shift)


def test_quantize_multiplier_arrays_and_errors():
    rng = np.random.default_rng(1)
    real = 10.0 ** rng.uniform(-9, 3, 500)
    m, s = quantize_multiplier(real)
    assert m.dtype == np.int32 and m.shape == (500,)
    assert np.all((m >= 2**30) & (m.astype(np.int64) < 2**31)) and np.all((s >= 0) & (s <= 62))
    assert np.all(np.abs(m * 2.0 ** -s.astype(np.float64) - real) <= real * 2.0**-31)
    for bad in (2.0**31, 2.0**31 - 0.4, 1e12):
        with pytest.raises(ValueError, match="too large"):
            quantize_multiplier(bad)
    for bad in (-0.5, float("nan"), float("inf")):
        with pytest.raises(ValueError):
            quantize_multiplier(bad)
    with pytest.raises(ValueError, match="1e\\+12|1000000000000"):
        quantize_multiplier(np.array([0.5, 1e12]))


def test_requantize_rounding_by_hand():
    half = (2**30, 31)  # 0.5
    acc = np.array([10, 5, 3, 1, 0, -1, -3, -5, -6, -7], np.int32)
    # x * 0.5 rounded half up: 2.5 -> 3, -2.5 -> -2, -3.5 -> -3, -0.5 -> 0
    assert requantize(acc, *half, 0).tolist() == [5, 3, 2, 1, 0, 0, -1, -2, -3, -3]
    assert requantize(acc, *half, -10).tolist() == [-5, -7, -8, -9, -10, -10, -11, -12, -13, -13]
    # real 0.375 = 3/8 (dyadic, so ties are exact): 1000 -> 375 -> clamp, 100 -> 37.5 -> 38,
    # -4 -> -1.5 -> -1, -12 -> -4.5 -> -4
    m, s = quantize_multiplier(0.375)
    assert (m, s) == (3 * 2**29, 32)
    assert requantize(np.array([1000, 100, -4, -12]), m, s, 0).tolist() == [127, 38, -1, -4]
    # shift 0: no rounding term
    assert requantize(np.array([3, -3, 0]), 5, 0, -10).tolist() == [5, -25, -10]
    # clamp (relu folded: lo = zp_out)
    assert requantize(np.array([-100, 100, 1000]), *half, 3, lo=3, hi=100).tolist() == [3, 53, 100]
    # 0-d accumulator
    assert requantize(np.int32(7), *half, 0) == 4


def test_requantize_per_channel_last_axis():
    acc = np.array([[[-9, 9, 5]], [[7, -7, 0]]], np.int32)  # [H=2, W=1, C=3]
    mult = np.array([2**30, 3 * 2**29, 5], np.int64)
    shift = np.array([31, 30, 0])
    out = requantize(acc, mult, shift, 1)
    want = np.empty_like(acc)
    for idx in np.ndindex(acc.shape):
        c = idx[-1]
        v = int(acc[idx]) * int(mult[c])
        v = (v + (1 << (int(shift[c]) - 1)) if shift[c] else v) >> int(shift[c])
        want[idx] = min(max(v + 1, -128), 127)
    assert np.array_equal(out, want)
    assert out[0, 0].tolist() == [-3, 15, 26] and out[1, 0].tolist() == [5, -9, 1]


def test_requantize_errors():
    with pytest.raises(ValueError):
        requantize(np.array([1.0]), 2**30, 31, 0)
    with pytest.raises(ValueError):
        requantize(np.array([1]), 2**30, 63, 0)
    with pytest.raises(ValueError):
        requantize(np.array([1]), 2**31, 31, 0)
    with pytest.raises(ValueError):
        requantize(np.array([2**40]), 2**30, 31, 0)
    with pytest.raises(ValueError):
        requantize(np.array([1]), 2**30, 31, 0, lo=-129)


def _requantizer_vs_reference(acc, m, s, zp, lo=-128, hi=127):
    rq = Requantizer(acc.shape, zp, lo, hi)
    out = np.full(acc.shape, 99, np.int8)
    got = rq(acc, m, s, out)
    assert got is out
    return got, requantize(acc, m, s, zp, lo, hi)


@pytest.mark.parametrize("shift", [31, 35, 40, 42])
@pytest.mark.parametrize("mult", [2**30, 3 * 2**29, 2**31 - 2**20])
def test_requantizer_exact_ties(shift, mult):
    """acc * M an odd multiple of 2**(shift - 1): y + 0.5 is an integer, the float path's hard case."""
    step = 2 ** (shift - 1) // (mult & -mult)  # acc step that makes acc * M hit half-integers of y
    k = np.arange(-300, 300)
    acc = ((2 * k + 1) * step).astype(np.int64)
    acc = acc[np.abs(acc) < 2**31].astype(np.int32)
    m = np.full(acc.shape, mult, np.int32)
    s = np.full(acc.shape, shift, np.int32)
    for zp in (-128, -3, 0, 77):
        got, ref = _requantizer_vs_reference(acc[:, None] * np.ones((1, 1), np.int32), m[:1], s[:1], zp)
        assert np.array_equal(got, ref)


def test_requantizer_random_and_near_ties_all_shifts():
    """Float path (shift <= 42) and int64 path (larger shifts) both equal requantize bit for bit."""
    rng = np.random.default_rng(7)
    for shift in range(0, 63, 1):
        m = rng.integers(2**30, 2**31, 16).astype(np.int32)
        s = np.full(16, shift, np.int32)
        y = rng.integers(-700, 700, (40, 16)) + 0.5  # aim at ties, then perturb the accumulator by +-1
        acc = np.clip(np.round(y * 2.0**shift / m) + rng.integers(-1, 2, (40, 16)), -2**31 + 1, 2**31 - 1)
        acc = np.concatenate([acc, rng.integers(-2**31 + 1, 2**31 - 1, (40, 16))]).astype(np.int32)
        got, ref = _requantizer_vs_reference(acc, m, s, int(rng.integers(-128, 128)), -100, 120)
        assert np.array_equal(got, ref), shift


def test_requantizer_mixed_shifts_and_parameter_changes():
    rng = np.random.default_rng(8)
    acc = rng.integers(-2**31 + 1, 2**31 - 1, (5, 4, 6)).astype(np.int32)
    rq = Requantizer(acc.shape, 5)
    for shifts in ([30, 31, 40, 42, 41, 35], [30, 31, 40, 43, 50, 62], [0, 0, 1, 2, 3, 4]):
        m = rng.integers(0, 2**31, 6).astype(np.int32)
        s = np.array(shifts, np.int32)
        out = np.empty(acc.shape, np.int8)
        assert np.array_equal(rq(acc, m, s, out), requantize(acc, m, s, 5))
    with pytest.raises(ValueError, match="shift"):
        rq(acc, m, np.full(6, 63, np.int32), out)
