"""onnx-rewrite-dense-to-conv2d on a transformer's linear layers: MatMul of (1, T, K) tokens by a
constant (K, N) matrix becomes a 1x1 Conv between transposes; run before and after the pass, and end
to end with the MACs on the AIPU."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from _onnx_helpers import compile_and_run, sqnr_db
from axc.lowering.onnx_importer import import_onnx
from axc.lowering.pipelines import run_pipeline
from axc.runtime.interp_onnx import run_onnx_module


def _model(seed: int) -> onnx.ModelProto:
    rng = np.random.default_rng(seed)
    inits = [numpy_helper.from_array((rng.standard_normal((24, 48)) * 0.2).astype(np.float32), "w1"),
             numpy_helper.from_array((rng.standard_normal(48) * 0.1).astype(np.float32), "b1"),
             numpy_helper.from_array((rng.standard_normal((48, 16)) * 0.2).astype(np.float32), "w2")]
    nodes = [helper.make_node("MatMul", ["x", "w1"], ["h"], name="fc1"),
             helper.make_node("Add", ["h", "b1"], ["hb"], name="bias1"),
             helper.make_node("Relu", ["hb"], ["r"], name="relu"),
             helper.make_node("MatMul", ["r", "w2"], ["y"], name="fc2")]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 10, 24])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], initializer=inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])


def test_rewrite_keeps_the_values() -> None:
    module = import_onnx(_model(0))
    x = np.random.default_rng(1).standard_normal((1, 10, 24)).astype(np.float32)
    before = run_onnx_module(module, {"x": x})["y"]
    run_pipeline(module, "onnx-rewrite-dense-to-conv2d")
    assert not any(op.name == "onnx.MatMul" for op in module.walk())
    np.testing.assert_allclose(run_onnx_module(module, {"x": x})["y"], before, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("seed", [0, 5])
def test_sequence_linear_layers_run_on_the_aipu(tmp_path: Path, seed: int) -> None:
    x = np.random.default_rng(seed + 1).standard_normal((1, 10, 24)).astype(np.float32)
    pkg, out, quant, ref = compile_and_run(tmp_path, _model(seed), {"x": x})
    assert np.array_equal(out["y"], quant["y"])
    assert sqnr_db(ref["y"], out["y"]) > 25
    assert pkg.placement["aipu_macs"] == 10 * 24 * 48 + 10 * 48 * 16 and pkg.placement["host_macs"] == 0
