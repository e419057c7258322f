"""``onnx-calibrate``: run the float interpreter over calibration frames, record value ranges.

Calibration is an analysis that writes its result into the IR, so that quantization
(``convert-onnx-to-quant``) is a pure rewrite that lit tests can drive from text. The result is the
attribute ``calibration = array<f32: lo, hi>``:

* on every onnx op with one f32 result other than ``onnx.Constant`` (in ``op.attributes``);
* on every f32 argument of ``@main``, in its ``arg_attrs`` dictionary (next to ``onnx_name``).

``lo``/``hi`` are the observed (min_max) or chosen (histogram) range of the value, *not* widened to
contain 0: the quantizer does that. lo <= hi always; lo == hi for a constant value.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from xdsl.context import Context
from xdsl.dialects import builtin
from xdsl.dialects.builtin import ArrayAttr, DenseArrayBase, DictionaryAttr, TensorType, f32
from xdsl.ir import Operation
from xdsl.passes import ModulePass
from xdsl.utils.exceptions import PassFailedException

from axc.dialects import onnx
from axc.runtime.errors import InputDataError
from axc.runtime.interp_onnx import OnnxRunner

CALIBRATION_ATTR = "calibration"
SCHEMES = ("per_tensor_min_max", "per_tensor_histogram")
HISTOGRAM_BINS = 2048
_MISSING = object()


# --------------------------------------------------------------------------------------------
# observers


class MinMaxObserver:
    """Running min / max over every frame."""

    def __init__(self) -> None:
        self.lo = np.inf
        self.hi = -np.inf

    def update(self, x: np.ndarray) -> None:
        if x.size:
            self.lo = min(self.lo, float(np.min(x)))
            self.hi = max(self.hi, float(np.max(x)))

    def range(self) -> tuple[float, float]:
        if self.lo > self.hi:
            return 0.0, 0.0
        return self.lo, self.hi


class HistogramObserver:
    """A 2048-bin histogram over every frame, whose range grows to the observed min / max.

    When a frame falls outside the current range, the histogram is re-binned onto the new range by
    interpolating its cumulative counts (mass is conserved; within a bin it is assumed uniform), as
    PyTorch's HistogramObserver does. :meth:`range` picks the clipping range of least expected int8
    quantization error (:func:`best_histogram_range`).
    """

    def __init__(self, bins: int = HISTOGRAM_BINS) -> None:
        self.bins = bins
        self.hist: np.ndarray | None = None
        self.lo = 0.0
        self.hi = 0.0

    def update(self, x: np.ndarray) -> None:
        if not x.size:
            return
        lo, hi = float(np.min(x)), float(np.max(x))
        if not (np.isfinite(lo) and np.isfinite(hi)):
            x = x[np.isfinite(x)]
            if not x.size:
                return
            lo, hi = float(np.min(x)), float(np.max(x))
        if self.hist is None:
            self.lo, self.hi = lo, hi
            self.hist = np.zeros(self.bins, dtype=np.float64)
        elif lo < self.lo or hi > self.hi:
            new_lo, new_hi = min(lo, self.lo), max(hi, self.hi)
            self.hist = self._rebin(self.hist, self.lo, self.hi, new_lo, new_hi)
            self.lo, self.hi = new_lo, new_hi
        if self._resolvable(self.lo, self.hi):
            # float64 edges: with float32 data and Python-float bounds numpy builds the edges in
            # float32 and refuses ("Too many bins for data range") a range narrower than about
            # 2048 float32 steps, e.g. a near-constant activation. Two distinct float32 values
            # are always far enough apart for 2048 float64 bins.
            h, _ = np.histogram(x, bins=self.bins, range=(np.float64(self.lo), np.float64(self.hi)))
            self.hist += h
        else:
            self.hist[0] += x.size

    def _resolvable(self, lo: float, hi: float) -> bool:
        """True when ``[lo, hi]`` has ``bins`` distinct float64 bin edges (else: a point mass at lo)."""
        return hi > lo and bool(np.all(np.diff(np.linspace(lo, hi, self.bins + 1)) > 0))

    def _rebin(self, hist: np.ndarray, lo: float, hi: float, new_lo: float, new_hi: float) -> np.ndarray:
        new_edges = np.linspace(new_lo, new_hi, self.bins + 1)
        if not self._resolvable(lo, hi):  # all mass at one point
            out = np.zeros(self.bins)
            i = min(int((lo - new_lo) / (new_hi - new_lo) * self.bins), self.bins - 1)
            out[i] = hist.sum()
            return out
        cdf = np.concatenate([[0.0], np.cumsum(hist)])
        new_cdf = np.interp(new_edges, np.linspace(lo, hi, self.bins + 1), cdf, left=0.0, right=cdf[-1])
        return np.diff(new_cdf)

    def range(self) -> tuple[float, float]:
        if self.hist is None:
            return 0.0, 0.0
        if not self._resolvable(self.lo, self.hi):
            return self.lo, self.hi
        return best_histogram_range(self.hist, self.lo, self.hi)


def best_histogram_range(hist: np.ndarray, lo: float, hi: float, step: int = 8) -> tuple[float, float]:
    """The clipping range [edge_a, edge_b] of the histogram that minimises the expected squared
    error of int8 asymmetric quantization (256 levels over the range widened to contain 0).

    Simplified from PyTorch's HistogramObserver (which shrinks the range greedily): every pair of
    edges a < b on a grid of ``step`` bins is tried (so each tail is clipped by its own amount). The error of a candidate, with c the bin centres and n the
    counts, is sum(n inside) * delta^2 / 12 (rounding noise, delta = range / 255) plus
    sum(n (c - edge)^2) over the bins clipped on either side, computed in O(1) per candidate from
    prefix sums. Ties keep the widest range.
    """
    bins = hist.size
    edges = np.linspace(lo, hi, bins + 1)
    centers = (edges[:-1] + edges[1:]) / 2
    n = hist.astype(np.float64)
    s0 = np.concatenate([[0.0], np.cumsum(n)])
    s1 = np.concatenate([[0.0], np.cumsum(n * centers)])
    s2 = np.concatenate([[0.0], np.cumsum(n * centers * centers)])
    a_idx = np.arange(0, bins, step)
    b_idx = np.arange(bins, 0, -step)
    A, B = np.meshgrid(a_idx, b_idx, indexing="ij")
    keep = B > A
    A, B = A[keep], B[keep]
    left = np.minimum(edges[A], 0.0)
    right = np.maximum(edges[B], 0.0)
    delta = (right - left) / 255.0
    il = np.searchsorted(centers, left, side="left")  # bins [0, il) are clipped to `left`
    ir = np.searchsorted(centers, right, side="right")  # bins [ir, bins) are clipped to `right`
    err_left = s2[il] - 2 * left * s1[il] + left * left * s0[il]
    err_right = (s2[-1] - s2[ir]) - 2 * right * (s1[-1] - s1[ir]) + right * right * (s0[-1] - s0[ir])
    inside = s0[ir] - s0[il]
    err = inside * delta * delta / 12.0 + np.maximum(err_left, 0.0) + np.maximum(err_right, 0.0)
    err = np.where(delta > 0, err, np.inf)
    k = int(np.argmin(err))  # a ascending, then b descending: the widest range wins ties
    a, b = int(A[k]), int(B[k])
    return float(edges[a]), float(edges[b])


# --------------------------------------------------------------------------------------------
# frames


def load_calibration_frames(path: str | Path, runner: OnnxRunner) -> list[tuple[np.ndarray, ...]]:
    """The frames of an .npz keyed by ONNX input names (frames stacked on axis 0).

    Raises :class:`InputDataError` naming the file and the key / shape / dtype problem.
    """
    p = Path(path)
    if not p.is_file():
        raise InputDataError(f"{p}: calibration data file not found")
    try:
        with np.load(p, allow_pickle=False) as npz:
            data = {k: npz[k] for k in npz.files}
    except Exception as e:
        raise InputDataError(f"{p}: not a readable .npz file ({' '.join(str(e).split())})") from None
    for name in runner.input_names:
        if name not in data:
            raise InputDataError(
                f"{p}: no array '{name}' (keys: {', '.join(repr(k) for k in data) or 'none'}; "
                f"model inputs: {', '.join(repr(n) for n in runner.input_names)})"
            )
        arr = data[name]
        if arr.dtype.kind not in "fiu":
            raise InputDataError(f"{p}: array '{name}' has dtype {arr.dtype}, expected float32")
        if arr.dtype.kind == "f" and not np.isfinite(arr).all():
            raise InputDataError(f"{p}: array '{name}' contains NaN or infinite values")
    try:
        return runner.frames_of({n: data[n] for n in runner.input_names})
    except InputDataError as e:
        raise InputDataError(f"{p}: {e}") from None


def random_frames(runner: OnnxRunner, frames: int, seed: int) -> Iterator[tuple[np.ndarray, ...]]:
    """``frames`` frames of uniform [0, 1) float32 inputs from ``np.random.default_rng(seed)``."""
    rng = np.random.default_rng(seed)
    for name, t in zip(runner.input_names, runner.input_types):
        if t.get_element_type() != f32:
            raise InputDataError(
                f"input '{name}' is {t.get_element_type()}, random calibration frames are f32 only: "
                "pass calibration data"
            )
    for _ in range(frames):
        yield tuple(rng.random(tuple(t.get_shape()), dtype=np.float32) for t in runner.input_types)


# --------------------------------------------------------------------------------------------
# the pass


def _f32_result(r) -> bool:
    return isinstance(r.type, TensorType) and r.type.get_element_type() == f32


def _calibrated(op: Operation) -> bool:
    """Non-constant onnx ops with at least one f32 result (ops with several results, such as
    Split, get one (lo, hi) pair per result, in result order; non-f32 results get (0, 0))."""
    return isinstance(op, onnx.OnnxOp) and not isinstance(op, onnx.ConstantOp) and any(
        _f32_result(r) for r in op.results)


def _range_attr(lo: float, hi: float) -> DenseArrayBase:
    """array<f32: lo, hi>, rounded outwards to f32 so that [lo, hi] contains the real range."""
    lo32, hi32 = np.float32(lo), np.float32(hi)
    if float(lo32) > lo:
        lo32 = np.nextafter(lo32, np.float32(-np.inf))
    if float(hi32) < hi:
        hi32 = np.nextafter(hi32, np.float32(np.inf))
    return DenseArrayBase.from_list(f32, [float(lo32), float(hi32)])


def calibrate_module(
    module: builtin.ModuleOp,
    frames: Sequence[tuple[np.ndarray, ...]] | Iterator[tuple[np.ndarray, ...]],
    scheme: str = "per_tensor_min_max",
) -> int:
    """Run ``frames`` through ``module`` and write the ``calibration`` attributes; returns the
    number of frames run."""
    if scheme not in SCHEMES:
        raise PassFailedException(f"onnx-calibrate: scheme must be one of {', '.join(SCHEMES)}, got '{scheme}'")
    make = MinMaxObserver if scheme == "per_tensor_min_max" else HistogramObserver
    observers: dict[Operation, list[MinMaxObserver | HistogramObserver | None] | None] = {}

    def observe(op: Operation, results: tuple) -> None:
        obs = observers.get(op, _MISSING)
        if obs is _MISSING:
            obs = observers[op] = [make() if _f32_result(r) else None for r in op.results] if _calibrated(op) else None
        if obs is not None:
            for o, x in zip(obs, results):  # type: ignore[union-attr]
                if o is not None:
                    o.update(x)

    runner = OnnxRunner(module, observe)
    arg_obs = [make() if t.get_element_type() == f32 else None for t in runner.input_types]
    count = 0
    for frame in frames:
        for obs, x in zip(arg_obs, frame):
            if obs is not None:
                obs.update(x)
        runner.run_frame(frame)
        count += 1
    if count == 0:
        raise InputDataError("onnx-calibrate: no calibration frames")

    for op, obs in observers.items():
        if obs is None:
            continue
        if len(obs) == 1:
            op.attributes[CALIBRATION_ATTR] = _range_attr(*obs[0].range())  # type: ignore[union-attr]
        else:
            pairs = [_range_attr(*o.range()).get_values() if o is not None else (0.0, 0.0) for o in obs]
            op.attributes[CALIBRATION_ATTR] = DenseArrayBase.from_list(f32, [float(x) for p in pairs for x in p])
    fn = runner.fn
    old = fn.arg_attrs.data if fn.arg_attrs is not None else [DictionaryAttr({}) for _ in fn.args]
    new = []
    for d, obs in zip(old, arg_obs):
        entries = dict(d.data)
        if obs is not None:
            entries[CALIBRATION_ATTR] = _range_attr(*obs.range())
        new.append(DictionaryAttr(entries))
    fn.arg_attrs = ArrayAttr(new)
    return count


@dataclass(frozen=True)
class OnnxCalibratePass(ModulePass):
    """Annotate value ranges observed by the float interpreter over calibration frames.

    Guarantees afterwards: every onnx op with one f32 result except ``onnx.Constant`` has
    ``calibration = array<f32: lo, hi>``, and so has every f32 argument of ``@main`` in its
    ``arg_attrs``. The IR is otherwise unchanged.

    Options:

    * ``calibration-data``: an .npz keyed by the ONNX input names, frames stacked on axis 0 (a
      multiple of the input's batch size); every frame in it is used. Problems with it raise
      ``InputDataError`` naming the file and the key, shape or dtype.
    * ``frames`` (8), ``seed`` (0): without calibration data, ``frames`` frames of seeded uniform
      [0, 1) random inputs (a stand-in for real data: fine for tests and timing, not for accuracy).
    * ``scheme``: ``per_tensor_min_max`` (min and max over all frames) or
      ``per_tensor_histogram`` (a 2048-bin histogram per tensor over all frames, clipped to the
      range of least expected int8 quantization error, see :func:`best_histogram_range`).
    """

    name = "onnx-calibrate"

    calibration_data: str | None = None
    frames: int = 8
    seed: int = 0
    scheme: str = "per_tensor_min_max"

    def apply(self, ctx: Context, op: builtin.ModuleOp) -> None:
        if self.scheme not in SCHEMES:
            raise PassFailedException(
                f"onnx-calibrate: scheme must be one of {', '.join(SCHEMES)}, got '{self.scheme}'"
            )
        if self.frames < 1:
            raise PassFailedException(f"onnx-calibrate: frames must be at least 1, got {self.frames}")
        probe = OnnxRunner(op)
        if self.calibration_data:
            frames: Sequence[tuple[np.ndarray, ...]] | Iterator[tuple[np.ndarray, ...]] = (
                load_calibration_frames(self.calibration_data, probe)
            )
        else:
            frames = random_frames(probe, self.frames, self.seed)
        calibrate_module(op, frames, self.scheme)
