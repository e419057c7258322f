"""Shared helpers of the onnx-level tests: onnxruntime references and cached light models."""

from __future__ import annotations

import functools
import os

import numpy as np
import onnx
import onnxruntime as ort

from axc.lowering.model_utils import light_model_path, randomize_light_model, with_extra_outputs

#: light models run through the interpreter in the default test run (conv-heavy, cheap weights);
#: alexnet covers the Reshape -> Gemm -> Relu -> Gemm classifier at the cost of ~4 s.
FAST_MODELS = ("squeezenet", "inception_v1", "inception_v2", "densenet121", "shufflenet", "resnet50", "bvlc_alexnet")
#: 60M-140M random weights each: only with AXC_SLOW_TESTS=1
SLOW_MODELS = ("zfnet512", "vgg19")
SLOW = os.environ.get("AXC_SLOW_TESTS") == "1"

RTOL, ATOL = 1e-4, 1e-5


def ort_run(model: onnx.ModelProto, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """onnxruntime on ``model`` (graph optimizations off, so the reference is the plain graph)."""
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    so.intra_op_num_threads = 2
    sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    return dict(zip(names, sess.run(None, inputs)))


@functools.lru_cache(maxsize=None)
def light_model_with_logits(name: str, seed: int = 0) -> onnx.ModelProto:
    """The randomized light model, also outputting the input of its last node (the logits before
    the Softmax: with random weights the Softmax output alone is nearly uniform)."""
    m = randomize_light_model(light_model_path(name), seed)
    return with_extra_outputs(m, [m.graph.node[-1].input[0]])


def assert_outputs_close(got: dict[str, np.ndarray], ref: dict[str, np.ndarray], what: str) -> None:
    assert set(got) == set(ref), f"{what}: outputs {sorted(got)} != {sorted(ref)}"
    for k in ref:
        assert got[k].shape == ref[k].shape, f"{what}: output {k} shape {got[k].shape} != {ref[k].shape}"
        scale = float(np.max(np.abs(ref[k]))) if ref[k].size else 0.0
        # atol is relative to the output's magnitude when that exceeds 1: random-weight ResNet /
        # ShuffleNet logits reach 1e2, where float32 rounding alone (different but equally valid
        # summation orders) leaves ~1e-5 * max|ref| on entries near zero.
        if not np.allclose(got[k], ref[k], rtol=RTOL, atol=ATOL * max(1.0, scale)):
            err = float(np.max(np.abs(got[k] - ref[k])))
            raise AssertionError(f"{what}: output {k} differs (max abs err {err:.3g}, max |ref| {scale:.3g})")


def sqnr_db(ref: np.ndarray, got: np.ndarray) -> float:
    """Signal-to-quantization-noise ratio of ``got`` against ``ref`` in dB (float64 sums)."""
    noise = np.sum((ref.astype(np.float64) - got) ** 2)
    return float(10 * np.log10(np.sum(ref.astype(np.float64) ** 2) / max(noise, 1e-30)))


def compile_and_run(tmp_path, model: onnx.ModelProto, inputs: dict[str, np.ndarray], cfg=None):
    """Compile ``model`` calibrated on ``inputs`` (lowering.model_compiler.compile_model), run the
    package and the quant level on them; returns (package, aipu outputs, quant outputs, onnxruntime
    outputs), each keyed by ONNX output names."""
    from axc.lowering.model_compiler import compile_model
    from axc.runtime.interp_quant import run_quant_module
    from axc.runtime.package import load_package

    onnx.save(model, tmp_path / "m.onnx")
    np.savez(tmp_path / "cal.npz", **inputs)
    cm = compile_model(tmp_path / "m.onnx", tmp_path / "pkg", cfg, calibration_data=str(tmp_path / "cal.npz"))
    pkg = load_package(cm.package)
    return pkg, pkg.executor().run(inputs), run_quant_module(cm.quant_module, inputs), ort_run(model, inputs)
