"""Every op in scope, in the form of each opset 7-17, vs onnxruntime: imported, then after each
graph pass."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from _onnx_helpers import assert_outputs_close, ort_run
from axc.dialects import onnx as ox
from axc.lowering.onnx_importer import import_onnx, main_func
from axc.lowering.pipelines import ONNX_GRAPH_PASSES, onnx_context, run_pipeline
from axc.runtime.interp_onnx import run_onnx_module

OPSETS = [7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17]


def all_ops_model(opset: int, seed: int = 0) -> onnx.ModelProto:
    """Conv, BatchNormalization, Relu, MaxPool, AveragePool, Sum, Concat, LRN, Unsqueeze, Mul, Add,
    Dropout, Identity, Transpose, GlobalAveragePool, Flatten, Gemm (transB=0, alpha, beta), MatMul,
    Reshape, Softmax (2-D and 3-D), ConstantOfShape and Constant, written for ``opset``."""
    rng = np.random.default_rng(seed)

    def init(name, *shape, positive=False):
        a = rng.uniform(0.5, 1.5, shape) if positive else rng.standard_normal(shape) * 0.5
        return numpy_helper.from_array(a.astype(np.float32), name)

    def ints(name, values):
        return numpy_helper.from_array(np.array(values, dtype=np.int64), name)

    inits = [
        init("w1", 8, 4, 3, 3), init("b1", 8),
        init("bn_s", 8, positive=True), init("bn_b", 8), init("bn_m", 8), init("bn_v", 8, positive=True),
        init("ch", 16), init("sh", 16, 1, 1),
        init("wg", 144, 10), init("cg", 10), init("mm", 10, 6),
        ints("shape16", [1, 16]), ints("shape3d", [1, 16, 9]), ints("cos_shape", [1, 6]),
    ]
    n = helper.make_node
    nodes = [
        n("Conv", ["x", "w1", "b1"], ["c1"], name="conv", pads=[1, 1, 1, 1], kernel_shape=[3, 3]),
        n("BatchNormalization", ["c1", "bn_s", "bn_b", "bn_m", "bn_v"], ["bn"], name="bn", epsilon=1e-3),
        n("Relu", ["bn"], ["r"], name="relu"),
        n("MaxPool", ["r"], ["mp"], name="mp", kernel_shape=[2, 2], strides=[2, 2]),
        n("AveragePool", ["r"], ["ap"], name="ap", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
          count_include_pad=1),
        n("Sum", ["mp", "ap", "mp"], ["s"], name="sum"),
        n("Concat", ["s", "mp"], ["cat"], name="cat", axis=1),
        n("LRN", ["cat"], ["lrn"], name="lrn", size=3, alpha=1e-2, beta=0.75, bias=1.0),
    ]
    if opset >= 13:
        inits.append(ints("axes12", [1, 2]))
        nodes.append(n("Unsqueeze", ["ch", "axes12"], ["u"], name="unsq"))
    else:
        nodes.append(n("Unsqueeze", ["ch"], ["u"], name="unsq", axes=[1, 2]))
    nodes += [
        n("Mul", ["lrn", "u"], ["mul"], name="mul"),
        n("Add", ["mul", "sh"], ["add"], name="add"),
    ]
    if opset >= 12:
        inits.append(numpy_helper.from_array(np.array(0.25, dtype=np.float32), "ratio"))
        nodes.append(n("Dropout", ["add", "ratio"], ["drop"], name="drop"))
    elif opset >= 10:
        nodes.append(n("Dropout", ["add"], ["drop"], name="drop", ratio=0.25))
    else:
        nodes.append(n("Dropout", ["add"], ["drop", "mask"], name="drop", ratio=0.25))
    nodes += [
        n("Identity", ["drop"], ["idn"], name="idn"),
        n("Transpose", ["idn"], ["t"], name="tr", perm=[0, 1, 3, 2]),
        n("GlobalAveragePool", ["t"], ["gap"], name="gap"),
        n("Flatten", ["t"], ["fl"], name="flat", axis=1),
        n("Gemm", ["fl", "wg", "cg"], ["g"], name="gemm", alpha=0.5, beta=2.0),
        n("MatMul", ["g", "mm"], ["m"], name="matmul"),
        n("Reshape", ["gap", "shape16"], ["rs"], name="rs"),
        n("Softmax", ["rs"], ["sm"], name="sm", axis=1),
        n("Reshape", ["t", "shape3d"], ["t3"], name="rs3"),
        n("Softmax", ["t3"], ["sm3"], name="sm3", axis=1),
        # ConstantOfShape exists from opset 9
        n("ConstantOfShape", ["cos_shape"], ["cos"], name="cos",
          value=helper.make_tensor("v", TensorProto.FLOAT, [1], [0.5]))
        if opset >= 9
        else n("Constant", [], ["cos"], name="cos", value=helper.make_tensor("v", TensorProto.FLOAT, [1, 6], [0.5] * 6)),
        n("Constant", [], ["k"], name="k", value=helper.make_tensor("k", TensorProto.FLOAT, [6], list(range(6)))),
        n("Add", ["m", "cos"], ["mc"], name="addcos"),
        n("Add", ["mc", "k"], ["out"], name="addk"),
    ]
    g = helper.make_graph(
        nodes,
        f"all_ops_{opset}",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 6, 6])],
        [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in ("sm", "sm3", "out", "gap")],
        inits,
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 7 if opset < 15 else 8
    return m


@pytest.mark.parametrize("opset", OPSETS)
def test_all_ops_across_opsets(opset: int) -> None:
    model = all_ops_model(opset)
    x = {"x": np.random.default_rng(opset).standard_normal((1, 4, 6, 6)).astype(np.float32)}
    ref = ort_run(model, x)
    module = import_onnx(model)
    softmax = [op for op in main_func(module).body.block.ops if isinstance(op, ox.SoftmaxOp)]
    assert all(op.int_attr("opset", 13) == min(opset, 13) for op in softmax)
    assert_outputs_close(run_onnx_module(module, x), ref, f"opset {opset}: imported")
    ctx = onnx_context()
    for spec in ONNX_GRAPH_PASSES.split(","):
        run_pipeline(module, spec, ctx)
        module.verify()
        assert_outputs_close(run_onnx_module(module, x), ref, f"opset {opset}: after {spec}")
    names = {op.name for op in main_func(module).body.block.ops}
    assert not names & {"onnx.BatchNormalization", "onnx.Sum", "onnx.Dropout", "onnx.Identity", "onnx.Gemm",
                        "onnx.MatMul", "onnx.Unsqueeze", "onnx.ConstantOfShape"}


def test_softmax_semantics_differ_between_opsets() -> None:
    """The 3-D Softmax (axis=1) normalises 16x9 jointly before opset 13, over 16 from opset 13."""
    x = {"x": np.random.default_rng(0).standard_normal((1, 4, 6, 6)).astype(np.float32)}
    old = run_onnx_module(import_onnx(all_ops_model(11)), x)["sm3"]
    new = run_onnx_module(import_onnx(all_ops_model(13)), x)["sm3"]
    np.testing.assert_allclose(old.sum(axis=(1, 2)), 1.0, rtol=1e-5)
    np.testing.assert_allclose(new.sum(axis=1), 1.0, rtol=1e-5)
