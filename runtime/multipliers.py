"""Fixed-point multipliers: elementwise add and average pooling (one shared shift), elementwise mul.

Both follow the requantization rule of :mod:`axc.runtime.quantization` (round half up by adding
``2^(shift-1)`` before an arithmetic right shift, in int64). Multipliers are normalised so the largest
one lies in [2^30, 2^31); the others keep the same shift (less precision for smaller ratios, at least
``30 - log2(ratio_max / ratio)`` bits).
"""

from __future__ import annotations

import math

import numpy as np


def _shared_shift(largest: float) -> int:
    """Shift that puts ``largest * 2^shift`` in [2^30, 2^31); raises ValueError if it is negative or > 62."""
    if not largest > 0:
        raise ValueError(f"multiplier ratio must be > 0, got {largest}")
    shift = 30 - math.floor(math.log2(largest))
    if largest * 2.0**shift >= 2**31:
        shift -= 1
    if not 0 <= shift <= 62:
        raise ValueError(f"multiplier ratio {largest} needs shift {shift}, outside [0, 62]")
    return shift


def add_multipliers(scale_a: float, scale_b: float, scale_out: float) -> tuple[int, int, int]:
    """(M_a, M_b, shift) with M_x = round(scale_x / scale_out * 2^shift) for ``quant.add``.

    out = ((a - zp_a) * M_a + (b - zp_b) * M_b + 2^(shift-1)) >> shift + zp_out.
    """
    ra, rb = scale_a / scale_out, scale_b / scale_out
    shift = _shared_shift(max(ra, rb))
    return int(round(ra * 2.0**shift)), int(round(rb * 2.0**shift)), shift


def mul_multiplier(scale_a: float, scale_b: float, scale_out: float) -> tuple[int, int]:
    """(M, shift) with M = round(scale_a * scale_b / scale_out * 2^shift) in [2^30, 2^31) for ``quant.mul``.

    out = ((a - zp_a) * (b - zp_b) * M + 2^(shift-1)) >> shift + zp_out (int64). Raises ValueError when
    the ratio needs a shift outside [0, 62].
    """
    r = scale_a * scale_b / scale_out
    shift = _shared_shift(r)
    return min(int(round(r * 2.0**shift)), 2**31 - 1), shift


def count_multipliers(ratio: float, max_count: int) -> tuple[np.ndarray, int]:
    """(M int64[max_count + 1], shift) with M[c] = round(ratio / c * 2^shift), M[0] = 0.

    Used by average pooling: out = requantize(sum(x - zp_in), M[count], shift) + zp_out, where count
    is the number of elements averaged by the window and ratio = s_in / s_out.
    """
    shift = _shared_shift(ratio)
    counts = np.arange(max_count + 1, dtype=np.float64)
    m = np.zeros(max_count + 1, dtype=np.int64)
    m[1:] = np.round(ratio / counts[1:] * 2.0**shift).astype(np.int64)
    return m, shift
