"""Compile one real-weight model of models.toml, run its package, compare with onnxruntime float.

:func:`evaluate` does, for one manifest entry whose ONNX file is in the cache:

1. calibration frames: the entry's ``calibration`` images (images.py), preprocessed, in an .npz
   keyed by the input name (what ``ax-compile --calibration-data`` takes);
2. compile with the same stages as ``ax-compile`` (:func:`axc.lowering.compile_pipeline.pipeline_stages`
   of a default :class:`~axc.config.CompilerConfig`) after ``import_onnx(model, {input: input_shape})``
   (``ax-compile --input-shape``), writing the package (:func:`compile_real`);
3. run the package (:func:`axc.runtime.executor.run`) and onnxruntime on the ``test`` images; SQNR
   per output, 10 log10(sum ref^2 / sum (ref - out)^2) over the test frames;
4. MACs of the float model (macs.py) and the AIPU share of them.

A failed step is recorded, not raised: ``status`` is ``compiled``, ``compile error`` (a one-line
:class:`~axc.runtime.errors.AxcError` or xDSL pass / verifier error, as ax-compile prints it),
``run error`` or ``crash`` (any other exception: a traceback ax-compile would show, which is a bug).
"""

from __future__ import annotations

import re
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx

from . import macs as macs_mod
from .fetch_models import ModelEntry
from .images import frames

__all__ = ["RealResult", "compile_real", "evaluate", "blocking_ops", "sqnr_db", "clean_error"]


@dataclass
class RealResult:
    """What :func:`evaluate` found for one model (``None``: not reached)."""

    id: str
    task: str
    package: str
    status: str = "not run"
    error: str = ""
    blocking: Counter = field(default_factory=Counter)
    total_macs: int | None = None
    aipu_macs: int | None = None
    placed_share: float | None = None  # the compiler's own AIPU / (AIPU + host) MACs (placement record)
    sqnr_db: dict[str, float] = field(default_factory=dict)
    compile_s: float | None = None

    @property
    def mac_share(self) -> float | None:
        """The AIPU's share of the MACs the compiled model runs (placement record); else AIPU MACs /
        float-model MACs (rewrites such as a folded BatchNormalization's depthwise Conv can add MACs,
        so that ratio may exceed 1)."""
        if self.placed_share is not None:
            return self.placed_share
        if self.aipu_macs is None or not self.total_macs:
            return None
        return self.aipu_macs / self.total_macs

    @property
    def summary(self) -> str:
        """The status in one short line: ``compiled``, or the failure with the blocking op types
        counted (``unsupported ONNX ops: Clip 24, Div 24``) instead of every node name."""
        if self.status == "compiled":
            return "compiled"
        if self.blocking:
            ops = ", ".join(f"{t} {n}" for t, n in self.blocking.most_common())
            return f"{self.status}: unsupported ONNX ops: {ops}"
        text = self.error if len(self.error) <= 200 else self.error[:197] + "..."
        return f"{self.status}: {text}"

    @property
    def min_sqnr_db(self) -> float | None:
        """The worst output's SQNR."""
        return min(self.sqnr_db.values()) if self.sqnr_db else None


def sqnr_db(ref: np.ndarray, out: np.ndarray) -> float:
    """10 log10(|ref|^2 / |ref - out|^2) in dB (inf when equal, -inf for a zero reference with noise)."""
    ref64 = np.asarray(ref, np.float64)
    noise = float(np.sum((ref64 - out) ** 2))
    signal = float(np.sum(ref64**2))
    if noise == 0:
        return float("inf")
    return float("-inf") if signal == 0 else 10 * np.log10(signal / noise)


_UNSUPPORTED = re.compile(r"([\w.]+) \(nodes: ([^)]*)\)")


def blocking_ops(message: str) -> Counter:
    """Op type -> node count from the importer's ``unsupported ONNX ops: T (nodes: a, b); ...``
    message (empty for any other message)."""
    if "unsupported ONNX ops:" not in message:
        return Counter()
    return Counter({t: len([n for n in nodes.split(", ") if n]) for t, nodes in _UNSUPPORTED.findall(message)})


def clean_error(exc: BaseException) -> str | None:
    """The one-line message ax-compile prints for ``exc``, or None when ax-compile would let it
    through as a traceback (see :func:`axc.tools.ax_compile.main`)."""
    from xdsl.utils.exceptions import DiagnosticException, PassFailedException, VerifyException

    from axc.runtime.errors import AxcError

    if isinstance(exc, AxcError | PassFailedException | VerifyException | DiagnosticException):
        lines = str(exc).strip().splitlines()
        return lines[0] if lines else type(exc).__name__
    return None


def compile_real(entry: ModelEntry, onnx_path: Path, package: Path, calibration_npz: Path):
    """Compile ``onnx_path`` at ``entry.input_shape`` to ``package`` as ax-compile does with
    ``--input-shape {entry.input}=... --calibration-data calibration_npz`` and a default
    configuration; returns :class:`axc.lowering.model_compiler.CompiledModel` (quant-level module
    kept). Raises what the compiler raises."""
    from axc.lowering.model_compiler import compile_model

    return compile_model(onnx_path, package, calibration_data=str(calibration_npz),
                         input_shapes={entry.input: list(entry.input_shape)})


def evaluate(entry: ModelEntry, onnx_path: Path, workdir: Path) -> RealResult:
    """Calibrate, compile, run and compare one model (the module docstring lists the steps).
    Never raises for a compiler or runtime failure: it is recorded in the result."""
    import onnxruntime as ort

    from axc.runtime.executor import run as run_package
    from axc.runtime.package import load_package

    res = RealResult(entry.id, entry.task, entry.package)
    workdir.mkdir(parents=True, exist_ok=True)
    calib = workdir / f"{entry.id}_calib.npz"
    np.savez(calib, **{entry.input: frames(entry.calibration, entry.input_shape, entry.preprocess)})
    test_x = frames(entry.test, entry.input_shape, entry.preprocess)
    model = onnx.load(str(onnx_path))
    res.total_macs = macs_mod.model_macs(model, {entry.input: test_x[:1]})

    t0 = time.perf_counter()
    try:
        compile_real(entry, onnx_path, workdir / f"{entry.id}.pkg", calib)
    except Exception as e:  # recorded: the bench lists every model's first failure
        res.compile_s = time.perf_counter() - t0
        msg = clean_error(e)
        res.status, res.error = ("compile error", msg) if msg is not None else ("crash", _crash_line(e))
        res.blocking = blocking_ops(res.error)
        return res
    res.compile_s = time.perf_counter() - t0

    try:
        pkg = load_package(workdir / f"{entry.id}.pkg")
        res.aipu_macs = macs_mod.aipu_macs(pkg)
        if pkg.placement is not None:
            res.placed_share = float(pkg.placement["aipu_mac_share"])
        got = run_package(pkg, {entry.input: test_x})
    except Exception as e:
        msg = clean_error(e)
        res.status, res.error = ("run error", msg) if msg is not None else ("crash", _crash_line(e))
        return res
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    refs = [sess.run(None, {entry.input: test_x[i:i + 1]}) for i in range(len(test_x))]
    for k, o in enumerate(sess.get_outputs()):
        ref = np.concatenate([r[k] for r in refs], axis=0)
        res.sqnr_db[o.name] = sqnr_db(ref, got[o.name]) if got[o.name].shape == ref.shape else float("nan")
    res.status = "compiled"
    return res


def _crash_line(e: BaseException) -> str:
    """``TypeError: first line (file:line)`` of an unexpected exception, with where it was raised."""
    import traceback

    tb = traceback.extract_tb(e.__traceback__)
    where = f" ({Path(tb[-1].filename).name}:{tb[-1].lineno})" if tb else ""
    first = (str(e).strip().splitlines() or [""])[0]
    return f"{type(e).__name__}: {first}{where}"
