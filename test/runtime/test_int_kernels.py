"""Tests of runtime/int_kernels.py against slow int64 references (tiny shapes) and worst cases."""

import numpy as np
import pytest

from axc.runtime import float_kernels as fk
from axc.runtime import int_kernels as ik
from axc.runtime.quantization import requantize
from axc.runtime.window_geometry import Geom

RNG = np.random.default_rng(1234)


def _ref_conv(x, w, bias, zp, strides, pads, dilations, group):
    """Slow exact reference: explicit loops over output pixels and groups, einsum in int64."""
    h, wd, c = x.shape
    oc, cg, kh, kw = w.shape
    (sh, sw), (dh, dw), (pt, pl, pb, pr) = strides, dilations, pads
    xp = np.full((h + pt + pb, wd + pl + pr, c), zp, np.int64)
    xp[pt:pt + h, pl:pl + wd] = x
    ho = (h + pt + pb - dh * (kh - 1) - 1) // sh + 1
    wo = (wd + pl + pr - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((ho, wo, oc), np.int64)
    ocg = oc // group
    for i in range(ho):
        for j in range(wo):
            patch = xp[i * sh:i * sh + dh * (kh - 1) + 1:dh, j * sw:j * sw + dw * (kw - 1) + 1:dw] - zp
            for g in range(group):
                out[i, j, g * ocg:(g + 1) * ocg] = np.einsum(
                    "hwc,ochw->o", patch[:, :, g * cg:(g + 1) * cg], w[g * ocg:(g + 1) * ocg].astype(np.int64))
    return out + (0 if bias is None else bias.astype(np.int64))


GEOMS = [  # strides, pads (t, l, b, r), dilations
    ((1, 1), (0, 0, 0, 0), (1, 1)),
    ((1, 1), (1, 1, 1, 1), (1, 1)),
    ((2, 2), (1, 0, 2, 1), (1, 1)),
    ((1, 2), (2, 2, 2, 2), (2, 1)),
    ((3, 1), (0, 1, 1, 0), (2, 2)),
]
KINDS = [  # C, OC, group
    (5, 7, 1),     # dense
    (8, 6, 2),     # grouped
    (12, 8, 4),    # grouped, small groups
    (6, 6, 6),     # depthwise
    (4, 12, 4),    # depthwise with channel multiplier 3
]


@pytest.mark.parametrize("c,oc,group", KINDS)
@pytest.mark.parametrize("strides,pads,dilations", GEOMS)
def test_conv2d_matches_reference(c, oc, group, strides, pads, dilations):
    x = RNG.integers(-128, 128, (9, 8, c), dtype=np.int8)
    w = RNG.integers(-127, 128, (oc, c // group, 3, 2), dtype=np.int8)
    bias = RNG.integers(-5000, 5000, oc).astype(np.int32)
    zp = int(RNG.integers(-128, 128))
    got = ik.conv2d(x, w, bias, zp, strides, pads, dilations, group)
    assert got.dtype == np.int32
    assert np.array_equal(got, _ref_conv(x, w, bias, zp, strides, pads, dilations, group))
    prepared = ik.prepare_conv2d_weights(w, group)
    assert np.array_equal(ik.conv2d(x, prepared, bias, zp, strides, pads, dilations, group), got)


@pytest.mark.parametrize("c,oc,group", KINDS)
def test_conv2d_plan_reused_across_frames(c, oc, group):
    """One plan, several frames with new inputs (strided views, as the runtime passes them), new
    weights and new biases: every run matches the reference, so no state leaks between runs."""
    strides, pads, dilations = (2, 1), (1, 2, 0, 1), (1, 2)
    plan = ik.Conv2dPlan(9, 8, c, (oc, c // group, 3, 2), group, -3, strides, pads, dilations)
    for frame in range(3):
        wide = RNG.integers(-128, 128, (9, 8, c + 5), dtype=np.int8)
        x = wide[:, :, :c]  # channel-sliced view, not contiguous
        w = RNG.integers(-127, 128, (oc, c // group, 3, 2), dtype=np.int8)
        bias = None if frame == 1 else RNG.integers(-5000, 5000, oc).astype(np.int32)
        got = plan.run(x, ik.prepare_conv2d_weights(w, group), bias)
        assert got.shape == plan.out_shape
        assert np.array_equal(got, _ref_conv(x, w, bias, -3, strides, pads, dilations, group))
    with pytest.raises(ValueError, match="plan expects"):
        plan.run(wide[:, :, :c][:-1], ik.prepare_conv2d_weights(w, group), None)


def test_conv2d_1x1_no_bias_and_errors():
    x = RNG.integers(-128, 128, (4, 5, 3), dtype=np.int8)
    w = RNG.integers(-127, 128, (2, 3, 1, 1), dtype=np.int8)
    assert np.array_equal(ik.conv2d(x, w, None, -7),
                          _ref_conv(x, w, None, -7, (1, 1), (0, 0, 0, 0), (1, 1), 1))
    with pytest.raises(ValueError):
        ik.conv2d(x.astype(np.int16), w, None, 0)
    with pytest.raises(ValueError):
        ik.conv2d(x, w, np.zeros(3, np.int32), 0)
    with pytest.raises(ValueError):
        ik.conv2d(x, w, None, 200)
    with pytest.raises(ValueError):
        ik.conv2d(x, w[:, :2], None, 0)
    with pytest.raises(ValueError):
        ik.conv2d(x, ik.prepare_conv2d_weights(w), None, 0, group=3)
    with pytest.raises(ValueError):  # window larger than the padded input
        ik.conv2d(x, RNG.integers(-1, 1, (2, 3, 7, 1), dtype=np.int8), None, 0)


def _ref_conv_fast(x, w, bias, zp, pads):
    """int64 reference for big K (stride 1, no dilation, group 1): im2col + int64 matmul."""
    oc, c, kh, kw = w.shape
    g = Geom(x.shape[0], x.shape[1], (kh, kw), 1, pads, 1, False)
    cols = g.windows(g.pad(x, np.int8(zp))).astype(np.int64).reshape(g.ho * g.wo, -1) - zp
    wm = w.transpose(0, 2, 3, 1).reshape(oc, -1).astype(np.int64)
    return (cols @ wm.T + bias).reshape(g.ho, g.wo, oc)


@pytest.mark.parametrize("xv,wv", [(-128, -127), (-128, 127), (127, 127), ("mixed", "mixed")])
@pytest.mark.parametrize("zp", [0, 127, -128])
def test_conv2d_worst_case_exact(xv, wv, zp):
    """K = 3x3x512 = 4608 (5 BLAS chunks) with extreme values: raw sums reach 4608 * 16384 > 2**24."""
    shape_x, shape_w = (4, 4, 512), (4, 512, 3, 3)
    if xv == "mixed":
        x = RNG.choice(np.array([-128, 127], np.int8), shape_x)
        w = RNG.choice(np.array([-127, 127], np.int8), shape_w)
        w[0] = -127  # one channel of all -127 against mostly -128 inputs
        x[:2] = -128
    else:
        x = np.full(shape_x, xv, np.int8)
        w = np.full(shape_w, wv, np.int8)
    bias = np.array([0, 2**20, -(2**20), 123], np.int32)
    got = ik.conv2d(x, w, bias, zp, pads=(1, 1, 1, 1))
    want = _ref_conv_fast(x, w, bias, zp, (1, 1, 1, 1))
    assert np.array_equal(got, want)
    if xv == -128 and wv == -127 and zp == 0:
        assert got[1, 1, 0] == 4608 * 128 * 127  # a full window: far beyond float32's 2**24


def test_conv2d_grouped_and_depthwise_extremes():
    x = np.full((5, 5, 2048), -128, np.int8)
    x[::2] = 127
    w = np.full((4, 1024, 3, 3), -127, np.int8)
    w[1] = 127
    got = ik.conv2d(x, w, None, 3, pads=(1, 1, 1, 1), group=2)
    for g in range(2):
        want = _ref_conv_fast(x[:, :, g * 1024:(g + 1) * 1024], w[2 * g:2 * g + 2], np.zeros(2, np.int64), 3,
                              (1, 1, 1, 1))
        assert np.array_equal(got[:, :, 2 * g:2 * g + 2], want)
    xd = np.full((6, 6, 64), -128, np.int8)
    wd = np.full((64, 1, 5, 5), -127, np.int8)
    got = ik.conv2d(xd, wd, None, 127, pads=(2, 2, 2, 2), group=64)
    assert np.array_equal(got, _ref_conv(xd, wd, None, 127, (1, 1), (2, 2, 2, 2), (1, 1), 64))
    assert got[2, 2, 0] == 25 * 255 * 127


# --- pooling --------------------------------------------------------------------------------------

POOLS = [  # kernel, strides, pads (t, l, b, r), ceil_mode
    ((2, 2), (2, 2), (0, 0, 0, 0), False),
    ((3, 3), (2, 2), (1, 1, 1, 1), False),
    ((3, 3), (2, 2), (1, 1, 1, 1), True),
    ((2, 3), (2, 2), (1, 0, 0, 2), True),    # ceil: a last window would start in the right padding
    ((3, 2), (3, 1), (0, 1, 1, 0), True),
    ((7, 9), (1, 1), (0, 0, 0, 0), False),   # global
]


@pytest.mark.parametrize("kernel,strides,pads,ceil", POOLS)
def test_max_pool_matches_float(kernel, strides, pads, ceil):
    x = RNG.integers(-128, 128, (7, 9, 5), dtype=np.int8)
    got = ik.max_pool(x, kernel, strides, pads, ceil)
    assert got.dtype == np.int8
    ref = fk.max_pool(x.transpose(2, 0, 1)[None].astype(np.float32), kernel_shape=kernel, strides=strides,
                      pads=[pads[0], pads[1], pads[2], pads[3]], ceil_mode=int(ceil))
    assert np.array_equal(got, ref[0].transpose(1, 2, 0).astype(np.int8))
    assert np.array_equal(ik.max_pool(x, (2, 2), 1, 0, False, dilations=(2, 3)),
                          fk.max_pool(x.transpose(2, 0, 1)[None].astype(np.float32), kernel_shape=(2, 2),
                                      dilations=(2, 3))[0].transpose(1, 2, 0).astype(np.int8))


def _ref_avg(x, zp, kernel, strides, pads, include_pad, ceil, dilations=(1, 1)):
    """Brute force: window sums of (x - zp) over real elements, and the divisor, per output."""
    h, w, _ = x.shape
    (kh, kw), (sh, sw), (pt, pl, pb, pr), (dh, dw) = kernel, strides, pads, dilations
    ho = ik.output_size(h, kh, sh, pt, pb, dh, ceil)
    wo = ik.output_size(w, kw, sw, pl, pr, dw, ceil)
    acc = np.zeros((ho, wo, x.shape[2]), np.int64)
    cnt = np.zeros((ho, wo), np.int64)
    for i in range(ho):
        for j in range(wo):
            for a in range(i * sh - pt, i * sh - pt + (kh - 1) * dh + 1, dh):
                for b in range(j * sw - pl, j * sw - pl + (kw - 1) * dw + 1, dw):
                    real = 0 <= a < h and 0 <= b < w
                    in_pads = -pt <= a < h + pb and -pl <= b < w + pr
                    if real:
                        acc[i, j] += x[a, b].astype(np.int64) - zp
                    cnt[i, j] += real or (include_pad and in_pads)
    return acc, cnt


@pytest.mark.parametrize("include_pad", [False, True])
@pytest.mark.parametrize("kernel,strides,pads,ceil", POOLS)
def test_avg_pool_matches_reference(kernel, strides, pads, ceil, include_pad):
    x = RNG.integers(-128, 128, (7, 9, 4), dtype=np.int8)
    zp = -3
    acc, cnt = _ref_avg(x, zp, kernel, strides, pads, include_pad, ceil)
    counts = ik.avg_pool_counts(7, 9, kernel, strides, pads, include_pad, ceil)
    assert counts.dtype == np.int32 and np.array_equal(counts, cnt)
    # multipliers for s_in / (count * s_out) with s_in / s_out = 0.9, one common shift
    max_count = kernel[0] * kernel[1]
    shift = 31
    mults = np.zeros(max_count + 1, np.int64)
    mults[1:] = np.round(0.9 / np.arange(1, max_count + 1) * 2.0**shift).astype(np.int64)
    got = ik.avg_pool(x, zp, kernel, strides, pads, include_pad, ceil, mults, shift, 5)
    want = requantize(acc, mults[cnt][:, :, None], shift, 5)
    assert np.array_equal(got, want)
    # and it is the rounded float average
    fl = fk.average_pool((x.astype(np.float32) - zp).transpose(2, 0, 1)[None], kernel_shape=kernel,
                         strides=strides, pads=list(pads), ceil_mode=int(ceil),
                         count_include_pad=int(include_pad))[0].transpose(1, 2, 0)
    assert np.max(np.abs(got.astype(np.float32) - np.clip(np.round(fl * 0.9) + 5, -128, 127))) <= 1


@pytest.mark.parametrize("include_pad", [False, True])
@pytest.mark.parametrize("kernel,strides,pads,ceil,dilations", [
    ((2, 2), (1, 1), (0, 0, 0, 0), False, (2, 3)),
    ((3, 2), (2, 1), (1, 1, 1, 0), True, (2, 2)),
    ((3, 3), (2, 2), (2, 0, 1, 2), True, (3, 2)),   # ceil: the last windows overhang the pads
])
def test_avg_pool_dilated_matches_reference(kernel, strides, pads, ceil, dilations, include_pad):
    """Dilated windows (ONNX AveragePool opset >= 19): the taps, the divisor and the float average."""
    x = RNG.integers(-128, 128, (11, 10, 3), dtype=np.int8)
    zp = 4
    acc, cnt = _ref_avg(x, zp, kernel, strides, pads, include_pad, ceil, dilations)
    assert np.array_equal(ik.avg_pool_counts(11, 10, kernel, strides, pads, include_pad, ceil, dilations), cnt)
    shift = 31
    mults = np.zeros(kernel[0] * kernel[1] + 1, np.int64)
    mults[1:] = np.round(0.9 / np.arange(1, len(mults)) * 2.0**shift).astype(np.int64)
    got = ik.avg_pool(x, zp, kernel, strides, pads, include_pad, ceil, mults, shift, -2, dilations=dilations)
    assert np.array_equal(got, requantize(acc, mults[cnt][:, :, None], shift, -2))
    fl = fk.average_pool((x.astype(np.float32) - zp).transpose(2, 0, 1)[None], kernel_shape=kernel,
                         strides=strides, pads=list(pads), ceil_mode=int(ceil), dilations=dilations,
                         count_include_pad=int(include_pad))[0].transpose(1, 2, 0)
    assert np.max(np.abs(got.astype(np.float32) - np.clip(np.round(fl * 0.9) - 2, -128, 127))) <= 1


def test_avg_pool_errors():
    x = np.zeros((4, 4, 2), np.int8)
    with pytest.raises(ValueError):
        ik.avg_pool(x, 0, 3, 1, 1, True, False, np.zeros(5, np.int64), 10, 0)  # table too short (needs 10)


# --- elementwise ----------------------------------------------------------------------------------


def test_add_by_hand_and_random():
    a = np.array([10, -10, 127, -128], np.int8)
    b = np.array([2, 3, 127, -128], np.int8)
    # ((a - 0) * 3 + (b - 1) * 1 + 2) >> 2, + (-1)
    want = [((int(p) * 3 + (int(q) - 1) + 2) >> 2) - 1 for p, q in zip(a, b)]
    assert ik.add(a, 0, 3, b, 1, 1, 2, -1).tolist() == [min(max(v, -128), 127) for v in want]
    assert ik.add(a, 0, 1, b, 0, 1, 0, 0).tolist() == [12, -7, 127, -128]  # shift 0, saturating
    a = RNG.integers(-128, 128, (5, 6, 7), dtype=np.int8)
    b = RNG.integers(-128, 128, (5, 6, 7), dtype=np.int8)
    ma, mb, s = int(round(0.6 * 2.0**31)), int(round(0.4 * 2.0**31)), 31  # common shift
    got = ik.add(a, 4, ma, b, -9, mb, s, 2, lo=2)
    v = (a.astype(np.int64) - 4) * ma + (b.astype(np.int64) + 9) * mb
    want = np.clip(((v + (1 << (s - 1))) >> s) + 2, 2, 127)
    assert np.array_equal(got, want)
    fl = (a.astype(np.float64) - 4) * 0.6 + (b.astype(np.float64) + 9) * 0.4 + 2
    assert np.max(np.abs(got - np.clip(np.round(fl), 2, 127))) <= 1
    with pytest.raises(ValueError):
        ik.add(a.astype(np.int32), 0, 1, b, 0, 1, 0, 0)


def test_requantize_int8():
    x = np.array([[-128, -1, 0, 5, 127]], np.int8)
    assert ik.requantize_int8(x, -1, 2**30, 31, 10).tolist() == [[-53, 10, 11, 13, 74]]  # -63.5 rounds half up to -63
    assert np.array_equal(ik.requantize_int8(x, 3, 2**30, 30, 3), x)  # identity rescale


# --- geometry -------------------------------------------------------------------------------------


@pytest.mark.parametrize("args,want", [
    ((224, 7, 2, 3, 3, 1, False), 112),
    ((112, 3, 2, 1, 1, 1, False), 56),
    ((5, 2, 2, 0, 0, 1, False), 2),
    ((5, 2, 2, 0, 0, 1, True), 3),
    ((4, 2, 2, 0, 1, 1, True), 2),    # a 3rd window would start in the right padding: dropped
    ((4, 2, 2, 1, 1, 1, True), 3),
    ((6, 3, 1, 0, 0, 2, False), 2),
    ((1, 1, 1, 0, 0, 1, True), 1),
])
def test_output_size(args, want):
    assert ik.output_size(*args) == want


def test_output_size_errors():
    for args in [(3, 5, 1, 0, 0, 1, False), (3, 1, 0, 0, 0, 1, False), (3, 1, 1, -1, 0, 1, False)]:
        with pytest.raises(ValueError):
            ik.output_size(*args)


@pytest.mark.parametrize("shift", [0, 1, 7, 20, 31, 40, 43, 44, 55, 62])
def test_quantized_adder_matches_add(shift):
    """Float path (shift <= 43) and int64 path agree with add() bit for bit, per-channel multipliers,
    extreme values and strided operands included."""
    rng = np.random.default_rng(shift)
    shape = (5, 6, 8)
    a = rng.integers(-128, 128, (5, 6, 11), dtype=np.int8)[:, :, :8]
    b = rng.integers(-128, 128, shape, dtype=np.int8)
    a[0], b[0] = -128, 127
    for a_mult, b_mult in [(int(rng.integers(0, 2**31)), int(rng.integers(0, 2**31))),
                           (rng.integers(0, 2**31, 8), rng.integers(2**30, 2**31, 8)), (2**31 - 1, 2**31 - 1)]:
        for a_zp, b_zp, zp_out, lo, hi in [(-128, 127, 0, -128, 127), (3, -7, -20, -100, 90)]:
            adder = ik.QuantizedAdder(shape, a_zp, a_mult, b_zp, b_mult, shift, zp_out, lo, hi)
            out = np.zeros(shape, np.int8)
            got = adder(a, b, out)
            assert got is out
            assert np.array_equal(got, ik.add(a, a_zp, a_mult, b, b_zp, b_mult, shift, zp_out, lo, hi))
    with pytest.raises(ValueError, match="shift"):
        ik.QuantizedAdder(shape, 0, 1, 0, 1, 63, 0)
