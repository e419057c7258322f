"""Exact integer 2-D convolution (dense, grouped, depthwise) of one HWC frame, with reusable plans.

Pure numpy (no xdsl); shared by the quant / tile interpreters and the AIPU runtime.

Exactness (docs/architecture.md, "Numerics"): numpy has no integer BLAS, so the products are
computed with float32 BLAS on the raw int8 values. Every product has magnitude
``<= 128 * 127 = 16256 < 2**14``; a sum of at most ``K_CHUNK = 1024`` of them stays below ``2**24``,
so every partial sum BLAS forms (in any order, with or without FMA, on any number of threads) is an
integer that float32 represents exactly. Chunk results are converted to int32 and summed in int32.
The zero point is folded out afterwards: ``sum((x - zp) * w) = sum(x * w) - zp * sum(w)``; padding
holds ``zp`` so it contributes 0. Depthwise convolution never builds a dense matrix: it is an int32
``einsum`` over the KH*KW taps of a strided window view.

:class:`Conv2dPlan` holds one convolution's geometry and every scratch buffer (padded input, im2col
matrix, products, accumulators), so a runtime that runs the same convolution frame after frame
allocates nothing per frame; :func:`conv2d` builds a plan and runs it once.
"""

from __future__ import annotations

import numpy as np

from .quantization import INT32_MAX, INT32_MIN
from .window_geometry import Geom, check_int8, check_zp

__all__ = ["K_CHUNK", "MAX_K", "ConvWeights", "prepare_conv2d_weights", "Conv2dPlan", "conv2d"]

K_CHUNK = 1024
MAX_K = 65536  # int32 headroom: K * 255 * 127 + |bias| < 2**31


class ConvWeights:
    """int8 convolution weights pre-arranged for :func:`conv2d` (build with
    :func:`prepare_conv2d_weights`; cache it next to the constant to skip the re-layout per frame).

    Attributes: ``oc``, ``cg`` (input channels per group), ``kh``, ``kw``, ``group``, ``depthwise``;
    for dense / grouped conv ``wf`` float32 [group, KH*KW*cg, oc/group] (K ordered kh, kw, c;
    contiguous, so every K-chunk of a group is one contiguous matrix) and
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
    w = check_int8(w, "conv weights", 4)
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
        wt = np.ascontiguousarray(w.transpose(0, 2, 3, 1), dtype=np.float32)
        cw.wf = np.ascontiguousarray(wt.reshape(group, oc // group, k).transpose(0, 2, 1))
        cw.wsum = w.reshape(oc, -1).sum(axis=1, dtype=np.int64)
    return cw



class Conv2dPlan:
    """One convolution of an int8 HWC frame, planned once and run frame after frame.

    ``Conv2dPlan(h, w, c, weight_shape, group, x_zp, strides, pads, dilations)``: input int8
    [H, W, C]; ``weight_shape`` (OC, C/group, KH, KW) (ONNX layout); ``x_zp`` the input zero point;
    ``strides`` (sh, sw), ``pads`` (top, left, bottom, right), ``dilations`` (dh, dw): ints or pairs.
    :meth:`run` returns int32 [Ho, Wo, OC] in a buffer the plan owns (overwritten by the next run).
    ``macs`` is the multiply-accumulate count of one run.

    Raises ``ValueError`` for ``C != (C/group) * group``, ``OC`` not divisible by ``group``, a zero
    point outside int8, a reduction size over 65536, or a window that does not fit.
    """

    def __init__(self, h: int, w: int, c: int, weight_shape, group: int, x_zp: int, strides=(1, 1),
                 pads=(0, 0, 0, 0), dilations=(1, 1)):
        oc, cg, kh, kw = (int(v) for v in weight_shape)
        group, self.x_zp = int(group), check_zp(x_zp)
        if group < 1 or oc % group:
            raise ValueError(f"output channels {oc} not divisible by group {group}")
        if c != cg * group:
            raise ValueError(f"input has {c} channels, weights expect {cg} x group {group}")
        self.in_shape, self.weight_shape, self.group = (h, w, c), (oc, cg, kh, kw), group
        g = self.geom = Geom(h, w, (kh, kw), strides, pads, dilations, False)
        self.depthwise = cg == 1 and group > 1
        hp, wp = h + g.pt + g.pb, w + g.pl + g.pr
        self.macs = g.ho * g.wo * oc * cg * kh * kw
        self._corr_cw: ConvWeights | None = None  # the weights and bias the cached correction is for
        self._corr_key: bytes | None = None
        if self.depthwise:
            mult = oc // group  # output channel o reads input channel o // mult
            self._xp = np.zeros((hp, wp, oc), np.int32)  # x - zp, padding 0
            self._interior = self._xp[g.pt:g.pt + h, g.pl:g.pl + w].reshape(h, w, c, mult)
            self._windows = g.windows(self._xp)  # [Ho, Wo, KH, KW, OC], a fixed view
            self._out = np.empty((g.ho, g.wo, oc), np.int32)
            return
        n, kg, ocg = g.ho * g.wo, kh * kw * cg, oc // group
        if kg > MAX_K:
            raise ValueError(f"conv reduction size {kg} exceeds {MAX_K} (int32 accumulator headroom)")
        self._xp = np.full((hp, wp, c), x_zp, np.int8)  # padding holds the zero point
        self._interior = self._xp[g.pt:g.pt + h, g.pl:g.pl + w]
        # the im2col source is a fixed strided view of the padded buffer: [group, Ho, Wo, KH, KW, cg]
        self._cols_src = g.windows(self._xp).reshape(g.ho, g.wo, kh, kw, group, cg).transpose(4, 0, 1, 2, 3, 5)
        self._cols = np.empty((group, n, kg), np.float32)
        self._cols_dst = self._cols.reshape(group, g.ho, g.wo, kh, kw, cg)
        self._chunks = [(k0, min(k0 + K_CHUNK, kg)) for k0 in range(0, kg, K_CHUNK)]
        # products land directly in [Ho*Wo, group, OC/group] = [Ho, Wo, OC] order: one product per
        # group writes a column block (BLAS takes the row stride), so no transpose pass is needed
        self._part = np.empty((n, group, ocg), np.float32)
        self._out = np.empty((g.ho, g.wo, oc), np.int32)
        self._out_groups = self._out.reshape(n, group, ocg)
        self._tmp = np.empty((n, group, ocg), np.int32) if len(self._chunks) > 1 else None

    @property
    def out_shape(self) -> tuple[int, int, int]:
        return self.geom.ho, self.geom.wo, self.weight_shape[0]

    def _correction(self, cw: ConvWeights, bias: np.ndarray | None) -> np.ndarray:
        """int32 ``bias - x_zp * sum(w)`` per output channel, [OC] (depthwise) or [group, OC/group]
        (cached while weights and bias repeat). Raises ``ValueError`` outside int32."""
        key = None if bias is None else bias.tobytes()
        if cw is not self._corr_cw or key != self._corr_key:
            oc = self.weight_shape[0]
            bias64 = np.zeros(oc, np.int64) if bias is None else bias.astype(np.int64)
            corr = bias64 if cw.depthwise else bias64 - np.int64(self.x_zp) * cw.wsum
            if corr.min(initial=0) < INT32_MIN or corr.max(initial=0) > INT32_MAX:
                raise ValueError("conv bias" + ("" if cw.depthwise else " minus zero-point correction")
                                 + " does not fit in int32")
            self._corr = corr.astype(np.int32)
            if not cw.depthwise:
                self._corr = self._corr.reshape(self.group, oc // self.group)
            self._corr_cw, self._corr_key = cw, key
        return self._corr

    def run(self, x: np.ndarray, cw: ConvWeights, bias: np.ndarray | None) -> np.ndarray:
        """``sum((x - x_zp) * w) + bias`` as int32 [Ho, Wo, OC] (a plan buffer, overwritten by the
        next call).

        ``x``: int8 [H, W, C] (any strides); ``cw``: :class:`ConvWeights` of the planned shape and
        group; ``bias``: int32 [OC] or None. Raises ``ValueError`` for operands that do not match the
        plan or a bias correction outside int32.
        """
        x = check_int8(x, "conv input", 3)
        if x.shape != self.in_shape:
            raise ValueError(f"conv input has shape {x.shape}, the plan expects {self.in_shape}")
        if cw.shape != self.weight_shape or cw.group != self.group:
            raise ValueError(f"weights are {cw.shape} group {cw.group}, the plan expects "
                             f"{self.weight_shape} group {self.group}")
        if bias is not None:
            bias = np.asarray(bias)
            if bias.shape != (self.weight_shape[0],):
                raise ValueError(f"bias must have shape ({self.weight_shape[0]},), got {bias.shape}")
        return self.run_unchecked(x, cw, bias)

    def run_unchecked(self, x: np.ndarray, cw: ConvWeights, bias: np.ndarray | None) -> np.ndarray:
        """:meth:`run` without the operand checks, for a caller that has checked once that ``x`` (an
        int8 [H, W, C] view), ``cw`` and ``bias`` (int32 [OC] or None) match the plan (a runtime
        whose operands are fixed views of its memories)."""
        corr = self._correction(cw, bias)
        if self.depthwise:
            np.subtract(x[..., None], np.int32(self.x_zp), out=self._interior, dtype=np.int32)
            # one int32 pass over the windows (|sum| < KH*KW * 255 * 128 < 2**31 for K <= 65536)
            np.einsum("hwijc,ijc->hwc", self._windows, cw.w_taps, out=self._out)
            self._out += corr
            return self._out
        self._interior[...] = x
        np.copyto(self._cols_dst, self._cols_src)
        acc = self._out_groups
        for i, (k0, k1) in enumerate(self._chunks):
            for g in range(self.group):
                np.matmul(self._cols[g, :, k0:k1], cw.wf[g, k0:k1, :], out=self._part[:, g, :])
            if i == 0:
                np.copyto(acc, self._part, casting="unsafe")
            else:
                np.copyto(self._tmp, self._part, casting="unsafe")
                acc += self._tmp
        acc += corr
        return self._out


def conv2d(x: np.ndarray, w, bias: np.ndarray | None, x_zp: int, strides=(1, 1), pads=(0, 0, 0, 0),
           dilations=(1, 1), group: int = 1) -> np.ndarray:
    """Exact integer 2-D convolution of one HWC frame (a one-off :class:`Conv2dPlan`).

    ``x``: int8 [H, W, C]; ``w``: int8 [OC, C/group, KH, KW] (ONNX layout) or a :class:`ConvWeights`;
    ``bias``: int32 [OC] or None; ``x_zp``: input zero point; ``strides`` (sh, sw), ``pads`` (top, left,
    bottom, right), ``dilations`` (dh, dw): ints or pairs.

    Returns a new int32 [Ho, Wo, OC] = ``sum((x - x_zp) * w) + bias`` with padding value ``x_zp``
    (padding contributes 0). Dense and grouped convolutions use float32 BLAS in K-chunks of <= 1024
    (exact, see the module docstring); depthwise (group == C) uses an int32 einsum over the taps.

    Raises ``ValueError`` for wrong dtypes / ranks, ``C != (C/group) * group``, a bias of the wrong
    shape, a zero point outside int8, or a window that does not fit.
    """
    x = check_int8(x, "conv input", 3)
    cw = w if isinstance(w, ConvWeights) else prepare_conv2d_weights(w, group)
    if cw.group != int(group):
        raise ValueError(f"prepared weights are for group {cw.group}, conv2d called with group {group}")
    plan = Conv2dPlan(*x.shape, cw.shape, cw.group, x_zp, strides, pads, dilations)
    return plan.run(x, cw, bias).copy()
