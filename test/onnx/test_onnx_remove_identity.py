"""onnx-remove-identity and the onnx interpreter agree on Dropout: inference-mode Dropout is the
identity for both (the IR runs the same before and after the pass); training-mode Dropout is random
and both refuse it with one line naming the node."""

from __future__ import annotations

import numpy as np
import pytest
from xdsl.parser import Parser
from xdsl.utils.exceptions import PassFailedException

from axc.lowering.compile_pipeline import make_context
from axc.passes.onnx_remove_identity import OnnxRemoveIdentityPass
from axc.runtime.errors import ModelError
from axc.runtime.interp_onnx import run_onnx_module

RATIO = '%ratio = onnx.Constant {value = dense<0.3> : tensor<f32>} : () -> tensor<f32>'


def _module(body: str, ret: str = "%d"):
    text = (
        'func.func @main(%x: tensor<1x10xf32>) -> tensor<1x10xf32> '
        'attributes {axc.input_names = ["x"], axc.output_names = ["y"]} {\n'
        f"  {RATIO}\n  {body}\n  func.return {ret} : tensor<1x10xf32>\n}}"
    )
    m = Parser(make_context(), text).parse_module()
    m.verify()
    return m


def _mode(value: str) -> str:
    return (f"%t = onnx.Constant {{value = dense<{value}> : tensor<i1>}} : () -> tensor<i1>\n"
            '  %d = onnx.Dropout %x, %ratio, %t {onnx_name = "drop"} : '
            "(tensor<1x10xf32>, tensor<f32>, tensor<i1>) -> tensor<1x10xf32>")


INFERENCE = [
    _mode("false"),
    '%d = onnx.Dropout %x, %ratio {onnx_name = "drop"} : (tensor<1x10xf32>, tensor<f32>) -> tensor<1x10xf32>',
    '%d = onnx.Dropout %x {onnx_name = "drop", is_test = 1 : i64} : (tensor<1x10xf32>) -> tensor<1x10xf32>',
]
TRAINING = [
    _mode("true"),
    '%d = onnx.Dropout %x {onnx_name = "drop", is_test = 0 : i64} : (tensor<1x10xf32>) -> tensor<1x10xf32>',
]


@pytest.mark.parametrize("body", INFERENCE)
def test_inference_dropout_is_removed_and_runs_the_same(body: str) -> None:
    m = _module(body)
    x = np.random.default_rng(0).standard_normal((1, 10)).astype(np.float32)
    before = run_onnx_module(m, {"x": x})["y"]
    OnnxRemoveIdentityPass().apply(make_context(), m)
    m.verify()
    assert not any(op.name == "onnx.Dropout" for op in m.walk())
    np.testing.assert_array_equal(run_onnx_module(m, {"x": x})["y"], before)
    np.testing.assert_array_equal(before, x)


@pytest.mark.parametrize("body", TRAINING)
def test_training_dropout_is_refused_by_the_pass_and_the_interpreter(body: str) -> None:
    x = np.zeros((1, 10), np.float32)
    with pytest.raises(ModelError, match=r"^'onnx.Dropout' node \"drop\": .*training"):
        run_onnx_module(_module(body), {"x": x})
    with pytest.raises(PassFailedException, match=r"^'onnx.Dropout' node \"drop\": training-mode Dropout"):
        OnnxRemoveIdentityPass().apply(make_context(), _module(body))
