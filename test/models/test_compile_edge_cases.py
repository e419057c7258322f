"""Small ONNX models that once compiled wrongly or not at all, compiled end to end with the library
path of ``ax-compile`` (``compile_model``) and run by the package executor: the AIPU runtime equals
the quant interpreter (and the tile interpreter) bit for bit, and the result is measured against
onnxruntime."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from axc.config import CompilerConfig
from axc.lowering.compile_pipeline import make_context, pipeline_stages, run_stages, stages_until
from axc.lowering.model_compiler import CompiledModel, compile_model
from axc.runtime.executor import run as run_package
from axc.runtime.interp_quant import run_quant_module
from axc.runtime.interp_tile import run_tile_module
from axc.runtime.package import load_package


def _model(nodes, inputs, outputs, inits=(), opset: int = 19) -> onnx.ModelProto:
    graph = helper.make_graph(
        nodes, "g",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in outputs],
        [numpy_helper.from_array(a, n) for n, a in inits],
    )
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 9
    return m


def _ort(model: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    return dict(zip([o.name for o in sess.get_outputs()], sess.run(None, feeds)))


def _sqnr_db(ref: np.ndarray, got: np.ndarray) -> float:
    ref, got = np.asarray(ref, np.float64), np.asarray(got, np.float64)
    noise = np.sum((ref - got) ** 2)
    return float("inf") if noise == 0 else float(10 * np.log10(np.sum(ref**2) / noise))


def _compile(model: onnx.ModelProto, tmp_path: Path, cfg: CompilerConfig | None = None) -> CompiledModel:
    onnx.save(model, tmp_path / "m.onnx")
    return compile_model(tmp_path / "m.onnx", tmp_path / "m.pkg", cfg)


def _tile_module(compiled: CompiledModel, cfg: CompilerConfig):
    """The quant module of ``compiled`` lowered and planned at the tile level."""
    stages = pipeline_stages(cfg, None)
    tile_stages = stages_until(stages, "tile")[len(stages_until(stages, "quant")):]
    m = compiled.quant_module.clone()
    run_stages(make_context(), m, tile_stages)
    return m


def _dilated_avg_pool_model(seed: int = 0) -> onnx.ModelProto:
    rng = np.random.default_rng(seed)
    w = (rng.standard_normal((8, 3, 3, 3)) * 0.3).astype(np.float32)
    b = (rng.standard_normal(8) * 0.1).astype(np.float32)
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        # ceil_mode with pads that the last windows overhang, counting the pads: the divisor differs
        # per border window, and the dilated taps skip rows
        helper.make_node("AveragePool", ["c"], ["y1"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 0, 2, 1],
                         dilations=[2, 2], ceil_mode=1, count_include_pad=1),
        helper.make_node("AveragePool", ["c"], ["y2"], kernel_shape=[2, 3], strides=[1, 2], pads=[1, 2, 0, 1],
                         dilations=[3, 2], ceil_mode=1, count_include_pad=0),
    ]
    return _model(nodes, [("x", [1, 3, 17, 16])], ["y1", "y2"], [("w", w), ("b", b)])


@pytest.mark.parametrize("force_h_tiling", [None, 3])
def test_dilated_average_pool_end_to_end(tmp_path: Path, force_h_tiling) -> None:
    """AveragePool with dilations (opset 19), ceil_mode, pads and count_include_pad runs on the AIPU:
    quant == tile == aipu bit for bit, and >= 30 dB against onnxruntime (it was 10.7 dB or a verifier
    error when the dilations were dropped)."""
    model = _dilated_avg_pool_model()
    # the pools are the model's last ops: keep them off the host's postamble to test the AIPU path
    cfg = CompilerConfig(force_h_tiling=force_h_tiling, graph_cleaner_split_pre_post_processing=False)
    compiled = _compile(model, tmp_path, cfg)
    assert any(op.name == "quant.avg_pool" and op.pool_params()["dilations"] != (1, 1)
               for op in compiled.quant_module.walk())
    tile_module = _tile_module(compiled, cfg)
    pkg = load_package(compiled.package)
    x = np.random.default_rng(1).random((3, 1, 3, 17, 16), dtype=np.float32)
    got = run_package(pkg, {"x": x[:, 0]})
    refs = [_ort(model, {"x": f}) for f in x]
    ref = {k: np.concatenate([r[k] for r in refs]) for k in refs[0]}
    for i in range(x.shape[0]):
        q = run_quant_module(compiled.quant_module, {"x": x[i]})
        t = run_tile_module(tile_module, {"x": x[i]})
        for name in ("y1", "y2"):
            np.testing.assert_array_equal(t[name], q[name], err_msg=f"tile != quant for {name}")
            np.testing.assert_array_equal(got[name][i:i + 1], q[name], err_msg=f"aipu != quant for {name}")
    for name in ("y1", "y2"):
        assert got[name].shape == ref[name].shape
        assert _sqnr_db(ref[name], got[name]) >= 30.0, name


def test_conv_bias_too_large_for_int32_is_rescaled(tmp_path: Path) -> None:
    """A Conv whose bias is huge relative to s_in * s_w (near-zero weights, as a folded BatchNorm of
    a dead channel gives): the compiler raises those channels' weight scales, warns naming the node
    and the channels, and the result stays exact (was: "bias does not fit in int32")."""
    rng = np.random.default_rng(0)
    w = (rng.standard_normal((4, 3, 3, 3)) * 0.3).astype(np.float32)
    w[2] *= np.float32(1e-7)
    w[3] *= np.float32(1e-6)
    b = np.array([0.1, -0.2, 5.0, -3.0], np.float32)  # b[2] / (s_in * s_w[2]) ~ 1e12
    model = _model([helper.make_node("Conv", ["x", "w", "b"], ["y"], kernel_shape=[3, 3], pads=[1, 1, 1, 1],
                                     name="big_bias")],
                   [("x", [1, 3, 8, 8])], ["y"], [("w", w), ("b", b)], opset=13)
    with pytest.warns(UserWarning, match=r"'onnx.Conv' node \"big_bias\": bias of output channel\(s\) 2, 3 "):
        compiled = _compile(model, tmp_path)
    pkg = load_package(compiled.package)
    x = np.random.default_rng(1).random((1, 3, 8, 8), dtype=np.float32)
    got = run_package(pkg, {"x": x})["y"]
    np.testing.assert_array_equal(got, run_quant_module(compiled.quant_module, {"x": x})["y"])
    ref = _ort(model, {"x": x})["y"]
    assert _sqnr_db(ref, got) >= 30.0
    for c in (2, 3):  # the bias-dominated channels are as exact as the output scale allows
        assert np.max(np.abs(got[0, c] - ref[0, c])) <= 8.0 / 255


def _scalar_io_model() -> onnx.ModelProto:
    """A 0-d input ``s`` (Mul by a scalar, Relu and Add of scalars) and 0-d outputs: ``y``, the
    mean of a convolution's only channel reshaped to shape [], and ``m``, ReduceMean keepdims=0 over
    all axes."""
    rng = np.random.default_rng(0)
    w = (rng.standard_normal((2, 3, 3, 3)) * 0.3).astype(np.float32)
    w1 = (rng.standard_normal((1, 2, 1, 1)) * 0.5).astype(np.float32)
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["s"], ["s_relu"]),
        helper.make_node("Add", ["s_relu", "s"], ["s2"]),
        helper.make_node("Mul", ["c", "s2"], ["z"]),
        helper.make_node("Conv", ["z", "w1"], ["c1"], kernel_shape=[1, 1]),
        helper.make_node("GlobalAveragePool", ["c1"], ["g"]),
        helper.make_node("Reshape", ["g", "scalar_shape"], ["y"]),
        helper.make_node("ReduceMean", ["z"], ["m"], keepdims=0),
    ]
    return _model(nodes, [("x", [1, 3, 8, 8]), ("s", [])], ["y", "z", "m"],
                  [("w", w), ("w1", w1), ("scalar_shape", np.zeros(0, np.int64))], opset=13)


@pytest.mark.parametrize("cores", [1, 4])
def test_scalar_inputs_and_outputs(tmp_path: Path, cores: int) -> None:
    """0-d graph inputs and outputs compile (f32 ``aipu.io`` buffers of shape []) and run: the package
    executor takes N frames of a scalar as shape (N,) (or one frame as a 0-d array) and returns a
    scalar output as (N,), each frame equal to the quant interpreter and close to onnxruntime."""
    model = _scalar_io_model()
    compiled = _compile(model, tmp_path, CompilerConfig(aipu_cores_used=cores))
    pkg = load_package(compiled.package)
    assert [(s["name"], s["shape"]) for s in pkg.manifest["inputs"]] == [("x", [1, 3, 8, 8]), ("s", [])]
    outs = {s["name"]: s["shape"] for s in pkg.manifest["outputs"]}
    assert outs["y"] == outs["m"] == []
    rng = np.random.default_rng(2)
    x = rng.random((5, 3, 8, 8), dtype=np.float32)
    s = rng.uniform(-1, 1, 5).astype(np.float32)
    got = run_package(pkg, {"x": x, "s": s})
    assert got["y"].shape == got["m"].shape == (5,) and got["z"].shape == (5, 2, 8, 8)
    for i in range(5):
        si = np.array(s[i])  # one frame of the 0-d input
        q = run_quant_module(compiled.quant_module, {"x": x[i:i + 1], "s": si})
        ref = _ort(model, {"x": x[i:i + 1], "s": si})
        for name in ("y", "m"):
            assert q[name].shape == ref[name].shape == ()
            np.testing.assert_array_equal(got[name][i], q[name])
            assert abs(float(got[name][i]) - float(ref[name])) <= 0.02 * max(1.0, abs(float(ref[name])))
        np.testing.assert_array_equal(got["z"][i:i + 1], q["z"])
    one = run_package(pkg, {"x": x[:1], "s": np.array(s[0])})  # one frame: the scalar as a 0-d array
    np.testing.assert_array_equal(one["m"], got["m"][:1])
