"""Quantization parameter math and fixed-point requantization (the numerics contract).

Pure numpy: the deployed runtime imports this module, so it must not depend on xdsl.

Conventions (docs/architecture.md, "Numerics"):

* Activations: int8 per-tensor asymmetric in [-128, 127]. ``scale = (max - min) / 255`` with the
  range widened to contain 0, ``zero_point = round(-128 - min / scale)`` clipped to [-128, 127].
* Weights: int8 per-output-channel symmetric in [-127, 127], zero point 0, ``scale = max|w| / 127``.
* Bias: int32 ``round(b / (s_in * s_w[c]))``.
* ``quantize`` / ``dequantize`` are exactly ONNX QuantizeLinear / DequantizeLinear on float32:
  ``q = clip(round_half_even(x / scale) + zp)`` and ``x = (q - zp) * scale``, computed in float32.
* Requantization is fixed point: a real multiplier ``r = M * 2**-shift`` with ``M`` an int32 in
  [2**30, 2**31) and 0 <= shift <= 62, applied as
  ``out = ((acc * M + 2**(shift - 1)) >> shift) + zp_out`` in int64 (arithmetic shift, i.e. round
  half up; no rounding term when shift == 0), then clamped to [lo, hi].
"""

from __future__ import annotations

import math

import numpy as np

INT8_MIN = -128
INT8_MAX = 127
WEIGHT_QMAX = 127
INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1
MAX_SHIFT = 62
DEGENERATE_SCALE = float(np.float32(1.0 / 255.0))

__all__ = [
    "activation_qparams",
    "weight_qparams_per_axis",
    "quantize",
    "dequantize",
    "quantize_bias",
    "quantize_multiplier",
    "requantize",
    "Requantizer",
    "FLOAT_EXACT_MAX_SHIFT",
]


def activation_qparams(min_val: float, max_val: float) -> tuple[float, int]:
    """Per-tensor asymmetric int8 parameters for an observed activation range.

    The range is first widened to contain 0 (``min <= 0 <= max``) so that 0.0 is exactly
    representable. ``scale = (max - min) / 255`` rounded to float32 (returned as a Python float that is
    exactly a float32 value, so storing it as f32 is lossless), and
    ``zero_point = round_half_even(-128 - min / scale)`` clipped to [-128, 127].

    A degenerate range (``max - min`` so small that the scale is not a normal positive float32, e.g.
    an all-zero tensor) gets ``scale = float32(1/255)``; the scale is never 0.

    Returns ``(scale, zero_point)``. Raises ``ValueError`` if a bound is NaN or infinite or
    ``min_val > max_val``.
    """
    lo, hi = float(min_val), float(max_val)
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise ValueError(f"activation range must be finite, got [{lo}, {hi}]")
    if lo > hi:
        raise ValueError(f"activation range is empty: min {lo} > max {hi}")
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    scale = np.float32((hi - lo) / 255.0)
    if not (np.isfinite(scale) and scale >= np.finfo(np.float32).tiny):
        scale = np.float32(DEGENERATE_SCALE)
    zp = int(np.clip(np.round(-128.0 - lo / float(scale)), INT8_MIN, INT8_MAX))
    return float(scale), zp


def weight_qparams_per_axis(w: np.ndarray, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric per-channel int8 quantization of a weight tensor.

    ``w``: float array of any rank; ``axis``: the channel axis (0 = output channels of an ONNX Conv
    weight [OC, C/group, KH, KW]). Per channel ``scale = max|w| / 127`` (float32); an all-zero channel
    gets scale 1.0. The values are ``quantize(w, scale, 0)`` clipped to [-127, 127].

    Returns ``(q int8 array shaped like w, scales float32 [w.shape[axis]])``. Raises ``ValueError``
    if ``w`` has non-finite values or ``axis`` is out of range.
    """
    w = np.asarray(w, dtype=np.float32)
    if w.ndim == 0:
        raise ValueError("weight_qparams_per_axis needs an array of rank >= 1")
    if not -w.ndim <= axis < w.ndim:
        raise ValueError(f"axis {axis} out of range for weights of rank {w.ndim}")
    axis %= w.ndim
    if not np.all(np.isfinite(w)):
        raise ValueError("weights contain NaN or infinite values")
    other = tuple(i for i in range(w.ndim) if i != axis)
    absmax = np.max(np.abs(w), axis=other) if other else np.abs(w)
    scales = (absmax.astype(np.float64) / WEIGHT_QMAX).astype(np.float32)
    scales[absmax == 0] = 1.0
    scales[scales < np.finfo(np.float32).tiny] = np.finfo(np.float32).tiny
    shape = [1] * w.ndim
    shape[axis] = -1
    q = quantize(w, scales.reshape(shape), 0, qmin=-WEIGHT_QMAX, qmax=WEIGHT_QMAX)
    return q, scales


def _broadcast_param(p, axis: int | None, ndim: int, dtype) -> np.ndarray:
    p = np.asarray(p, dtype=dtype)
    if axis is not None and p.ndim == 1:
        if not -ndim <= axis < ndim:
            raise ValueError(f"axis {axis} out of range for rank {ndim}")
        shape = [1] * ndim
        shape[axis % ndim] = -1
        p = p.reshape(shape)
    return p


def quantize(x, scale, zp, qmin: int = INT8_MIN, qmax: int = INT8_MAX,
             axis: int | None = None) -> np.ndarray:
    """Float to int8: ``clip(round_half_even(x / scale) + zp, qmin, qmax)``.

    Bit-identical to ONNX QuantizeLinear: the division is float32 (``x`` and ``scale`` cast to
    float32), rounding is half to even (``np.round``), then the zero point is added and the result
    saturated. ``scale`` and ``zp`` are scalars or arrays broadcast with numpy rules; with ``axis``
    given, 1-D ``scale`` / ``zp`` apply along that axis of ``x`` (per-channel).

    Returns an int8 array shaped like the broadcast of the inputs. Raises ``ValueError`` for a
    non-positive scale.
    """
    x = np.asarray(x, dtype=np.float32)
    s = _broadcast_param(scale, axis, x.ndim, np.float32)
    z = _broadcast_param(zp, axis, x.ndim, np.float32)
    # a per-tensor scale is checked in Python: numpy reductions cost more than the frame itself
    bad = not 0.0 < float(s) < math.inf if s.ndim == 0 else np.any(s <= 0) or not np.all(np.isfinite(s))
    if bad:
        raise ValueError("quantize: scale must be positive and finite")
    return clamp(np.asarray(np.round(x / s) + z), qmin, qmax).astype(np.int8)


def dequantize(q, scale, zp, axis: int | None = None) -> np.ndarray:
    """Int to float32: ``(q - zp) * scale``, bit-identical to ONNX DequantizeLinear.

    ``q - zp`` is formed exactly in int32, converted to float32 and multiplied by the float32 scale
    (one rounding). ``scale`` / ``zp`` broadcast like in :func:`quantize` (``axis`` for per-channel).
    Returns a float32 array.
    """
    q = np.asarray(q)
    s = _broadcast_param(scale, axis, q.ndim, np.float32)
    z = _broadcast_param(zp, axis, q.ndim, np.int32)
    return (q.astype(np.int32) - z).astype(np.float32) * s


def quantize_bias(b, input_scale: float, weight_scales) -> np.ndarray:
    """Bias to int32: ``round_half_even(b / (input_scale * weight_scales[c]))`` in float64.

    ``b``: float [OC]; ``weight_scales``: scalar or float [OC]. Returns int32 [OC]. Raises
    ``ValueError`` if a value does not fit in int32.
    """
    s = np.float64(np.float32(input_scale)) * np.asarray(weight_scales, np.float32).astype(np.float64)
    q = np.round(np.asarray(b, np.float64) / s)
    if np.any(q < INT32_MIN) or np.any(q > INT32_MAX):
        raise ValueError(f"bias does not fit in int32 (max |q| = {np.max(np.abs(q)):.4g})")
    return q.astype(np.int32)


def quantize_multiplier(real):
    """Decompose a real multiplier into fixed point: ``real ~= M * 2**-shift``.

    ``M`` is in [2**30, 2**31) (fits int32) and 0 <= shift <= 62; ``M`` is ``real * 2**shift``
    rounded half up (relative error <= 2**-31). Special cases:

    * ``real == 0`` -> ``(0, 0)``.
    * ``real`` so small that ``shift`` would exceed 62 (about ``real < 2**-32``) -> ``(0, 0)``: this is
      exact for every int32 accumulator, since ``|acc * real| < 0.5`` rounds to 0.

    ``real`` may be a scalar (returns ``(int, int)``) or an array (returns ``(int32 array,
    int32 array)`` of the same shape). Raises ``ValueError`` naming the value for a negative, NaN or
    infinite multiplier, or one too large to be represented with ``shift >= 0`` (>= about 2**31).
    """
    arr = np.asarray(real, dtype=np.float64)
    bad = ~np.isfinite(arr) | (arr < 0)
    if np.any(bad):
        raise ValueError(f"requantization multiplier must be finite and >= 0, got {arr[bad].flat[0]!r}")
    mant, exp = np.frexp(arr)  # arr = mant * 2**exp, mant in [0.5, 1)
    m = np.floor(mant * 2.0**31 + 0.5).astype(np.int64)
    shift = 31 - exp.astype(np.int64)
    carry = m == 2**31
    m = np.where(carry, 2**30, m)
    shift = np.where(carry, shift - 1, shift)
    too_big = (shift < 0) & (arr > 0)
    if np.any(too_big):
        raise ValueError(
            f"requantization multiplier {arr[too_big].flat[0]!r} is too large for a non-negative shift")
    flush = (arr == 0) | (shift > MAX_SHIFT)
    m = np.where(flush, 0, m)
    shift = np.where(flush, 0, shift)
    if arr.ndim == 0:
        return int(m), int(shift)
    return m.astype(np.int32), shift.astype(np.int32)


def requantize(acc, multiplier, shift, zp_out: int, lo: int = INT8_MIN, hi: int = INT8_MAX, *,
               out: np.ndarray | None = None, work: np.ndarray | None = None) -> np.ndarray:
    """Fixed-point requantization of integer accumulators to int8.

    ``out = clamp(((acc * M + 2**(shift - 1)) >> shift) + zp_out, lo, hi)`` computed in int64 with an
    arithmetic right shift (round half up, also for negative accumulators); when ``shift == 0`` there
    is no rounding term. ``acc``: integer array, any shape (channels last), ``|acc| < 2**31``.
    ``multiplier`` / ``shift``: scalars or arrays broadcast with numpy rules against ``acc`` -- a 1-D
    per-channel array applies along the LAST axis (channels-last layout).

    Returns int8 shaped like the broadcast, written into ``out`` (an int8 array of that shape, any
    strides) when given. ``work``, an int64 array of ``acc``'s shape, is used as the intermediate
    instead of a new one (a runtime that requantizes the same tensor every frame allocates nothing).
    Raises ``ValueError`` for a non-integer ``acc``, an
    accumulator outside int32, a shift outside [0, 62], a multiplier outside [0, 2**31) or a clamp
    range outside [-128, 127].
    """
    acc = np.asarray(acc)
    if acc.dtype.kind not in "iu":
        raise ValueError(f"requantize: accumulator must be an integer array, got {acc.dtype}")
    if acc.dtype.itemsize > 4 and acc.size and (acc.min() < INT32_MIN or acc.max() > INT32_MAX):
        raise ValueError("requantize: accumulator outside the int32 range")
    m, s, rnd = _requant_params(multiplier, shift, lo, hi)
    return _requantize(acc, m, s, rnd, int(zp_out), lo, hi, out, work)


def _requant_params(multiplier, shift, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validated int64 multiplier, shift and rounding term ``2**(shift - 1)`` (0 where shift == 0)."""
    if not INT8_MIN <= lo <= hi <= INT8_MAX:
        raise ValueError(f"requantize: clamp range [{lo}, {hi}] is not inside [-128, 127]")
    m = np.asarray(multiplier, dtype=np.int64)
    s = np.asarray(shift, dtype=np.int64)
    if np.any(s < 0) or np.any(s > MAX_SHIFT):
        raise ValueError(f"requantize: shift must be in [0, {MAX_SHIFT}]")
    if np.any(m < 0) or np.any(m >= 2**31):
        raise ValueError("requantize: multiplier must be in [0, 2**31)")
    rnd = np.where(s > 0, np.left_shift(np.int64(1), np.maximum(s - 1, 0)), np.int64(0))
    return m, s, rnd


def _requantize(acc: np.ndarray, m: np.ndarray, s: np.ndarray, rnd: np.ndarray, zp_out: int, lo: int, hi: int,
                out: np.ndarray | None, work: np.ndarray | None) -> np.ndarray:
    """The arithmetic of :func:`requantize` on validated parameters (five passes over int64)."""
    if work is not None and work.dtype == np.int64 and work.shape == acc.shape and m.ndim <= 1 and s.ndim <= 1:
        v = work  # the runtime's case: per-channel (or scalar) parameters on the last axis
    else:
        v = np.empty(np.broadcast_shapes(acc.shape, m.shape, s.shape), np.int64)
    np.multiply(acc, m, out=v, dtype=np.int64, casting="unsafe")
    v += rnd
    np.right_shift(v, s, out=v)
    # clamp before adding the zero point (the sum is then in int8 range)
    clamp(v, lo - zp_out, hi - zp_out)
    if out is None:
        out = np.empty(v.shape, np.int8)
    np.add(v, zp_out, out=out, casting="unsafe")
    return out


def clamp(v: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Clamp ``v`` to [lo, hi] in place and return it: ``np.clip`` (one pass) on large arrays,
    ``np.maximum`` / ``np.minimum`` on small ones, where np.clip's Python-level argument handling
    costs more than the second pass."""
    if v.size > 16384:
        return np.clip(v, lo, hi, out=v)
    np.maximum(v, lo, out=v)
    return np.minimum(v, hi, out=v)


#: largest shift for which :class:`Requantizer` may use float64 arithmetic (see its docstring)
FLOAT_EXACT_MAX_SHIFT = 42


class Requantizer:
    """:func:`requantize` of accumulators of one shape, frame after frame, without allocating.

    ``Requantizer(shape, zp_out, lo, hi)``; calling it with ``acc`` of ``shape`` holding integers
    below 2**31 in magnitude (an integer array, or float64 with integral values) and
    per-channel (last axis) or scalar ``multiplier`` / ``shift`` arrays writes the int8
    result into ``out`` (any strides). The parameters are validated (and their derived forms cached)
    only when their bytes change. Raises ``ValueError`` like :func:`requantize`.

    The result is always bit-identical to :func:`requantize`. When every shift is at most
    :data:`FLOAT_EXACT_MAX_SHIFT` (42) it is computed in float64, which numpy vectorises where int64
    multiplies and variable shifts are not: ``floor(acc * r + (0.5 + zp))`` clamped, with
    ``r = M * 2**-shift`` (exact). Why this is exact: let ``y = acc * M / 2**shift``. Outputs with
    ``|y| >= 512`` saturate either way. Otherwise ``fl(acc * r)`` is within ``2**-53 * 512 = 2**-44``
    of ``y`` and adding ``0.5 + zp`` (a sum below 1024 in magnitude) rounds by at most ``2**-44``
    more, so the float value is within ``2**-43`` of ``y + 0.5 + zp``. That exact value is a multiple
    of ``2**-shift >= 2**-42``: if it is not an integer, it is at least ``2**-42`` from the nearest
    one and the floor is unchanged; if it is an integer ``n``, then ``acc * M`` is an odd number
    below ``2**11`` times a power of two, both float operations are exact and the floor is ``n``.
    Larger shifts use the int64 arithmetic of :func:`requantize`.
    """

    def __init__(self, shape: tuple[int, ...], zp_out: int, lo: int = INT8_MIN, hi: int = INT8_MAX):
        _requant_params(0, 0, lo, hi)
        self.zp_out, self.lo, self.hi = int(zp_out), int(lo), int(hi)
        self.shape = tuple(shape)
        self._work: np.ndarray | None = None
        self._key: tuple[bytes, bytes] | None = None
        self._params: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._ratio: np.ndarray | None = None  # float64 M * 2**-shift, or None: int64 arithmetic

    def __call__(self, acc: np.ndarray, multiplier: np.ndarray, shift: np.ndarray, out: np.ndarray) -> np.ndarray:
        key = (multiplier.tobytes(), shift.tobytes())
        if key != self._key:
            m, s, rnd = self._params = _requant_params(multiplier, shift, self.lo, self.hi)
            float_ok = s.size == 0 or int(s.max()) <= FLOAT_EXACT_MAX_SHIFT
            self._ratio = np.ldexp(m.astype(np.float64), -s) if float_ok else None
            want = np.float64 if float_ok else np.int64
            if self._work is None or self._work.dtype != want:
                self._work = np.empty(self.shape, want)
            self._key = key
        if self._ratio is None:
            m, s, rnd = self._params
            return _requantize(acc, m, s, rnd, self.zp_out, self.lo, self.hi, out, self._work)
        v = self._work
        np.multiply(acc, self._ratio, out=v)
        v += 0.5 + self.zp_out
        np.floor(v, out=v)
        clamp(v, self.lo, self.hi)
        np.copyto(out, v, casting="unsafe")
        return out


def _round_shift(v: np.ndarray, shift) -> np.ndarray:
    """``(v + 2**(shift - 1)) >> shift`` on int64 ``v`` (no rounding term where shift == 0).

    ``shift`` is an int or an int64 array broadcast against ``v``; may work in place on ``v``.
    """
    s = np.asarray(shift, dtype=np.int64)
    if s.ndim == 0:
        sh = int(s)
        if sh > 0:
            v += np.int64(1) << np.int64(sh - 1)
            v >>= np.int64(sh)
        return v
    rnd = np.where(s > 0, np.left_shift(np.int64(1), np.maximum(s - 1, 0)), np.int64(0))
    if v.ndim and v.shape == np.broadcast_shapes(v.shape, s.shape):
        v += rnd
        v >>= s
        return v
    return np.asarray((v + rnd) >> s)
