"""Integer kernels shared by the quant / tile interpreters and the AIPU runtime: pooling, elementwise
add and multiply, requantization and table lookup (``lut``), plus the re-exported convolution (:mod:`.conv_kernels`) and window geometry
(:mod:`.window_geometry`).

Pure numpy (no xdsl). One frame at a time, **HWC** layout (channels last), int8 activations. Window
geometry follows ONNX (``output_size``), including ceil_mode where the last window must start inside
the input or the left padding.
"""

from __future__ import annotations

import numpy as np

from .conv_kernels import K_CHUNK, MAX_K, Conv2dPlan, ConvWeights, conv2d, prepare_conv2d_weights
from .quantization import INT8_MAX, INT8_MIN, _round_shift, clamp, requantize
from .window_geometry import Geom, check_int8, check_zp, output_size, pair, quad

__all__ = [
    "K_CHUNK",
    "MAX_K",
    "ConvWeights",
    "Conv2dPlan",
    "prepare_conv2d_weights",
    "conv2d",
    "MaxPoolPlan",
    "max_pool",
    "avg_pool",
    "avg_pool_counts",
    "add",
    "QuantizedAdder",
    "requantize_int8",
    "lut",
    "mul",
    "output_size",
]

# ---------------------------------------------------------------------------------------------------
# pooling


class MaxPoolPlan:
    """Max pooling of an int8 HWC frame [H, W, C] -> int8 [Ho, Wo, C], planned once and run frame
    after frame (a padded buffer and its per-tap views are built here, not per frame).

    ``MaxPoolPlan(h, w, c, kernel, strides, pads, ceil_mode, dilations)``: ``kernel`` / ``strides``
    / ``dilations`` ints or (h, w) pairs, ``pads`` (top, left, bottom, right). Padding (and the
    ceil_mode overhang) never wins: it holds -128, and every window holds at least one real element
    under the ONNX geometry (a window of padding only yields -128). Raises ``ValueError`` for a
    window that does not fit.
    """

    def __init__(self, h: int, w: int, c: int, kernel, strides=(1, 1), pads=(0, 0, 0, 0),
                 ceil_mode: bool = False, dilations=(1, 1)):
        g = Geom(h, w, kernel, strides, pads, dilations, ceil_mode)
        self.in_shape, self.out_shape = (h, w, c), (g.ho, g.wo, c)
        self._xp = np.full((h + g.pt + g.pb, w + g.pl + g.pr, c), INT8_MIN, np.int8)
        self._interior = self._xp[g.pt:g.pt + h, g.pl:g.pl + w]
        self._taps = [g.tap(self._xp, i, j) for i in range(g.kh) for j in range(g.kw)]

    def run(self, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Pool ``x`` (int8 [H, W, C], any strides) into ``out`` (int8 [Ho, Wo, C], any strides; a
        new array when None) and return it. Raises ``ValueError`` for an input of another shape or
        dtype."""
        x = check_int8(x, "max_pool input", 3)
        if x.shape != self.in_shape:
            raise ValueError(f"max_pool input has shape {x.shape}, the plan expects {self.in_shape}")
        self._interior[...] = x
        out = np.empty(self.out_shape, np.int8) if out is None else out
        np.copyto(out, self._taps[0])
        for t in self._taps[1:]:
            np.maximum(out, t, out=out)
        return out


def max_pool(x: np.ndarray, kernel, strides=(1, 1), pads=(0, 0, 0, 0), ceil_mode: bool = False,
             dilations=(1, 1)) -> np.ndarray:
    """Max pooling of one int8 HWC frame [H, W, C] -> int8 [Ho, Wo, C] (a one-off
    :class:`MaxPoolPlan`; see there for the arguments and the padding rule). Raises ``ValueError``
    for a non-int8 / non-3-D input or a window that does not fit."""
    x = check_int8(x, "max_pool input", 3)
    return MaxPoolPlan(*x.shape, kernel, strides, pads, ceil_mode, dilations).run(x)


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
    kh, kw = pair(kernel, "kernel")
    sh, sw = pair(strides, "strides")
    dh, dw = pair(dilations, "dilations")
    pt, pl, pb, pr = quad(pads)
    ch = _counts_1d(h, kh, sh, pt, pb, dh, ceil_mode, count_include_pad)
    cw = _counts_1d(w, kw, sw, pl, pr, dw, ceil_mode, count_include_pad)
    return np.multiply.outer(ch, cw).astype(np.int32)


def avg_pool(x: np.ndarray, x_zp: int, kernel, strides, pads, count_include_pad: bool, ceil_mode: bool,
             multipliers, shift: int, zp_out: int, lo: int = INT8_MIN, hi: int = INT8_MAX,
             dilations=(1, 1)) -> np.ndarray:
    """Average pooling of one int8 HWC frame [H, W, C] -> int8 [Ho, Wo, C].

    ``acc = sum over the window of (x - x_zp)`` over real elements (padding contributes 0), then
    ``out = requantize(acc, multipliers[count], shift, zp_out, lo, hi)`` where ``count`` is
    :func:`avg_pool_counts` (the divisor, padding included only with ``count_include_pad``). The
    caller builds ``multipliers`` (int64 [max_count + 1], index = number of elements averaged) from
    ``s_in / (count * s_out)`` with one common ``shift``. ``dilations`` (h, w) space the window taps
    as in ONNX AveragePool (opset >= 19).

    Raises ``ValueError`` for a non-int8 / non-3-D input, a ``multipliers`` table shorter than
    ``max(count) + 1``, or a window that does not fit.
    """
    x = check_int8(x, "avg_pool input", 3)
    x_zp = check_zp(x_zp)
    g = Geom(x.shape[0], x.shape[1], kernel, strides, pads, dilations, ceil_mode)
    counts = avg_pool_counts(x.shape[0], x.shape[1], kernel, strides, pads, count_include_pad, ceil_mode,
                             dilations)
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


def _add_params(a_zp: int, a_mult, b_zp: int, b_mult, shift: int, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
    """The multipliers of :func:`add` as int64 arrays, after checking every parameter (``ValueError``)."""
    if not INT8_MIN <= lo <= hi <= INT8_MAX:
        raise ValueError(f"add: clamp range [{lo}, {hi}] is not inside [-128, 127]")
    am, bm = np.asarray(a_mult, np.int64), np.asarray(b_mult, np.int64)
    if np.any(am < 0) or np.any(am >= 2**31) or np.any(bm < 0) or np.any(bm >= 2**31):
        raise ValueError("add: multipliers must be in [0, 2**31)")
    if not 0 <= int(shift) <= 62:
        raise ValueError(f"add: shift {shift} outside [0, 62]")
    check_zp(a_zp)
    check_zp(b_zp)
    return am, bm


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
    am, bm = _add_params(a_zp, a_mult, b_zp, b_mult, shift, lo, hi)
    acc = (a.astype(np.int64) - int(a_zp)) * am + (b.astype(np.int64) - int(b_zp)) * bm
    acc = _round_shift(np.asarray(acc), int(shift))
    acc += np.int64(zp_out)
    np.clip(acc, lo, hi, out=acc)
    return acc.astype(np.int8)


class QuantizedAdder:
    """:func:`add` with fixed parameters, frame after frame, without allocating.

    ``QuantizedAdder(shape, a_zp, a_mult, b_zp, b_mult, shift, zp_out, lo, hi)`` validates the
    parameters like :func:`add` (``ValueError``) once; calling it with int8 ``a`` and ``b`` of
    ``shape`` (any strides) writes the int8 sum into ``out`` and returns it, bit-identical to
    :func:`add`. With ``shift <= 43`` the arithmetic is float64, where every operation is exact:
    ``a * (a_mult * 2**-shift)`` has at most 39 significant bits, and every partial sum is a multiple
    of ``min(2**-shift, 0.5)`` below ``2**(41 - shift) + 2**8`` in magnitude, so it needs at most 52
    bits; the floor of ``((a - a_zp) * a_mult + (b - b_zp) * b_mult) * 2**-shift + 0.5 + zp_out`` is
    then exactly the integer :func:`add` forms. Larger shifts call :func:`add`.
    """

    FLOAT_MAX_SHIFT = 43

    def __init__(self, shape: tuple[int, ...], a_zp: int, a_mult, b_zp: int, b_mult, shift: int, zp_out: int,
                 lo: int = INT8_MIN, hi: int = INT8_MAX):
        am, bm = _add_params(a_zp, a_mult, b_zp, b_mult, shift, lo, hi)
        self._args = (a_zp, a_mult, b_zp, b_mult, shift, zp_out, lo, hi)
        self._float = int(shift) <= self.FLOAT_MAX_SHIFT
        if self._float:
            am, bm = am.astype(np.float64), bm.astype(np.float64)
            self._ra, self._rb = np.ldexp(am, -int(shift)), np.ldexp(bm, -int(shift))
            self._k = 0.5 + int(zp_out) - np.ldexp(int(a_zp) * am + int(b_zp) * bm, -int(shift))
            self._v = np.empty(shape, np.float64)
            self._t = np.empty(shape, np.float64)

    def __call__(self, a: np.ndarray, b: np.ndarray, out: np.ndarray) -> np.ndarray:
        if not self._float:
            a_zp, a_mult, b_zp, b_mult, shift, zp_out, lo, hi = self._args
            np.copyto(out, add(a, a_zp, a_mult, b, b_zp, b_mult, shift, zp_out, lo, hi))
            return out
        if a.dtype != np.int8 or b.dtype != np.int8:
            raise ValueError(f"add inputs must be int8, got {a.dtype} and {b.dtype}")
        v, t = self._v, self._t
        np.multiply(a, self._ra, out=v)
        np.multiply(b, self._rb, out=t)
        v += t
        v += self._k
        np.floor(v, out=v)
        clamp(v, self._args[6], self._args[7])
        np.copyto(out, v, casting="unsafe")
        return out


def requantize_int8(x: np.ndarray, x_zp: int, multiplier, shift, zp_out: int, lo: int = INT8_MIN,
                    hi: int = INT8_MAX) -> np.ndarray:
    """Rescale int8 ``x`` (any shape, channels last) to another scale / zero point:
    ``requantize(x - x_zp, multiplier, shift, zp_out, lo, hi)``. Returns int8; raises like
    :func:`requantize`, and ``ValueError`` for a non-int8 ``x``."""
    x = np.asarray(x)
    if x.dtype != np.int8:
        raise ValueError(f"requantize_int8 input must be int8, got {x.dtype}")
    return requantize(x.astype(np.int32) - np.int32(check_zp(x_zp)), multiplier, shift, zp_out, lo, hi)


# ---------------------------------------------------------------------------------------------------
# table lookup


def lut(x: np.ndarray, table: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``table[x + 128]`` element-wise: int8 ``x`` (any shape) through a 256-entry int8 table.

    Entry ``k`` of ``table`` is the result for the input ``k - 128``. The index is formed as the
    uint8 bit pattern of ``x`` with its top bit flipped (equal to ``x + 128``). With ``out`` (int8,
    the shape of ``x``, possibly a strided view) the result is written there. Returns the int8
    result; raises ``ValueError`` for a non-int8 ``x`` or a table that is not int8 of 256 entries.
    """
    x = np.asarray(x)
    t = np.asarray(table)
    if x.dtype != np.int8:
        raise ValueError(f"lut input must be int8, got {x.dtype}")
    if t.dtype != np.int8 or t.shape != (256,):
        raise ValueError(f"lut table must be int8 of 256 entries, got {t.dtype} {list(t.shape)}")
    idx = x.view(np.uint8) ^ np.uint8(0x80)
    if out is None:
        return t[idx]
    out[...] = t[idx]
    return out


# ---------------------------------------------------------------------------------------------------
# element-wise multiply


def mul(a: np.ndarray, a_zp: int, b: np.ndarray, b_zp: int, mult: int, shift: int, zp_out: int,
        lo: int = INT8_MIN, hi: int = INT8_MAX, out: np.ndarray | None = None) -> np.ndarray:
    """``clamp((((a - a_zp) * (b - b_zp) * mult + 2^(shift-1)) >> shift) + zp_out, lo, hi)``, int64.

    ``a``: int8 of any shape (HWC for one frame); ``b``: int8 of ``a``'s shape or broadcast against it
    with numpy rules (a per-channel (1, 1, C) vector over H x W). The product of the centred values is
    below 2^16 in magnitude, so the rounding is exactly :func:`~axc.runtime.quantization.requantize`'s
    (multiplier / shift from ``multipliers.mul_multiplier``). With ``out`` (int8, ``a``'s shape, any
    strides) the result is written there. Returns int8 of ``a``'s shape; raises ``ValueError`` for
    non-int8 inputs, zero points outside int8 or parameters ``requantize`` refuses.
    """
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype != np.int8 or b.dtype != np.int8:
        raise ValueError(f"mul inputs must be int8, got {a.dtype} and {b.dtype}")
    if np.broadcast_shapes(a.shape, b.shape) != a.shape:
        raise ValueError(f"mul: b of shape {list(b.shape)} does not broadcast to a's {list(a.shape)}")
    prod = (a.astype(np.int32) - np.int32(check_zp(a_zp))) * (b.astype(np.int32) - np.int32(check_zp(b_zp)))
    return requantize(prod, mult, shift, zp_out, lo, hi, out=out)
