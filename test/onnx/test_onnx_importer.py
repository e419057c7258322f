"""The ONNX importer: every light model, opset and input-shape handling, and every error."""

from __future__ import annotations

from collections import Counter

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper
from xdsl.dialects import func
from xdsl.dialects.builtin import ArrayAttr, IntegerAttr, StringAttr, TensorType, f32

from axc.dialects import onnx as ox
from axc.lowering.model_utils import light_model_path, light_model_paths
from axc.lowering.onnx_shape_folding import fold_graph
from axc.lowering.onnx_importer import (
    INPUT_NAMES_ATTR,
    OPSET_ATTR,
    OUTPUT_NAMES_ATTR,
    import_onnx,
    main_func,
    numpy_from_dense,
)
from axc.runtime.errors import ModelError

LIGHT = [p.stem.removeprefix("light_") for p in light_model_paths()]


def _names(a) -> list[str]:
    assert isinstance(a, ArrayAttr)
    return [s.data for s in a.data]


@pytest.mark.parametrize("name", LIGHT)
def test_light_model_imports(name: str) -> None:
    model = onnx.load(str(light_model_path(name)))
    module = import_onnx(light_model_path(name))
    module.verify()
    fn = main_func(module)
    inits = {t.name for t in model.graph.initializer}
    real_inputs = [i.name for i in model.graph.input if i.name not in inits]
    assert _names(fn.attributes[INPUT_NAMES_ATTR]) == real_inputs
    assert _names(fn.attributes[OUTPUT_NAMES_ATTR]) == [o.name for o in model.graph.output]
    assert module.attributes[OPSET_ATTR] == IntegerAttr(9, 64)
    assert len(fn.args) == len(real_inputs) == 1
    assert fn.args[0].type == TensorType(f32, [1, 3, 224, 224])
    assert fn.arg_attrs is not None and fn.arg_attrs.data[0].data["onnx_name"] == StringAttr(real_inputs[0])
    # one op per node, named after it; initializers are constants named after the initializer
    ops = [op for op in fn.body.block.ops if isinstance(op, ox.OnnxOp)]
    folded, _ = fold_graph(model, {real_inputs[0]: [1, 3, 224, 224]}, 9)
    nodes = Counter(n.op_type for n in folded.graph.node)
    got = Counter(op.onnx_op_type() for op in ops if not isinstance(op, ox.ConstantOp))
    assert got == nodes
    consts = [op for op in ops if isinstance(op, ox.ConstantOp)]
    assert {op.node_name for op in consts} <= inits | {t.name for t in folded.graph.initializer}
    node_names = {n.name or f"{n.op_type}_{i}" for i, n in enumerate(model.graph.node)}
    assert {op.node_name for op in ops if not isinstance(op, ox.ConstantOp)} <= node_names
    softmax = [op for op in ops if isinstance(op, ox.SoftmaxOp)]
    assert all(op.int_attr("opset", 0) == 9 for op in softmax)
    # every result has a static shape
    for op in ops:
        for r in op.results:
            assert isinstance(r.type, TensorType) and all(d > 0 for d in r.type.get_shape())


def test_initializer_bytes_are_kept(tmp_path) -> None:
    w = np.arange(24, dtype=np.float32).reshape(2, 3, 2, 2) / 7
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 4, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    g = helper.make_graph(
        [helper.make_node("Conv", ["x", "w"], ["y"], name="c", kernel_shape=[2, 2])],
        "g",
        [x],
        [y],
        [onnx.numpy_helper.from_array(w, "w")],
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    module = import_onnx(m)
    fn = main_func(module)
    const = next(op for op in fn.body.block.ops if isinstance(op, ox.ConstantOp))
    assert const.node_name == "w"
    np.testing.assert_array_equal(numpy_from_dense(const.value), w)
    conv = next(op for op in fn.body.block.ops if isinstance(op, ox.ConvOp))
    assert conv.Y.type == TensorType(const.value.get_element_type(), [1, 2, 3, 3])
    assert conv.ints_attr("kernel_shape") == [2, 2]


def _model(nodes, inputs, outputs, inits=(), opset=13, ir_version=None):
    g = helper.make_graph(nodes, "g", inputs, outputs, list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    if ir_version is not None:
        m.ir_version = ir_version
    return m


def _vi(name, shape, t=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, t, shape)


def test_unnamed_nodes_get_type_and_index() -> None:
    m = _model(
        [helper.make_node("Relu", ["x"], ["a"]), helper.make_node("Relu", ["a"], ["b"], name="named")],
        [_vi("x", [2])],
        [_vi("b", [2])],
    )
    fn = main_func(import_onnx(m))
    names = [op.node_name for op in fn.body.block.ops if isinstance(op, ox.OnnxOp)]
    assert names == ["Relu_0", "named"]


def test_dead_nodes_are_dropped_even_if_unsupported() -> None:
    m = _model(
        [helper.make_node("Relu", ["x"], ["y"], name="r"), helper.make_node("Resize", ["x"], ["z"], name="dead")],
        [_vi("x", [1, 2])],
        [_vi("y", [1, 2])],
    )
    fn = main_func(import_onnx(m))
    assert [op.name for op in fn.body.block.ops] == ["onnx.Relu", "func.return"]


def test_constant_node_and_opset13_unsqueeze() -> None:
    axes = helper.make_tensor("axes", TensorProto.INT64, [2], [1, 2])
    m = _model(
        [
            helper.make_node("Constant", [], ["axes"], name="k", value=axes),
            helper.make_node("Unsqueeze", ["x", "axes"], ["y"], name="u"),
        ],
        [_vi("x", [3])],
        [_vi("y", [3, 1, 1])],
    )
    fn = main_func(import_onnx(m))
    k, u = [op for op in fn.body.block.ops if isinstance(op, ox.OnnxOp)]
    assert isinstance(k, ox.ConstantOp) and list(numpy_from_dense(k.value)) == [1, 2]
    assert isinstance(u, ox.UnsqueezeOp) and u.axes_input is not None
    assert u.expanded.type.get_shape() == (3, 1, 1)


# ------------------------------------------------------------------------------ input shapes


def _symbolic_model():
    return _model(
        [helper.make_node("Relu", ["data"], ["y"], name="r")],
        [_vi("data", ["N", 3, "H", 4])],
        [_vi("y", ["N", 3, "H", 4])],
    )


def test_symbolic_dimension_needs_input_shape() -> None:
    with pytest.raises(ModelError) as e:
        import_onnx(_symbolic_model())
    assert str(e.value) == 'input "data" has symbolic dimension "N" (axis 0): pass --input-shape data=1x3x224x4'


def test_input_shape_substitutes_symbolic_dims() -> None:
    fn = main_func(import_onnx(_symbolic_model(), {"data": [2, 3, 5, 4]}))
    assert fn.args[0].type.get_shape() == (2, 3, 5, 4)
    assert fn.function_type.outputs.data[0].get_shape() == (2, 3, 5, 4)


@pytest.mark.parametrize(
    ("shapes", "message"),
    [
        ({"data": [1, 3, 5]}, "--input-shape data=1x3x5 has rank 3, the model input has rank 4"),
        ({"other": [1]}, "--input-shape names unknown input 'other'; the model inputs are: 'data'"),
    ],
)
def test_bad_input_shapes(shapes, message) -> None:
    with pytest.raises(ModelError) as e:
        import_onnx(_symbolic_model(), shapes)
    assert str(e.value) == message


def test_input_shape_overrides_a_fixed_dimension_with_a_warning() -> None:
    with pytest.warns(UserWarning, match="overrides the model's fixed dimension 3 of axis 1"):
        fn = main_func(import_onnx(_symbolic_model(), {"data": [1, 2, 5, 4]}))
    assert fn.args[0].type.get_shape() == (1, 2, 5, 4)


def test_zero_size_dimension_is_not_symbolic() -> None:
    m = _model([helper.make_node("Relu", ["data"], ["y"], name="r")], [_vi("data", [1, 0, 4])], [_vi("y", None)])
    fn = main_func(import_onnx(m))
    assert fn.args[0].type.get_shape() == (1, 0, 4)


def test_shape_arithmetic_folds_once_the_input_shape_is_fixed() -> None:
    m = _model(
        [
            helper.make_node("Shape", ["x"], ["s"], name="shape"),
            helper.make_node("Gather", ["s", "i"], ["n"], name="gather", axis=0),
            helper.make_node("Unsqueeze", ["n", "ax"], ["n1"], name="unsq"),
            helper.make_node("Concat", ["n1", "minus1"], ["new_shape"], name="cat", axis=0),
            helper.make_node("Reshape", ["x", "new_shape"], ["y"], name="reshape"),
        ],
        [_vi("x", ["N", 2, 3])],
        [_vi("y", None)],
        [helper.make_tensor("i", TensorProto.INT64, [], [0]), helper.make_tensor("ax", TensorProto.INT64, [1], [0]),
         helper.make_tensor("minus1", TensorProto.INT64, [1], [-1])],
    )
    m.opset_import[0].version = 13
    fn = main_func(import_onnx(m, {"x": [4, 2, 3]}))
    kinds = [op.onnx_op_type() for op in fn.body.block.ops if isinstance(op, ox.OnnxOp)]
    assert kinds == ["Constant", "Reshape"]
    assert fn.function_type.outputs.data[0].get_shape() == (4, 6)


# ------------------------------------------------------------------------------ errors


def test_missing_file(tmp_path) -> None:
    with pytest.raises(ModelError, match=r"nope\.onnx: no such file"):
        import_onnx(tmp_path / "nope.onnx")


def test_garbage_file(tmp_path) -> None:
    p = tmp_path / "garbage.onnx"
    p.write_bytes(bytes(range(256)) * 10)
    with pytest.raises(ModelError, match=r"garbage\.onnx: not a valid ONNX model"):
        import_onnx(p)


def test_text_file(tmp_path) -> None:
    p = tmp_path / "text.onnx"
    p.write_text("hello, I am not a model\n")
    with pytest.raises(ModelError, match=r"text\.onnx: not a valid ONNX model"):
        import_onnx(p)


@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.9, 0.999])
def test_truncated_file(tmp_path, fraction) -> None:
    data = light_model_path("squeezenet").read_bytes()
    p = tmp_path / "cut.onnx"
    p.write_bytes(data[: int(len(data) * fraction)])
    with pytest.raises(ModelError, match=r"cut\.onnx: not a valid ONNX model"):
        import_onnx(p)


def test_unsupported_ops_all_listed() -> None:
    """One line per op type, most frequent first, with the count and the first three names; it
    comes before the input-shape error (the input here is symbolic and no shape is given)."""
    m = _model(
        [
            helper.make_node("Up", ["x"], ["a"], name="up1", domain="com.example"),
            helper.make_node("Gather", ["a", "i"], ["b"], name="g0", domain="com.example"),
            helper.make_node("Up", ["b"], ["c"], name="up2", domain="com.example"),
            helper.make_node("Up", ["c"], ["d"], name="up3", domain="com.example"),
            helper.make_node("Up", ["d"], ["e"], name="up4", domain="com.example"),
            helper.make_node("Relu", ["e"], ["y"], name="ok"),
        ],
        [_vi("x", ["N", 2]), _vi("i", [1], TensorProto.INT64)],
        [_vi("y", None)],
    )
    m.opset_import.append(helper.make_opsetid("com.example", 1))
    with pytest.raises(ModelError) as e:
        import_onnx(m)
    assert str(e.value).splitlines() == [
        "unsupported ONNX ops:",
        "  com.example.Up: 4 nodes (up1, up2, up3, ...)",
        "  com.example.Gather: 1 node (g0)",
    ]


def test_op_newer_than_the_model_opset() -> None:
    m = _model([helper.make_node("HardSwish", ["x"], ["y"], name="hs")], [_vi("x", [1])], [_vi("y", [1])])
    m.opset_import[0].version = 13
    with pytest.raises(ModelError, match=r"^HardSwish exists from opset 14, the model imports opset 13 \(nodes: hs\)$"):
        import_onnx(m)


def test_custom_domain_is_unsupported() -> None:
    m = _model([helper.make_node("FusedConv", ["x"], ["y"], name="f", domain="com.microsoft")], [_vi("x", [1])], [_vi("y", [1])])
    m.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    with pytest.raises(ModelError, match=r"^unsupported ONNX ops:\n  com\.microsoft\.FusedConv: 1 node \(f\)$"):
        import_onnx(m)


def test_output_not_produced() -> None:
    m = _model([helper.make_node("Relu", ["x"], ["y"], name="r")], [_vi("x", [1])], [_vi("z", [1])])
    with pytest.raises(ModelError, match='graph output "z" is not produced by any node, input or initializer'):
        import_onnx(m)


def test_undefined_node_input() -> None:
    m = _model([helper.make_node("Add", ["x", "ghost"], ["y"], name="a")], [_vi("x", [1])], [_vi("y", [1])])
    with pytest.raises(ModelError, match='node "a" \\(Add\\) uses "ghost", which is not a graph input'):
        import_onnx(m)


def test_dropout_mask_output_is_an_error() -> None:
    m = _model(
        [helper.make_node("Dropout", ["x"], ["y", "mask"], name="d")],
        [_vi("x", [2])],
        [_vi("y", [2]), _vi("mask", [2], TensorProto.BOOL)],
    )
    with pytest.raises(ModelError, match='node "d" \\(Dropout\\): output "mask" \\(output 1\\) is not supported'):
        import_onnx(m)


def test_old_opset_is_an_error() -> None:
    m = _model([helper.make_node("Relu", ["x"], ["y"])], [_vi("x", [1])], [_vi("y", [1])], opset=6)
    with pytest.raises(ModelError, match="opset 6 is not supported"):
        import_onnx(m)


def test_shape_inference_failure_is_a_model_error() -> None:
    m = _model([helper.make_node("Add", ["x", "z"], ["y"], name="a")], [_vi("x", [2]), _vi("z", [3])], [_vi("y", None)])
    with pytest.raises(ModelError, match="ONNX shape inference failed"):
        import_onnx(m)


def test_import_is_fast_on_resnet50_weights() -> None:
    """25M random weights: import goes through raw bytes (no Python lists)."""
    import time

    from axc.lowering.model_utils import randomize_light_model

    m = randomize_light_model(light_model_path("resnet50"), 0)
    t = time.perf_counter()
    module = import_onnx(m)
    assert time.perf_counter() - t < 5.0
    fn = main_func(module)
    n = sum(
        int(np.prod(op.value.get_shape()))
        for op in fn.body.block.ops
        if isinstance(op, ox.ConstantOp) and op.value is not None
    )
    assert n > 25_000_000
    assert isinstance(fn, func.FuncOp)
