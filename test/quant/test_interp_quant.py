"""The quant interpreter's impls against plain NCHW int64 references (layout, batch, parameters)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from xdsl.dialects.builtin import IntegerAttr, ModuleOp, TensorType, i8, i32, i64
from xdsl.interpreter import Interpreter
from xdsl.utils.test_value import create_ssa_value

from axc.dialects import quant
from axc.dialects.quant import UniformPerAxisType, UniformType, i64_array
from axc.lowering.onnx_importer import dense_from_numpy
from axc.runtime.interp_quant import QuantFunctions
from axc.runtime.quantization import requantize

RNG = np.random.default_rng(7)


def _t(shape, el):
    return TensorType(el, list(shape))


def _run(op, *args):
    interp = Interpreter(ModuleOp([]))
    interp.register_implementations(QuantFunctions())
    return interp.run_op(op, args)[0]


def _int8(shape):
    return RNG.integers(-128, 128, size=shape).astype(np.int8)


def _pad(x, pads, value):
    t, l, b, r = pads
    return np.pad(x, ((0, 0), (0, 0), (t, b), (l, r)), constant_values=value)


def _out_size(n, k, s, pb, pe, d, ceil_mode):
    span = n + pb + pe - (d * (k - 1) + 1)
    out = (math.ceil(span / s) if ceil_mode else span // s) + 1
    if ceil_mode and (out - 1) * s >= n + pb:
        out -= 1
    return out


CONV_CASES = [
    # (N, C, H, W, OC, K, group, strides, pads (t, l, b, r), dilations, clamp)
    (2, 3, 7, 6, 5, 3, 1, (1, 1), (1, 1, 1, 1), (1, 1), None),
    (1, 4, 9, 9, 6, 3, 2, (2, 2), (0, 1, 2, 0), (1, 1), (-20, 127)),
    (2, 6, 8, 7, 6, 3, 6, (1, 2), (1, 0, 1, 2), (2, 1), None),  # depthwise, dilated
    (1, 8, 5, 5, 16, 1, 1, (1, 1), (0, 0, 0, 0), (1, 1), (-128, 100)),
]


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv2d_matches_nchw_reference(case) -> None:
    n, c, h, w, oc, k, g, strides, pads, dil, clamp = case
    s_in, zp_in, s_out, zp_out = 0.03, 5, 0.07, -9
    s_w = RNG.uniform(0.001, 0.01, oc)
    x = _int8((n, c, h, w))
    wq = RNG.integers(-127, 128, size=(oc, c // g, k, k)).astype(np.int8)
    b = RNG.integers(-5000, 5000, size=oc).astype(np.int32)
    ho = _out_size(h, k, strides[0], pads[0], pads[2], dil[0], False)
    wo = _out_size(w, k, strides[1], pads[1], pads[3], dil[1], False)
    xv = create_ssa_value(_t(x.shape, UniformType(s_in, zp_in)))
    wop = quant.ConstantOp.build(properties={"value": dense_from_numpy(wq, i8)},
                                 result_types=[_t(wq.shape, UniformPerAxisType(0, list(s_w)))])
    bop = quant.ConstantOp.build(properties={"value": dense_from_numpy(b, i32)}, result_types=[_t((oc,), i32)])
    props = {"strides": i64_array(strides), "pads": i64_array(pads), "dilations": i64_array(dil),
             "group": IntegerAttr(g, i64)}
    if clamp is not None:
        props["clamp"] = i64_array(clamp)
    op = quant.Conv2dOp.build(operands=[xv, wop.output, bop.output], properties=props,
                              result_types=[_t((n, oc, ho, wo), UniformType(s_out, zp_out))])
    op.verify()
    got = _run(op, x, wq, b)

    # reference: NCHW, int64, one output channel group at a time
    xp = _pad(x.astype(np.int64) - zp_in, pads, 0)
    acc = np.zeros((n, oc, ho, wo), np.int64)
    cg, og = c // g, oc // g
    for o in range(oc):
        gi = o // og
        for i in range(k):
            for j in range(k):
                patch = xp[:, gi * cg:(gi + 1) * cg,
                           i * dil[0]: i * dil[0] + (ho - 1) * strides[0] + 1: strides[0],
                           j * dil[1]: j * dil[1] + (wo - 1) * strides[1] + 1: strides[1]]
                acc[:, o] += np.einsum("nchw,c->nhw", patch, wq[o, :, i, j].astype(np.int64))
        acc[:, o] += b[o]
    m, s = op.requant_params()
    lo, hi = clamp or (-128, 127)
    want = requantize(acc.transpose(0, 2, 3, 1), m, s, zp_out, lo, hi).transpose(0, 3, 1, 2)
    assert got.dtype == np.int8 and got.shape == want.shape
    np.testing.assert_array_equal(got, want)


POOL_CASES = [
    # (kernel, strides, pads, ceil_mode, count_include_pad)
    ((2, 2), (2, 2), (0, 0, 0, 0), 0, 0),
    ((3, 3), (2, 2), (1, 1, 1, 1), 1, 0),
    ((3, 3), (2, 2), (0, 1, 1, 0), 1, 1),
    ((3, 2), (1, 2), (1, 0, 1, 1), 0, 1),
]


@pytest.mark.parametrize("kernel,strides,pads,ceil_mode,cip", POOL_CASES)
def test_pools_match_nchw_reference(kernel, strides, pads, ceil_mode, cip) -> None:
    n, c, h, w = 2, 3, 7, 8
    x = _int8((n, c, h, w))
    ho = _out_size(h, kernel[0], strides[0], pads[0], pads[2], 1, ceil_mode)
    wo = _out_size(w, kernel[1], strides[1], pads[1], pads[3], 1, ceil_mode)
    u_in, u_out = UniformType(0.02, 3), UniformType(0.013, -6)
    xv = create_ssa_value(_t(x.shape, u_in))
    props = {"kernel": i64_array(kernel), "strides": i64_array(strides), "pads": i64_array(pads),
             "ceil_mode": IntegerAttr(ceil_mode, i64)}
    mp = quant.MaxPoolOp.build(operands=[xv], properties=dict(props), result_types=[_t((n, c, ho, wo), u_in)])
    ap = quant.AvgPoolOp.build(operands=[xv], properties={**props, "count_include_pad": IntegerAttr(cip, i64)},
                               result_types=[_t((n, c, ho, wo), u_out)])
    got_max, got_avg = _run(mp, x), _run(ap, x)

    want_max = np.full((n, c, ho, wo), -128, np.int64)
    acc = np.zeros((n, c, ho, wo), np.int64)
    count = np.zeros((ho, wo), np.int64)
    for oy in range(ho):
        for ox in range(wo):
            for i in range(kernel[0]):
                for j in range(kernel[1]):
                    y, xx = oy * strides[0] - pads[0] + i, ox * strides[1] - pads[1] + j
                    inside = 0 <= y < h and 0 <= xx < w
                    in_pads = -pads[0] <= y < h + pads[2] and -pads[1] <= xx < w + pads[3]
                    if inside:
                        want_max[:, :, oy, ox] = np.maximum(want_max[:, :, oy, ox], x[:, :, y, xx])
                        acc[:, :, oy, ox] += x[:, :, y, xx].astype(np.int64) - u_in.zp
                    if inside or (cip and in_pads):
                        count[oy, ox] += 1
    np.testing.assert_array_equal(got_max, want_max)
    mults, shift = ap.requant_params()
    want_avg = requantize(acc, mults[count], shift, u_out.zp)
    np.testing.assert_array_equal(got_avg, want_avg)
    # and the integer average is within one step of the float average
    real = acc * u_in.s / np.maximum(count, 1) / u_out.s + u_out.zp
    assert np.abs(got_avg - np.clip(np.round(real), -128, 127)).max() <= 1


def test_add_clamp_concat_reshape() -> None:
    ua, ub, uo = UniformType(0.02, 3), UniformType(0.05, -10), UniformType(0.06, -30)
    a, b = _int8((2, 4, 3, 3)), _int8((2, 4, 3, 3))
    av, bv = create_ssa_value(_t(a.shape, ua)), create_ssa_value(_t(b.shape, ub))
    add = quant.AddOp.build(operands=[av, bv], properties={"clamp": i64_array((-30, 127))},
                            result_types=[_t(a.shape, uo)])
    got = _run(add, a, b)
    real = ((a.astype(np.float64) - ua.zp) * ua.s + (b.astype(np.float64) - ub.zp) * ub.s) / uo.s + uo.zp
    assert np.abs(got - np.clip(np.round(real), -30, 127)).max() <= 1
    assert got.min() >= -30

    cl = quant.ClampOp.build(operands=[av], properties={"clamp": i64_array((3, 127))}, result_types=[av.type])
    np.testing.assert_array_equal(_run(cl, a), np.maximum(a, 3))

    cat = quant.ConcatOp.build(operands=[[av, av]], properties={"axis": IntegerAttr(1, i64)},
                               result_types=[_t((2, 8, 3, 3), ua)])
    np.testing.assert_array_equal(_run(cat, a, a), np.concatenate([a, a], axis=1))

    g = create_ssa_value(_t((1, 4, 1, 1), ua))
    rs = quant.ReshapeOp.build(operands=[g], result_types=[_t((1, 4), ua)])
    v = _int8((5, 4, 1, 1))  # frames stacked: the batch follows the input
    np.testing.assert_array_equal(_run(rs, v), v.reshape(5, 4))


def test_constants_are_prepared_once() -> None:
    """A conv's weights are re-laid out on the first run only (cached on the interpreter)."""
    import axc.runtime.int_kernels as ik

    x = _int8((1, 2, 4, 4))
    wq = _int8((3, 2, 1, 1))
    wq[wq == -128] = -127
    xv = create_ssa_value(_t(x.shape, UniformType(0.1, 0)))
    wop = quant.ConstantOp.build(properties={"value": dense_from_numpy(wq, i8)},
                                 result_types=[_t(wq.shape, UniformPerAxisType(0, [0.01] * 3))])
    bop = quant.ConstantOp.build(properties={"value": dense_from_numpy(np.zeros(3, np.int32), i32)},
                                 result_types=[_t((3,), i32)])
    op = quant.Conv2dOp.build(operands=[xv, wop.output, bop.output], result_types=[_t((1, 3, 4, 4), UniformType(0.1, 0))])
    interp = Interpreter(ModuleOp([]))
    interp.register_implementations(QuantFunctions())
    calls = []
    orig = ik.prepare_conv2d_weights
    ik.prepare_conv2d_weights = lambda *a, **k: calls.append(1) or orig(*a, **k)
    try:
        first = interp.run_op(op, (x, wq, np.zeros(3, np.int32)))[0]
        second = interp.run_op(op, (x, wq, np.zeros(3, np.int32)))[0]
    finally:
        ik.prepare_conv2d_weights = orig
    assert len(calls) == 1
    np.testing.assert_array_equal(first, second)
