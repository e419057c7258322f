"""onnx-rewrite-conv-transpose: run before and after the pass, and end to end (the upsampling head of a
DB text detector: Conv -> ConvTranspose 2x2 stride 2 -> Relu -> ConvTranspose 2x2 stride 2)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from _onnx_helpers import compile_and_run, sqnr_db
from axc.lowering.onnx_importer import import_onnx
from axc.lowering.pipelines import run_pipeline
from axc.runtime.interp_onnx import run_onnx_module


def _model(seed: int, k: int = 2) -> onnx.ModelProto:
    rng = np.random.default_rng(seed)
    inits = [numpy_helper.from_array((rng.standard_normal((8, 3, 3, 3)) * 0.3).astype(np.float32), "w"),
             numpy_helper.from_array((rng.standard_normal((8, 4, k, k)) * 0.3).astype(np.float32), "up1"),
             numpy_helper.from_array((rng.standard_normal(4) * 0.1).astype(np.float32), "b1"),
             numpy_helper.from_array((rng.standard_normal((4, 2, k, k)) * 0.3).astype(np.float32), "up2")]
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="conv", pads=[1, 1, 1, 1]),
             helper.make_node("ConvTranspose", ["c", "up1", "b1"], ["u1"], name="up1", strides=[k, k]),
             helper.make_node("Relu", ["u1"], ["r"], name="relu"),
             helper.make_node("ConvTranspose", ["r", "up2"], ["u2"], name="up2", strides=[k, k]),
             helper.make_node("Conv", ["u2", "w2"], ["y"], name="head")]
    inits.append(numpy_helper.from_array((rng.standard_normal((1, 2, 1, 1)) * 0.5).astype(np.float32), "w2"))
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 6, 6])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], initializer=inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])


@pytest.mark.parametrize("k", [2, 3])
def test_rewrite_keeps_the_values(k: int) -> None:
    m = _model(0, k)
    module = import_onnx(m)
    x = np.random.default_rng(1).standard_normal((1, 3, 6, 6)).astype(np.float32)
    before = run_onnx_module(module, {"x": x})["y"]
    run_pipeline(module, "onnx-rewrite-conv-transpose")
    assert not any(op.name == "onnx.ConvTranspose" for op in module.walk())
    after = run_onnx_module(module, {"x": x})["y"]
    np.testing.assert_allclose(after, before, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(after, ort.InferenceSession(m.SerializeToString()).run(None, {"x": x})[0], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("seed", [0, 9])
def test_upsampling_head_runs_on_the_aipu(tmp_path: Path, seed: int) -> None:
    x = np.random.default_rng(seed + 1).standard_normal((1, 3, 6, 6)).astype(np.float32)
    pkg, out, quant, ref = compile_and_run(tmp_path, _model(seed), {"x": x})
    assert np.array_equal(out["y"], quant["y"])
    assert sqnr_db(ref["y"], out["y"]) > 25
    assert pkg.placement["host_macs"] == 0 and pkg.placement["host_op_types"] == {"DepthToSpace": 2}
