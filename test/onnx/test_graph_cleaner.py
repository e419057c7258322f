"""The graph cleaner properties of the configuration: run_graph_cleaner, graph_cleaner_split_pre_post_processing,
graph_cleaner_node / condition / threshold and the two dump files, through the compile driver."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from axc.config import CompilerConfig
from axc.lowering.compile_pipeline import import_options, pipeline_stages
from axc.lowering.model_compiler import compile_model
from axc.lowering.onnx_importer import import_onnx
from axc.runtime.errors import ModelError
from axc.runtime.interp_quant import run_quant_module
from axc.runtime.package import load_package


def _model(tmp_path: Path) -> Path:
    """x * 0.5 (pre-processing) -> Conv -> Flatten -> Gemm (24 x 10 weight) -> Softmax (post-processing),
    with a Reshape whose shape is computed from Shape(x) (folded by the cleaner)."""
    rng = np.random.default_rng(0)
    inits = [numpy_helper.from_array(np.array(0.5, np.float32), "half"),
             numpy_helper.from_array((rng.standard_normal((6, 3, 3, 3)) * 0.3).astype(np.float32), "w"),
             numpy_helper.from_array((rng.standard_normal((24, 10)) * 0.3).astype(np.float32), "fc"),
             numpy_helper.from_array(np.array([0], np.int64), "i0"),
             numpy_helper.from_array(np.array([-1], np.int64), "m1")]
    nodes = [
        helper.make_node("Mul", ["x", "half"], ["xs"], name="prescale"),
        helper.make_node("Conv", ["xs", "w"], ["c"], name="conv", strides=[2, 2], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"], name="relu"),
        helper.make_node("Shape", ["r"], ["s"], name="shape"),
        helper.make_node("Gather", ["s", "i0"], ["n"], name="batch", axis=0),
        helper.make_node("Concat", ["n", "m1"], ["flat_shape"], name="cat", axis=0),
        helper.make_node("Reshape", ["r", "flat_shape"], ["f"], name="flatten"),
        helper.make_node("Gemm", ["f", "fc"], ["g"], name="fc"),
        helper.make_node("Softmax", ["g"], ["y"], name="softmax", axis=1),
    ]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 4, 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], initializer=inits)
    path = tmp_path / "m.onnx"
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), path)
    return path


def _compile(tmp_path: Path, cfg: CompilerConfig):
    x = np.random.default_rng(1).standard_normal((1, 3, 4, 4)).astype(np.float32)
    np.savez(tmp_path / "cal.npz", x=x)
    cm = compile_model(_model(tmp_path), tmp_path / "pkg", cfg, calibration_data=str(tmp_path / "cal.npz"),
                       input_shapes={"x": [1, 3, 4, 4]})
    pkg = load_package(cm.package)
    assert np.array_equal(pkg.executor().run({"x": x})["y"], run_quant_module(cm.quant_module, {"x": x})["y"])
    return pkg.placement


def test_default_cleaner_splits_pre_and_post_processing(tmp_path: Path) -> None:
    p = _compile(tmp_path, CompilerConfig())
    # the scaling before the Conv; after the Gemm (a Conv now): its (1, 10, 1, 1) -> (1, 10) reshape, the Softmax
    assert p["host_op_types"] == {"Mul": 1, "Reshape": 1, "Softmax": 1}
    assert p["aipu_mac_share"] == 1.0


def test_no_split_keeps_the_scaling_on_the_aipu(tmp_path: Path) -> None:
    p = _compile(tmp_path, CompilerConfig(graph_cleaner_split_pre_post_processing=False))
    assert p["host_op_types"] == {"Softmax": 1}


def test_node_condition_threshold_sends_big_gemms_to_the_host(tmp_path: Path) -> None:
    kw = {"graph_cleaner_node": "Gemm", "graph_cleaner_condition": "maximum_weight_tensor_size"}
    p = _compile(tmp_path, CompilerConfig(**kw, graph_cleaner_threshold=239))
    assert "Gemm" in p["host_op_types"] and p["host_macs"] == 240
    (tmp_path / "keep").mkdir()
    p = _compile(tmp_path / "keep", CompilerConfig(**kw, graph_cleaner_threshold=240))
    assert "Gemm" not in p["host_op_types"] and p["host_macs"] == 0


def test_dumps(tmp_path: Path) -> None:
    full, core = tmp_path / "full.onnx", tmp_path / "core.onnx"
    _compile(tmp_path, CompilerConfig(graph_cleaner_dump_full_opt_onnx=str(full), graph_cleaner_dump_core_onnx=str(core)))
    folded = onnx.load(full)
    assert not {"Shape", "Gather", "Concat"} & {n.op_type for n in folded.graph.node}
    core_types = [n.op_type for n in onnx.load(core).graph.node]
    assert "Conv" in core_types and "Softmax" not in core_types and "Mul" not in core_types


def test_cleaner_off_leaves_shape_arithmetic(tmp_path: Path) -> None:
    assert import_options(CompilerConfig(run_graph_cleaner=False)) == {"fold": False}
    with pytest.raises(ModelError, match='cannot infer the type of "f"'):
        import_onnx(_model(tmp_path), {"x": [1, 3, 4, 4]}, **import_options(CompilerConfig(run_graph_cleaner=False)))
    specs = [s.spec for s in pipeline_stages(CompilerConfig(run_graph_cleaner=False), None)]
    assert "onnx-place" in specs and not any("split-pre-post" in s for s in specs)


def test_unwritable_dump_is_a_one_line_error(tmp_path: Path) -> None:
    bad = tmp_path / "no" / "such" / "dir" / "full.onnx"
    with pytest.raises(ModelError, match=r"^graph_cleaner_dump_full_opt_onnx: cannot write '.*full\.onnx': "):
        import_onnx(_model(tmp_path), {"x": [1, 3, 4, 4]}, dump_folded=bad)


def test_node_runner_names_the_node_it_cannot_run() -> None:
    from axc.runtime.onnx_node import NodeRunner

    node = helper.make_node("Resize", ["x"], ["y"], name="up", mode="no_such_mode")
    runner = NodeRunner(node, 13, [(np.dtype("float32"), (1, 1, 2, 2))])  # onnxruntime refuses: the reference runs it
    with pytest.raises(ValueError, match=r'^node "up" \(Resize\): '):
        runner.run([np.zeros((1, 1, 2, 2), np.float32)])
