"""convert-onnx-to-quant on hand-written calibrated onnx IR: structure, constants, errors, round trip."""

from __future__ import annotations

import numpy as np
import pytest
from _quant_helpers import context, convert, parse
from xdsl.dialects import func
from xdsl.dialects.builtin import UnrealizedConversionCastOp
from xdsl.printer import Printer
from xdsl.utils.exceptions import PassFailedException

from axc.dialects import onnx, quant
from axc.lowering.convert_onnx_to_quant import ConvertOnnxToQuantPass, runs_on_aipu
from axc.runtime.interp_onnx import run_onnx_module
from axc.runtime.interp_quant import run_quant_module
from axc.runtime.quantization import activation_qparams

GRAPH = """
func.func @main(%x: tensor<1x2x6x6xf32> {calibration = array<f32: -1.0, 1.0>}) -> (tensor<1x3xf32>, tensor<1x8x6x3xf32>)
    attributes {axc.input_names = ["image"], axc.output_names = ["prob", "features"]} {
  %w = onnx.Constant {value = dense<[[[[0.5, -0.25, 0.1], [0.2, 0.3, -0.4], [0.0, 0.1, 0.2]], [[0.6, 0.1, -0.3], [0.2, -0.2, 0.1], [0.3, 0.1, 0.0]]],
                                     [[[-0.5, 0.25, 0.1], [0.2, 0.1, 0.4], [0.05, 0.1, 0.2]], [[0.1, 0.1, 0.3], [0.2, 0.2, 0.1], [-0.3, 0.1, 0.0]]],
                                     [[[0.05, 0.05, 0.01], [0.02, 0.03, 0.04], [0.0, 0.01, 0.02]], [[0.06, 0.01, 0.03], [0.02, 0.02, 0.01], [0.03, 0.01, 0.0]]],
                                     [[[0.5, 0.5, 0.5], [0.5, 0.5, 0.5], [0.5, 0.5, 0.5]], [[-0.5, -0.5, -0.5], [-0.5, -0.5, -0.5], [-0.5, -0.5, -0.5]]]]> : tensor<4x2x3x3xf32>} : () -> tensor<4x2x3x3xf32>
  %b = onnx.Constant {value = dense<[0.1, -0.2, 0.05, 0.0]> : tensor<4xf32>} : () -> tensor<4xf32>
  %c = onnx.Conv %x, %w, %b {onnx_name = "conv", pads = array<i64: 1, 1, 1, 1>, calibration = array<f32: -2.0, 2.0>} : (tensor<1x2x6x6xf32>, tensor<4x2x3x3xf32>, tensor<4xf32>) -> tensor<1x4x6x6xf32>
  %r = onnx.Relu %c {onnx_name = "relu", calibration = array<f32: 0.0, 2.0>} : (tensor<1x4x6x6xf32>) -> tensor<1x4x6x6xf32>
  %m = onnx.MaxPool %r {onnx_name = "pool", kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>, calibration = array<f32: 0.0, 2.0>} : (tensor<1x4x6x6xf32>) -> tensor<1x4x3x3xf32>
  %a = onnx.AveragePool %x {onnx_name = "avg", kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>, calibration = array<f32: -1.0, 1.0>} : (tensor<1x2x6x6xf32>) -> tensor<1x2x3x3xf32>
  %y = onnx.MaxPool %x {onnx_name = "xpool", kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>, calibration = array<f32: -1.0, 1.0>} : (tensor<1x2x6x6xf32>) -> tensor<1x2x3x3xf32>
  %l = onnx.LRN %y {onnx_name = "lrn", size = 3 : i64, calibration = array<f32: -1.0, 1.0>} : (tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32>
  %a2 = onnx.Add %a, %l {onnx_name = "add", calibration = array<f32: -2.0, 2.0>} : (tensor<1x2x3x3xf32>, tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32>
  %k = onnx.Concat %m, %a2, %m {onnx_name = "cat", axis = 1 : i64, calibration = array<f32: -2.0, 2.0>} : (tensor<1x4x3x3xf32>, tensor<1x2x3x3xf32>, tensor<1x4x3x3xf32>) -> tensor<1x10x3x3xf32>
  %k7 = onnx.Concat %m, %l, %l {onnx_name = "cat7", axis = 1 : i64, calibration = array<f32: -1.0, 2.0>} : (tensor<1x4x3x3xf32>, tensor<1x2x3x3xf32>, tensor<1x2x3x3xf32>) -> tensor<1x8x3x3xf32>
  %g = onnx.GlobalAveragePool %k {onnx_name = "gap", calibration = array<f32: -1.0, 1.0>} : (tensor<1x10x3x3xf32>) -> tensor<1x10x1x1xf32>
  %w2 = onnx.Constant {value = dense<0.1> : tensor<3x10x1x1xf32>} : () -> tensor<3x10x1x1xf32>
  %fc = onnx.Conv %g, %w2 {onnx_name = "fc", calibration = array<f32: -1.0, 1.0>} : (tensor<1x10x1x1xf32>, tensor<3x10x1x1xf32>) -> tensor<1x3x1x1xf32>
  %f = onnx.Flatten %fc {onnx_name = "flat", axis = 1 : i64, calibration = array<f32: -1.0, 1.0>} : (tensor<1x3x1x1xf32>) -> tensor<1x3xf32>
  %s = onnx.Softmax %f {onnx_name = "softmax", axis = 1 : i64, calibration = array<f32: 0.0, 1.0>} : (tensor<1x3xf32>) -> tensor<1x3xf32>
  %t = onnx.Transpose %k7 {onnx_name = "slice_like", perm = array<i64: 0, 1, 2, 3>, calibration = array<f32: -1.0, 2.0>} : (tensor<1x8x3x3xf32>) -> tensor<1x8x3x3xf32>
  %tc = onnx.Concat %t, %k7 {onnx_name = "tcat", axis = 2 : i64, calibration = array<f32: -1.0, 2.0>} : (tensor<1x8x3x3xf32>, tensor<1x8x3x3xf32>) -> tensor<1x8x6x3xf32>
  func.return %s, %tc : tensor<1x3xf32>, tensor<1x8x6x3xf32>
}
"""


def _ops(module, cls):
    return [op for op in module.walk() if isinstance(op, cls)]


def test_structure_of_converted_graph() -> None:
    q = convert(parse(GRAPH))
    assert not _ops(q, UnrealizedConversionCastOp)
    left = [op for op in q.walk() if isinstance(op, onnx.OnnxOp)]
    # host ops only, all on f32
    assert sorted(op.name for op in left) == ["onnx.Concat", "onnx.LRN", "onnx.Softmax", "onnx.Transpose"]
    assert not any(runs_on_aipu(op) for op in left)
    # the conv absorbed its relu: clamp lo = result zero point, qparams from the relu's range
    conv = next(op for op in _ops(q, quant.Conv2dOp) if op.attributes["onnx_name"].data == "conv")
    s, zp = activation_qparams(0.0, 2.0)
    assert quant.uniform_of(conv.output) == quant.UniformType(s, zp)
    assert conv.clamp_bounds() == (zp, 127)
    assert conv.conv_params()["pads"] == (1, 1, 1, 1)
    # channel concats: the result range is the union of the inputs' ranges; a host (f32) input is
    # quantized straight to the result's qparams, the others are requantized when they differ
    cats = {op.attributes["onnx_name"].data: op for op in _ops(q, quant.ConcatOp)}
    s7, zp7 = activation_qparams(-1.0, 2.0)  # LRN [-1, 1] u relu path [0, 2]
    assert quant.uniform_of(cats["cat7"].output) == quant.UniformType(s7, zp7)
    assert isinstance(cats["cat7"].inputs[1].owner, quant.QuantizeOp)
    assert isinstance(cats["cat7"].inputs[0].owner, quant.RequantizeOp)
    # the same input twice is requantized once
    assert cats["cat"].inputs[0] is cats["cat"].inputs[2]
    for cat in cats.values():
        for v in cat.inputs:
            assert quant.uniform_of(v) == quant.uniform_of(cat.output)
    # two quantize ops for the graph input? no: one, shared by all users
    qs = [op for op in _ops(q, quant.QuantizeOp) if op.input == q.body.block.first_op.body.block.args[0]]
    assert len(qs) == 1
    # the host LRN is fed through one dequantize and read by an AIPU op through one quantize
    lrn = _ops(q, onnx.LRNOp)[0]
    assert isinstance(lrn.X.owner, quant.DequantizeOp)
    assert len([u for u in lrn.Y.uses if isinstance(u.operation, quant.QuantizeOp)]) >= 1
    # graph signature unchanged
    fn = _ops(q, func.FuncOp)[0]
    assert [str(t) for t in fn.function_type.outputs.data] == ["tensor<1x3xf32>", "tensor<1x8x6x3xf32>"]


def test_non_channel_concat_is_a_host_op() -> None:
    q = convert(parse(GRAPH))
    tcat = next(op for op in _ops(q, onnx.ConcatOp))
    assert tcat.attributes["onnx_name"].data == "tcat"
    # the two host ops (Transpose, Concat) in a row share the boundary: Concat reads Transpose's f32;
    # its other input is the dequantized cat7, shared with the Transpose
    assert isinstance(tcat.inputs[0].owner, onnx.TransposeOp)
    assert isinstance(tcat.inputs[1].owner, quant.DequantizeOp)
    assert tcat.inputs[1] is tcat.inputs[0].owner.X
    assert not any(isinstance(u.operation, quant.QuantizeOp) for u in tcat.inputs[0].uses)


def test_weights_and_bias_follow_the_numerics_contract() -> None:
    q = convert(parse(GRAPH))
    src = parse(GRAPH)
    conv_f = next(op for op in _ops(src, onnx.ConvOp) if op.attributes["onnx_name"].data == "conv")
    w_f = np.frombuffer(conv_f.W.owner.value.data.data, np.float32).reshape(4, 2, 3, 3)
    b_f = np.frombuffer(conv_f.B.owner.value.data.data, np.float32)
    conv = next(op for op in _ops(q, quant.Conv2dOp) if op.attributes["onnx_name"].data == "conv")
    wq = conv.weight.owner.array()
    bq = conv.bias.owner.array()
    s_w = conv.weight.type.element_type.scale_array()
    s_in = quant.uniform_of(conv.input).s
    np.testing.assert_allclose(s_w, np.abs(w_f).reshape(4, -1).max(axis=1) / 127, rtol=1e-6)
    assert wq.dtype == np.int8 and np.abs(wq).max() == 127 and wq.min() >= -127
    assert np.all(np.abs(wq * s_w[:, None, None, None] - w_f) <= s_w[:, None, None, None] * (0.5 + 1e-5))
    assert bq.dtype == np.int32
    np.testing.assert_array_equal(bq, np.round(b_f.astype(np.float64) / (np.float64(s_in) * s_w)))


def test_converted_graph_runs_close_to_float() -> None:
    m = parse(GRAPH)
    q = convert(m)
    x = np.random.default_rng(1).uniform(-1, 1, (4, 2, 6, 6)).astype(np.float32)
    ref = run_onnx_module(m, {"image": x})
    out = run_quant_module(q, {"image": x})
    assert set(out) == {"prob", "features"}
    for k in ref:
        assert out[k].dtype == np.float32 and out[k].shape == ref[k].shape
    np.testing.assert_allclose(out["prob"], ref["prob"], atol=0.02)
    np.testing.assert_allclose(out["features"], ref["features"], atol=0.05)


def test_round_trip_print_parse() -> None:
    q = convert(parse(GRAPH))

    def text(module, generic: bool = False) -> str:
        import io

        buf = io.StringIO()
        Printer(stream=buf, print_generic_format=generic).print_op(module)
        return buf.getvalue()

    custom = text(q)
    assert "quant.conv2d" in custom and "!quant.uniform_per_axis" in custom
    again = parse(custom)
    again.verify()
    assert text(again) == custom
    assert text(parse(text(q, generic=True))) == custom
    # the parsed module computes the same integers
    x = np.random.default_rng(2).uniform(-1, 1, (1, 2, 6, 6)).astype(np.float32)
    a, b = run_quant_module(q, {"image": x}), run_quant_module(again, {"image": x})
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])


MISSING = """
func.func @main(%x: tensor<1x2x4x4xf32> {calibration = array<f32: 0.0, 1.0>}) -> tensor<1x2x2x2xf32>
    attributes {axc.input_names = ["image"], axc.output_names = ["out"]} {
  %m = onnx.MaxPool %x {onnx_name = "pool", kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>} : (tensor<1x2x4x4xf32>) -> tensor<1x2x2x2xf32>
  %s = onnx.Softmax %m {onnx_name = "sm", axis = 1 : i64} : (tensor<1x2x2x2xf32>) -> tensor<1x2x2x2xf32>
  %a = onnx.Add %s, %s {onnx_name = "sum_without_range"} : (tensor<1x2x2x2xf32>, tensor<1x2x2x2xf32>) -> tensor<1x2x2x2xf32>
  func.return %a : tensor<1x2x2x2xf32>
}
"""


def test_missing_calibration_names_the_op() -> None:
    # the pool keeps its input's qparams and the softmax output is only read by the add after it
    # is quantized with the softmax's range: that is the first range the pass needs
    with pytest.raises(PassFailedException, match=r"'onnx.Softmax' node \"sm\" has no 'calibration' range"):
        ConvertOnnxToQuantPass().apply(context(), parse(MISSING))
    text = MISSING.replace('{onnx_name = "sm", axis = 1 : i64}', '{onnx_name = "sm", axis = 1 : i64, calibration = array<f32: 0.0, 1.0>}')
    with pytest.raises(PassFailedException, match=r"'onnx.Add' node \"sum_without_range\" has no 'calibration' range"):
        ConvertOnnxToQuantPass().apply(context(), parse(text))


def test_missing_input_calibration_names_the_input() -> None:
    text = MISSING.replace(" {calibration = array<f32: 0.0, 1.0>}", "", 1)
    with pytest.raises(PassFailedException, match=r"graph input \"image\" has no 'calibration' range"):
        ConvertOnnxToQuantPass().apply(context(), parse(text))


def test_bad_calibration_range_is_reported() -> None:
    text = MISSING.replace("array<f32: 0.0, 1.0>", "array<f32: 2.0, 1.0>", 1)
    with pytest.raises(PassFailedException, match=r"graph input \"image\".*bad calibration range"):
        ConvertOnnxToQuantPass().apply(context(), parse(text))
