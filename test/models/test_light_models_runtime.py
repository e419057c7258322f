"""Light-zoo models with seeded random weights, compiled end to end: the AIPU runtime is bit-identical
to the quant interpreter frame by frame. ShuffleNet covers grouped and depthwise convolutions, adds,
average pooling and channel-shuffle host segments; SqueezeNet covers concatenation and max pooling."""

from __future__ import annotations

import numpy as np
import onnx
import pytest

from axc.config import CompilerConfig
from axc.lowering.compile_pipeline import make_context, pipeline_stages, run_stages, stages_until
from axc.lowering.model_utils import light_model_path, randomize_light_model
from axc.lowering.onnx_importer import import_onnx
from axc.lowering.package_writer import write_package
from axc.runtime.executor import run as run_package
from axc.runtime.interp_quant import run_quant_module
from axc.runtime.package import load_package


@pytest.mark.parametrize("name", ["shufflenet", "squeezenet"])
def test_runtime_bit_identical_to_quant_interpreter(name, tmp_path):
    path = tmp_path / f"{name}.onnx"
    onnx.save(randomize_light_model(light_model_path(name), seed=0), path)
    cfg = CompilerConfig()
    stages = pipeline_stages(cfg, None)
    module = import_onnx(path)
    ctx = make_context()
    quant_stages = stages_until(stages, "quant")
    run_stages(ctx, module, quant_stages)
    quant_module = module.clone()
    run_stages(ctx, module, stages[len(quant_stages):])
    pkg = load_package(write_package(tmp_path / f"{name}.pkg", module, cfg, source_model=path))
    spec = pkg.manifest["inputs"][0]
    out_name = pkg.manifest["outputs"][0]["name"]
    rng = np.random.default_rng(5)
    frames = rng.random((2, *spec["shape"][1:]), dtype=np.float32)
    got = run_package(pkg, {spec["name"]: frames})[out_name]
    for i in range(2):
        want = run_quant_module(quant_module, {spec["name"]: frames[i:i + 1]})[out_name]
        np.testing.assert_array_equal(got[i:i + 1], want)
