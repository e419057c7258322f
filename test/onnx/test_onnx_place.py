"""onnx-place: placement per op, the summary, cpu fallback, and host fallback anywhere in the graph
(start, middle, end, inside If bodies), each compiled and run end to end."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from _onnx_helpers import compile_and_run, sqnr_db
from axc.lowering.onnx_importer import import_onnx
from axc.lowering.onnx_place import PLACEMENT_ATTR, op_macs, placement_summary
from axc.lowering.pipelines import run_pipeline
from axc.runtime.interp_onnx import run_onnx_module
from axc.runtime.package import load_package


def _w(rng, *shape):
    return (rng.standard_normal(shape) * 0.3).astype(np.float32)


def _model(seed: int) -> onnx.ModelProto:
    """Erf (host) at the start, Conv / Relu (AIPU) in the middle with a host Sqrt between two
    convs, and a host Softmax at the end."""
    rng = np.random.default_rng(seed)
    inits = [numpy_helper.from_array(_w(rng, 8, 3, 3, 3), "w1"), numpy_helper.from_array(_w(rng, 8, 8, 3, 3), "w2")]
    nodes = [
        helper.make_node("Erf", ["x"], ["e"], name="pre_erf"),
        helper.make_node("Conv", ["e", "w1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
        helper.make_node("Sqrt", ["r1"], ["s1"], name="mid_sqrt"),
        helper.make_node("Conv", ["s1", "w2"], ["c2"], name="conv2", pads=[1, 1, 1, 1]),
        helper.make_node("Softmax", ["c2"], ["y"], name="post_softmax", axis=1),
    ]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], initializer=inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])


def test_place_annotates_without_changing_values() -> None:
    module = import_onnx(_model(0))
    x = np.random.default_rng(1).standard_normal((1, 3, 8, 8)).astype(np.float32)
    before = run_onnx_module(module, {"x": x})["y"]
    run_pipeline(module, "onnx-place")
    after = run_onnx_module(module, {"x": x})["y"]
    assert np.array_equal(before, after)
    places = {op.node_name: op.attributes[PLACEMENT_ATTR].data for op in module.walk() if PLACEMENT_ATTR in op.attributes}
    assert places == {"pre_erf": "host", "conv1": "aipu", "relu1": "aipu", "mid_sqrt": "host",
                      "conv2": "aipu", "post_softmax": "host"}
    s = placement_summary(module)
    assert s["aipu_macs"] == 8 * 64 * 27 + 8 * 64 * 72 and s["host_macs"] == 0 and s["aipu_mac_share"] == 1.0
    assert s["host_op_types"] == {"Erf": 1, "Softmax": 1, "Sqrt": 1}


@pytest.mark.parametrize("seed", [0, 7])
def test_host_segments_at_start_middle_end_run_bit_exact(tmp_path: Path, seed: int) -> None:
    m = _model(seed)
    x = np.random.default_rng(seed + 100).standard_normal((1, 3, 8, 8)).astype(np.float32)
    pkg, out, quant, ref = compile_and_run(tmp_path, m, {"x": x})
    assert np.array_equal(out["y"], quant["y"])
    assert sqnr_db(ref["y"], out["y"]) > 20
    assert pkg.placement is not None and pkg.placement["aipu_ops"] == 3 and pkg.placement["host_ops"] == 3


def test_cpu_fallback_ops_force_the_host(tmp_path: Path) -> None:
    """ax-compile --cpu-fallback-ops: the Convs and Relus run on the host, the package records it
    and computes what the quant level does."""
    from axc.runtime.executor import run
    from axc.tools.ax_compile import main

    m = _model(3)
    x = np.random.default_rng(5).standard_normal((1, 3, 8, 8)).astype(np.float32)
    onnx.save(m, tmp_path / "m.onnx")
    np.savez(tmp_path / "cal.npz", x=x)
    assert main([str(tmp_path / "m.onnx"), "-o", str(tmp_path / "pkg"), "--calibration-data", str(tmp_path / "cal.npz"),
                 "--cpu-fallback-ops", "Conv,Relu"]) == 0
    s = load_package(tmp_path / "pkg").placement
    assert s["aipu_ops"] == 0 and s["host_macs"] == 8 * 64 * 27 + 8 * 64 * 72 and s["aipu_mac_share"] == 0.0
    ref = ort.InferenceSession(m.SerializeToString()).run(None, {"x": x})[0]
    assert sqnr_db(ref, run(tmp_path / "pkg", {"x": x})["y"]) > 40  # float on the host: only the I/O is quantized
    assert main([str(tmp_path / "m.onnx"), "-o", str(tmp_path / "bad"), "--cpu-fallback-ops", "Cnv"]) == 1
    assert not (tmp_path / "bad").exists()


def test_op_macs() -> None:
    m = helper.make_model(helper.make_graph(
        [helper.make_node("ConvTranspose", ["x", "w"], ["y"], strides=[2, 2]),
         helper.make_node("MatMul", ["a", "b"], ["c"])], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 5, 5]),
         helper.make_tensor_value_info("a", TensorProto.FLOAT, [2, 3, 6])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None), helper.make_tensor_value_info("c", TensorProto.FLOAT, None)],
        initializer=[numpy_helper.from_array(np.ones((4, 2, 3, 3), np.float32), "w"),
                     numpy_helper.from_array(np.ones((6, 7), np.float32), "b")]),
        opset_imports=[helper.make_opsetid("", 13)])
    module = import_onnx(m)
    macs = {op.name: op_macs(op) for op in module.walk() if op.name in ("onnx.ConvTranspose", "onnx.MatMul")}
    assert macs == {"onnx.ConvTranspose": 4 * 25 * 2 * 9, "onnx.MatMul": 2 * 3 * 7 * 6}


def test_if_body_runs_on_the_host_and_reads_outer_values(tmp_path: Path) -> None:
    """An If whose branches read a value of the enclosing graph (outer scope): the If is a host
    op, its body nodes are counted, and the package computes what onnxruntime does."""
    rng = np.random.default_rng(0)
    then_g = helper.make_graph([helper.make_node("Mul", ["r", "two"], ["out"])], "then", [],
                               [helper.make_tensor_value_info("out", TensorProto.FLOAT, None)],
                               initializer=[numpy_helper.from_array(np.array(2.0, np.float32), "two")])
    else_g = helper.make_graph([helper.make_node("Neg", ["r"], ["out"])], "else", [],
                               [helper.make_tensor_value_info("out", TensorProto.FLOAT, None)])
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"], name="relu"),
        helper.make_node("ReduceMax", ["r"], ["m"], name="max", keepdims=0),
        helper.make_node("Greater", ["m", "half"], ["cond"], name="gt"),
        helper.make_node("If", ["cond"], ["y"], name="branch", then_branch=then_g, else_branch=else_g),
    ]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 6, 6])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 6, 6])],
                          initializer=[numpy_helper.from_array(_w(rng, 4, 3, 3, 3), "w"),
                                       numpy_helper.from_array(np.array(0.5, np.float32), "half")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    x = rng.standard_normal((1, 3, 6, 6)).astype(np.float32)
    pkg, out, quant, ref = compile_and_run(tmp_path, m, {"x": x})
    assert np.array_equal(out["y"], quant["y"])
    assert sqnr_db(ref["y"], out["y"]) > 20
    assert pkg.placement["subgraph_ops"] == 2 and pkg.placement["host_op_types"]["If"] == 1
