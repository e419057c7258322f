"""Interpreter vs onnxruntime on the light model zoo (seeded random weights), and after each graph
pass: every pass is tested by running the IR before and after it."""

from __future__ import annotations

from collections import Counter

import pytest
from xdsl.context import Context

from _onnx_helpers import FAST_MODELS, SLOW, SLOW_MODELS, assert_outputs_close, light_model_with_logits, ort_run
from axc.dialects import onnx as ox
from axc.lowering.model_utils import random_inputs
from axc.lowering.onnx_importer import import_onnx, main_func
from axc.lowering.pipelines import ONNX_GRAPH_PASSES, onnx_context, run_pipeline
from axc.passes import ALL_PASSES
from axc.runtime.interp_onnx import run_onnx_module

MODELS = [*FAST_MODELS, *(pytest.param(m, marks=pytest.mark.skipif(not SLOW, reason="AXC_SLOW_TESTS=1")) for m in SLOW_MODELS)]


@pytest.mark.parametrize("name", MODELS)
def test_graph_passes_preserve_numerics(name: str) -> None:
    model = light_model_with_logits(name)
    inputs = random_inputs(model, seed=1)
    ref = ort_run(model, inputs)
    module = import_onnx(model)
    assert_outputs_close(run_onnx_module(module, inputs), ref, f"{name}: imported")
    ctx: Context = onnx_context()
    for spec in ONNX_GRAPH_PASSES.split(","):
        run_pipeline(module, spec, ctx)
        module.verify()
        assert_outputs_close(run_onnx_module(module, inputs), ref, f"{name}: after {spec}")

    # what the passes guarantee, on every light model
    ops = Counter(op.name for op in main_func(module).body.block.ops)
    for gone in ("onnx.BatchNormalization", "onnx.Sum", "onnx.Dropout", "onnx.Identity", "onnx.Gemm",
                 "onnx.ConstantOfShape", "onnx.Unsqueeze", "onnx.Mul"):
        assert ops[gone] == 0, f"{name}: {gone} left after the graph passes"
    if name in ("densenet121", "inception_v2"):  # BN -> Mul -> Add all folded into Convs
        assert ops["onnx.Add"] == 0
    if name in ("bvlc_alexnet", "resnet50", "inception_v1", "inception_v2", "shufflenet"):
        assert ops["onnx.Reshape"] == (33 if name == "shufflenet" else 1)  # only the one before Softmax


def test_pipeline_names_are_registered() -> None:
    for spec in ONNX_GRAPH_PASSES.split(","):
        assert spec in ALL_PASSES
        cls = ALL_PASSES[spec]()
        assert cls.name == spec
        assert "guarantees" in (cls.__doc__ or "").lower()


def test_stacked_frames_run_one_by_one() -> None:
    import numpy as np

    model = light_model_with_logits("squeezenet")
    module = import_onnx(model)
    a, b = random_inputs(model, 1), random_inputs(model, 2)
    name = next(iter(a))
    both = run_onnx_module(module, {name: np.concatenate([a[name], b[name]])})
    one, two = run_onnx_module(module, a), run_onnx_module(module, b)
    for k in both:
        np.testing.assert_array_equal(both[k], np.concatenate([one[k], two[k]]))


def test_observer_sees_every_op_result() -> None:
    model = light_model_with_logits("squeezenet")
    module = import_onnx(model)
    seen: dict[str, tuple] = {}

    def observe(op, results):
        seen[op.node_name] = tuple(r.shape for r in results)

    run_onnx_module(module, random_inputs(model), observe)
    ops = [op for op in main_func(module).body.block.ops if isinstance(op, ox.OnnxOp)]
    assert set(seen) == {op.node_name for op in ops}
    for op in ops:
        assert seen[op.node_name] == tuple(r.type.get_shape() for r in op.results)
