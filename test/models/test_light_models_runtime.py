"""Light-zoo models with seeded random weights, compiled end to end: the AIPU runtime is bit-identical
to the quant interpreter frame by frame. ShuffleNet covers grouped and depthwise convolutions, adds,
average pooling and channel-shuffle host segments; SqueezeNet covers concatenation and max pooling."""

from __future__ import annotations

import numpy as np
import onnx
import pytest

from axc.lowering.model_compiler import compile_model
from axc.lowering.model_utils import light_model_path, randomize_light_model
from axc.runtime.executor import run as run_package
from axc.runtime.interp_quant import run_quant_module
from axc.runtime.package import load_package


@pytest.mark.parametrize("name", ["shufflenet", "squeezenet"])
def test_runtime_bit_identical_to_quant_interpreter(name, tmp_path):
    path = tmp_path / f"{name}.onnx"
    onnx.save(randomize_light_model(light_model_path(name), seed=0), path)
    compiled = compile_model(path, tmp_path / f"{name}.pkg")
    pkg, quant_module = load_package(compiled.package), compiled.quant_module
    spec = pkg.manifest["inputs"][0]
    out_name = pkg.manifest["outputs"][0]["name"]
    rng = np.random.default_rng(5)
    frames = rng.random((2, *spec["shape"][1:]), dtype=np.float32)
    got = run_package(pkg, {spec["name"]: frames})[out_name]
    for i in range(2):
        want = run_quant_module(quant_module, {spec["name"]: frames[i:i + 1]})[out_name]
        np.testing.assert_array_equal(got[i:i + 1], want)
