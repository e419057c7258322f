"""Integer kernels shared by the quant / tile interpreters and the AIPU runtime.

Pure numpy (no xdsl). One frame at a time, **HWC** layout (channels last), int8 activations.

Exactness of the convolution (docs/architecture.md, "Numerics"): numpy has no integer BLAS, so the
products are computed with float32 BLAS on the raw int8 values. Every product has magnitude
``<= 128 * 127 = 16256 < 2**14``; a sum of at most ``K_CHUNK = 1024`` of them stays below ``2**24``,
so every partial sum BLAS forms (in any order, with or without FMA) is an integer that float32
represents exactly. Chunk results are converted to int32 and summed in int32. The zero point is
folded out afterwards: ``sum((x - zp) * w) = sum(x * w) - zp * sum(w)``; padding holds ``zp`` so it
contributes 0. Depthwise convolution never builds a dense matrix: it is a per-tap multiply-accumulate
in int32 over the KH*KW taps.

Window geometry follows ONNX (``output_size``), including ceil_mode where the last window must start
inside the input or the left padding.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .quantization import INT8_MAX, INT8_MIN, INT32_MAX, INT32_MIN, _round_shift, requantize

K_CHUNK = 1024
MAX_K = 65536  # int32 headroom: K * 255 * 127 + |bias| < 2**31

__all__ = [
    "K_CHUNK",
    "ConvWeights",
    "prepare_conv2d_weights",
    "conv2d",
    "max_pool",
    "avg_pool",
    "avg_pool_counts",
    "add",
    "requantize_int8",
    "output_size",
]


# ---------------------------------------------------------------------------------------------------
# geometry helpers


def output_size(in_size: int, kernel: int, stride: int = 1, pad_begin: int = 0, pad_end: int = 0,
                dilation: int = 1, ceil_mode: bool = False) -> int:
    """Output length of a sliding window along one axis (the ONNX Conv / Pool formula).

    ``floor_or_ceil((in + pad_begin + pad_end - (dilation * (kernel - 1) + 1)) / stride) + 1``. With
    ``ceil_mode`` a last window that would start in the right padding (start >= in + pad_begin) is
    dropped, as ONNX (opset >= 19 text) and onnxruntime define it.

    Raises ``ValueError`` for a non-positive kernel / stride / dilation, negative pads, or a window
    larger than the padded input.
    """
    in_size, kernel, stride = int(in_size), int(kernel), int(stride)
    pad_begin, pad_end, dilation = int(pad_begin), int(pad_end), int(dilation)
    if kernel < 1 or stride < 1 or dilation < 1:
        raise ValueError(f"kernel ({kernel}), stride ({stride}) and dilation ({dilation}) must be >= 1")
    if pad_begin < 0 or pad_end < 0:
        raise ValueError(f"pads must be >= 0, got ({pad_begin}, {pad_end})")
    eff = dilation * (kernel - 1) + 1
    span = in_size + pad_begin + pad_end - eff
    if span < 0:
        raise ValueError(f"window of extent {eff} does not fit the padded input of size "
                         f"{in_size + pad_begin + pad_end}")
    if not ceil_mode:
        return span // stride + 1
    out = -(-span // stride) + 1
    if (out - 1) * stride >= in_size + pad_begin:
        out -= 1
    return out


def _pair(v, name: str) -> tuple[int, int]:
    if isinstance(v, (int, np.integer)):
        return int(v), int(v)
    t = tuple(int(a) for a in v)
    if len(t) != 2:
        raise ValueError(f"{name} must have 2 values, got {t}")
    return t


def _quad(v) -> tuple[int, int, int, int]:
    if isinstance(v, (int, np.integer)):
        return (int(v),) * 4
    t = tuple(int(a) for a in v)
    if len(t) != 4:
        raise ValueError(f"pads must be (top, left, bottom, right), got {t}")
    if min(t) < 0:
        raise ValueError(f"pads must be >= 0, got {t}")
    return t


class _Geom:
    """Sliding-window geometry over an H x W input (all values plain ints)."""

    __slots__ = ("kh", "kw", "sh", "sw", "dh", "dw", "pt", "pl", "pb", "pr", "ho", "wo")

    def __init__(self, h, w, kernel, strides, pads, dilations, ceil_mode):
        self.kh, self.kw = _pair(kernel, "kernel")
        self.sh, self.sw = _pair(strides, "strides")
        self.dh, self.dw = _pair(dilations, "dilations")
        pt, pl, pb, pr = _quad(pads)
        self.ho = output_size(h, self.kh, self.sh, pt, pb, self.dh, ceil_mode)
        self.wo = output_size(w, self.kw, self.sw, pl, pr, self.dw, ceil_mode)
        # the padding the windows actually reach (ceil_mode may reach past the declared pads; floor
        # mode may leave trailing rows unused)
        need_h = (self.ho - 1) * self.sh + (self.kh - 1) * self.dh + 1
        need_w = (self.wo - 1) * self.sw + (self.kw - 1) * self.dw + 1
        self.pt, self.pl = pt, pl
        self.pb = max(need_h - pt - h, 0)
        self.pr = max(need_w - pl - w, 0)

    def pad(self, x: np.ndarray, value) -> np.ndarray:
        """Pad the H and W axes (the last-but-one two) of ``x`` with ``value``."""
        if not (self.pt or self.pl or self.pb or self.pr):
            return x
        h, w = x.shape[-3], x.shape[-2]
        out = np.full(x.shape[:-3] + (h + self.pt + self.pb, w + self.pl + self.pr, x.shape[-1]),
                      value, dtype=x.dtype)
        out[..., self.pt:self.pt + h, self.pl:self.pl + w, :] = x
        return out

    def tap(self, xp: np.ndarray, i: int, j: int) -> np.ndarray:
        """View of the padded input seen by kernel tap (i, j): [..., Ho, Wo, C]."""
        h0, w0 = i * self.dh, j * self.dw
        return xp[..., h0:h0 + (self.ho - 1) * self.sh + 1:self.sh,
                  w0:w0 + (self.wo - 1) * self.sw + 1:self.sw, :]

    def windows(self, xp: np.ndarray) -> np.ndarray:
        """Read-only strided view [Ho, Wo, KH, KW, C] of a padded HWC array (no copy)."""
        s0, s1, s2 = xp.strides
        return as_strided(xp, shape=(self.ho, self.wo, self.kh, self.kw, xp.shape[2]),
                          strides=(self.sh * s0, self.sw * s1, self.dh * s0, self.dw * s1, s2),
                          writeable=False)


def _check_int8(x: np.ndarray, name: str, ndim: int) -> np.ndarray:
    x = np.asarray(x)
    if x.dtype != np.int8:
        raise ValueError(f"{name} must be int8, got {x.dtype}")
    if x.ndim != ndim:
        raise ValueError(f"{name} must have rank {ndim}, got shape {x.shape}")
    return x


def _check_zp(zp) -> int:
    zp = int(zp)
    if not INT8_MIN <= zp <= INT8_MAX:
        raise ValueError(f"zero point {zp} outside [-128, 127]")
    return zp


# ---------------------------------------------------------------------------------------------------
# convolution


class ConvWeights:
    """int8 convolution weights pre-arranged for :func:`conv2d` (build with
    :func:`prepare_conv2d_weights`; cache it next to the constant to skip the re-layout per frame).

    Attributes: ``oc``, ``cg`` (input channels per group), ``kh``, ``kw``, ``group``, ``depthwise``;
    for dense / grouped conv ``wf`` float32 [group, KH*KW*cg, oc/group] (K ordered kh, kw, c; a
    transposed view of a contiguous [group, oc/group, K] array) and
    ``wsum`` int64 [oc]; for depthwise ``w_taps`` int32 [KH, KW, oc].
    """

    __slots__ = ("oc", "cg", "kh", "kw", "group", "depthwise", "wf", "wsum", "w_taps")

    @property
    def shape(self) -> tuple[int, int, int, int]:
        return self.oc, self.cg, self.kh, self.kw


def prepare_conv2d_weights(w: np.ndarray, group: int = 1) -> ConvWeights:
    """Re-layout int8 ONNX conv weights ``w`` [OC, C/group, KH, KW] for :func:`conv2d`.

    Depthwise (``C/group == 1`` and ``group > 1``) keeps per-tap int32 vectors; other convolutions get
    a float32 [group, K, OC/group] matrix plus per-channel weight sums. Raises ``ValueError`` for a
    non-int8 or non-4-D ``w``, ``OC`` not divisible by ``group``, or ``K > 65536``.
    """
    w = _check_int8(w, "conv weights", 4)
    group = int(group)
    oc, cg, kh, kw = w.shape
    if group < 1 or oc % group:
        raise ValueError(f"output channels {oc} not divisible by group {group}")
    cw = ConvWeights()
    cw.oc, cw.cg, cw.kh, cw.kw, cw.group = oc, cg, kh, kw, group
    cw.depthwise = cg == 1 and group > 1
    cw.wf = cw.wsum = cw.w_taps = None
    if cw.depthwise:
        cw.w_taps = np.ascontiguousarray(w[:, 0].transpose(1, 2, 0), dtype=np.int32)
    else:
        k = kh * kw * cg
        if k > MAX_K:
            raise ValueError(f"conv reduction size {k} exceeds {MAX_K} (int32 accumulator headroom)")
        # stored [group, OC/group, K] (a cheap re-layout); used transposed, BLAS reads it either way
        wt = np.ascontiguousarray(w.transpose(0, 2, 3, 1), dtype=np.float32)
        cw.wf = wt.reshape(group, oc // group, k).transpose(0, 2, 1)
        cw.wsum = w.reshape(oc, -1).sum(axis=1, dtype=np.int64)
    return cw


def conv2d(x: np.ndarray, w, bias: np.ndarray | None, x_zp: int, strides=(1, 1), pads=(0, 0, 0, 0),
           dilations=(1, 1), group: int = 1) -> np.ndarray:
    """Exact integer 2-D convolution of one HWC frame.

    ``x``: int8 [H, W, C]; ``w``: int8 [OC, C/group, KH, KW] (ONNX layout) or a :class:`ConvWeights`;
    ``bias``: int32 [OC] or None; ``x_zp``: input zero point; ``strides`` (sh, sw), ``pads`` (top, left,
    bottom, right), ``dilations`` (dh, dw): ints or pairs.

    Returns int32 [Ho, Wo, OC] = ``sum((x - x_zp) * w) + bias`` with padding value ``x_zp`` (padding
    contributes 0). Dense and grouped convolutions use float32 BLAS in K-chunks of <= 1024 (exact, see
    the module docstring); depthwise (group == C) uses an int32 per-tap multiply-accumulate.

    Raises ``ValueError`` for wrong dtypes / ranks, ``C != (C/group) * group``, a bias of the wrong
    shape, a zero point outside int8, or a window that does not fit.
    """
    x = _check_int8(x, "conv input", 3)
    x_zp = _check_zp(x_zp)
    cw = w if isinstance(w, ConvWeights) else prepare_conv2d_weights(w, group)
    if cw.group != int(group):
        raise ValueError(f"prepared weights are for group {cw.group}, conv2d called with group {group}")
    h, wd, c = x.shape
    if c != cw.cg * cw.group:
        raise ValueError(f"input has {c} channels, weights expect {cw.cg} x group {cw.group}")
    if bias is None:
        bias64 = np.zeros(cw.oc, np.int64)
    else:
        bias64 = np.asarray(bias).astype(np.int64)
        if bias64.shape != (cw.oc,):
            raise ValueError(f"bias must have shape ({cw.oc},), got {bias64.shape}")
    g = _Geom(h, wd, (cw.kh, cw.kw), strides, pads, dilations, False)
    if cw.depthwise:
        return _conv_depthwise(x, cw, bias64, x_zp, g)

    groups, oc, ocg = cw.group, cw.oc, cw.oc // cw.group
    n = g.ho * g.wo
    kg = cw.kh * cw.kw * cw.cg
    win = g.windows(g.pad(x, np.int8(x_zp)))  # [Ho, Wo, KH, KW, C], a view
    if groups == 1:
        cols = win.astype(np.float32, order="C").reshape(1, n, kg)
    else:
        win = win.reshape(g.ho, g.wo, cw.kh, cw.kw, groups, cw.cg).transpose(4, 0, 1, 2, 3, 5)
        cols = win.astype(np.float32, order="C").reshape(groups, n, kg)
    acc = None
    for k0 in range(0, kg, K_CHUNK):
        k1 = min(k0 + K_CHUNK, kg)
        part = np.matmul(cols[:, :, k0:k1], cw.wf[:, k0:k1, :])
        if acc is None:
            acc = part.astype(np.int32)
        else:
            acc += part.astype(np.int32)
    corr = bias64 - np.int64(x_zp) * cw.wsum
    if corr.min(initial=0) < INT32_MIN or corr.max(initial=0) > INT32_MAX:
        raise ValueError("conv bias minus zero-point correction does not fit in int32")
    acc += corr.astype(np.int32).reshape(groups, 1, ocg)
    if groups == 1:
        return acc.reshape(g.ho, g.wo, oc)
    return np.ascontiguousarray(acc.transpose(1, 0, 2)).reshape(g.ho, g.wo, oc)


def _conv_depthwise(x, cw: ConvWeights, bias64, x_zp, g: _Geom) -> np.ndarray:
    xs = x.astype(np.int32)
    if x_zp:
        xs -= np.int32(x_zp)
    mult = cw.oc // cw.group
    if mult > 1:
        xs = np.repeat(xs, mult, axis=2)  # output channel oc reads input channel oc // mult
    xp = g.pad(xs, 0)
    acc = np.empty((g.ho, g.wo, cw.oc), np.int32)
    tmp = np.empty_like(acc)
    for i in range(cw.kh):
        for j in range(cw.kw):
            if i == 0 and j == 0:
                np.multiply(g.tap(xp, 0, 0), cw.w_taps[0, 0], out=acc)
            else:
                np.multiply(g.tap(xp, i, j), cw.w_taps[i, j], out=tmp)
                acc += tmp
    if bias64.min(initial=0) < INT32_MIN or bias64.max(initial=0) > INT32_MAX:
        raise ValueError("conv bias does not fit in int32")
    acc += bias64.astype(np.int32)
    return acc


# ---------------------------------------------------------------------------------------------------
# pooling


def max_pool(x: np.ndarray, kernel, strides=(1, 1), pads=(0, 0, 0, 0), ceil_mode: bool = False,
             dilations=(1, 1)) -> np.ndarray:
    """Max pooling of one int8 HWC frame [H, W, C] -> int8 [Ho, Wo, C].

    ``kernel`` / ``strides`` / ``dilations``: ints or (h, w) pairs; ``pads``: (top, left, bottom,
    right). Padding (and the ceil_mode overhang) never wins: it is filled with -128, and every window
    holds at least one real element under the ONNX geometry (a window of padding only yields -128).
    Raises ``ValueError`` for a non-int8 / non-3-D input or a window that does not fit.
    """
    x = _check_int8(x, "max_pool input", 3)
    g = _Geom(x.shape[0], x.shape[1], kernel, strides, pads, dilations, ceil_mode)
    xp = g.pad(x, np.int8(INT8_MIN))
    out = g.tap(xp, 0, 0).copy()
    for i in range(g.kh):
        for j in range(g.kw):
            if i or j:
                np.maximum(out, g.tap(xp, i, j), out=out)
    return out


def _counts_1d(n, k, s, pb, pe, d, ceil_mode, include_pad) -> np.ndarray:
    out = output_size(n, k, s, pb, pe, d, ceil_mode)
    pos = (np.arange(out) * s - pb)[:, None] + np.arange(k) * d
    lo, hi = (-pb, n + pe) if include_pad else (0, n)
    return ((pos >= lo) & (pos < hi)).sum(axis=1)


def avg_pool_counts(h: int, w: int, kernel, strides, pads, count_include_pad: bool, ceil_mode: bool,
                    dilations=(1, 1)) -> np.ndarray:
    """Divisor of every output of an average pool: int32 [Ho, Wo].

    Counts the window positions inside the input, plus (with ``count_include_pad``) those inside the
    declared pads; the ceil_mode overhang beyond the pads is never counted (onnxruntime's rule).
    ``pads`` = (top, left, bottom, right). Raises ``ValueError`` for a window that does not fit.
    """
    kh, kw = _pair(kernel, "kernel")
    sh, sw = _pair(strides, "strides")
    dh, dw = _pair(dilations, "dilations")
    pt, pl, pb, pr = _quad(pads)
    ch = _counts_1d(h, kh, sh, pt, pb, dh, ceil_mode, count_include_pad)
    cw = _counts_1d(w, kw, sw, pl, pr, dw, ceil_mode, count_include_pad)
    return np.multiply.outer(ch, cw).astype(np.int32)


def avg_pool(x: np.ndarray, x_zp: int, kernel, strides, pads, count_include_pad: bool, ceil_mode: bool,
             multipliers, shift: int, zp_out: int, lo: int = INT8_MIN, hi: int = INT8_MAX) -> np.ndarray:
    """Average pooling of one int8 HWC frame [H, W, C] -> int8 [Ho, Wo, C].

    ``acc = sum over the window of (x - x_zp)`` over real elements (padding contributes 0), then
    ``out = requantize(acc, multipliers[count], shift, zp_out, lo, hi)`` where ``count`` is
    :func:`avg_pool_counts` (the divisor, padding included only with ``count_include_pad``). The
    caller builds ``multipliers`` (int64 [max_count + 1], index = number of elements averaged) from
    ``s_in / (count * s_out)`` with one common ``shift``.

    Raises ``ValueError`` for a non-int8 / non-3-D input, a ``multipliers`` table shorter than
    ``max(count) + 1``, or a window that does not fit.
    """
    x = _check_int8(x, "avg_pool input", 3)
    x_zp = _check_zp(x_zp)
    g = _Geom(x.shape[0], x.shape[1], kernel, strides, pads, (1, 1), ceil_mode)
    counts = avg_pool_counts(x.shape[0], x.shape[1], kernel, strides, pads, count_include_pad, ceil_mode)
    mults = np.asarray(multipliers, dtype=np.int64)
    if mults.ndim != 1 or mults.shape[0] <= int(counts.max()):
        raise ValueError(f"multipliers must be a 1-D table of length >= {int(counts.max()) + 1}, "
                         f"got shape {mults.shape}")
    xs = x.astype(np.int32)
    if x_zp:
        xs -= np.int32(x_zp)
    xp = g.pad(xs, 0)
    if g.kh * g.kw > g.ho * g.wo:  # big windows (global pooling): reduce each window at once
        acc = g.windows(xp).sum(axis=(2, 3), dtype=np.int32)
    else:
        acc = g.tap(xp, 0, 0).copy()
        for i in range(g.kh):
            for j in range(g.kw):
                if i or j:
                    acc += g.tap(xp, i, j)
    return requantize(acc, mults[counts][:, :, None], shift, zp_out, lo, hi)


# ---------------------------------------------------------------------------------------------------
# elementwise


def add(a: np.ndarray, a_zp: int, a_mult, b: np.ndarray, b_zp: int, b_mult, shift: int, zp_out: int,
        lo: int = INT8_MIN, hi: int = INT8_MAX) -> np.ndarray:
    """Quantized elementwise add: int8 ``a`` and ``b`` of the same shape (numpy broadcasting allowed).

    ``out = clamp((((a - a_zp) * a_mult + (b - b_zp) * b_mult + 2**(shift-1)) >> shift) + zp_out,
    lo, hi)`` in int64 (no rounding term when ``shift == 0``); ``a_mult`` / ``b_mult`` are integers in
    [0, 2**31) (scalars or per-channel arrays on the last axis), ``shift`` in [0, 62]. Returns int8.
    Raises ``ValueError`` for non-int8 inputs or out-of-range parameters.
    """
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype != np.int8 or b.dtype != np.int8:
        raise ValueError(f"add inputs must be int8, got {a.dtype} and {b.dtype}")
    if not INT8_MIN <= lo <= hi <= INT8_MAX:
        raise ValueError(f"add: clamp range [{lo}, {hi}] is not inside [-128, 127]")
    am, bm = np.asarray(a_mult, np.int64), np.asarray(b_mult, np.int64)
    if np.any(am < 0) or np.any(am >= 2**31) or np.any(bm < 0) or np.any(bm >= 2**31):
        raise ValueError("add: multipliers must be in [0, 2**31)")
    if not 0 <= int(shift) <= 62:
        raise ValueError(f"add: shift {shift} outside [0, 62]")
    acc = (a.astype(np.int64) - _check_zp(a_zp)) * am + (b.astype(np.int64) - _check_zp(b_zp)) * bm
    acc = _round_shift(np.asarray(acc), int(shift))
    acc += np.int64(zp_out)
    np.clip(acc, lo, hi, out=acc)
    return acc.astype(np.int8)


def requantize_int8(x: np.ndarray, x_zp: int, multiplier, shift, zp_out: int, lo: int = INT8_MIN,
                    hi: int = INT8_MAX) -> np.ndarray:
    """Rescale int8 ``x`` (any shape, channels last) to another scale / zero point:
    ``requantize(x - x_zp, multiplier, shift, zp_out, lo, hi)``. Returns int8; raises like
    :func:`requantize`, and ``ValueError`` for a non-int8 ``x``."""
    x = np.asarray(x)
    if x.dtype != np.int8:
        raise ValueError(f"requantize_int8 input must be int8, got {x.dtype}")
    return requantize(x.astype(np.int32) - np.int32(_check_zp(x_zp)), multiplier, shift, zp_out, lo, hi)
