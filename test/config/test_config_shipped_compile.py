"""The shipped configurations are pre-tested: each compiles the model it is for (light models with
seeded random weights) and the package runs one frame bit-identically to the quant interpreter.

ZFNet-512 and VGG-19 (60 M and 140 M weights) run only with AXC_SLOW_TESTS=1, like their other
model-level tests."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import onnx
import pytest
from axc.config import load_config, shipped_configs
from axc.lowering.model_compiler import compile_model
from axc.lowering.model_utils import light_model_path, randomize_light_model
from axc.runtime.executor import run as run_package
from axc.runtime.interp_quant import run_quant_module
from axc.runtime.package import load_package

SLOW = os.environ.get("AXC_SLOW_TESTS") == "1"
DIGITS = Path(__file__).resolve().parents[2] / "models" / "digits"
SHIPPED = {path.name: path for path in shipped_configs()}
#: shipped configuration -> the model it is for (None: the digits CNN)
MODEL_OF = {
    "alexnet.toml": "bvlc_alexnet", "densenet121.toml": "densenet121", "inception_v1.toml": "inception_v1",
    "inception_v2.toml": "inception_v2", "resnet50.toml": "resnet50", "shufflenet.toml": "shufflenet",
    "squeezenet.toml": "squeezenet", "vgg19.toml": "vgg19", "zfnet512.toml": "zfnet512",
    "digits_cnn.toml": None, "batch1-4core.toml": None, "batch4.toml": None,
}
CASES = [pytest.param(name, marks=pytest.mark.skipif(not SLOW, reason="AXC_SLOW_TESTS=1"))
         if MODEL_OF[name] in ("vgg19", "zfnet512") else name for name in sorted(MODEL_OF)]


def test_every_shipped_configuration_has_a_model() -> None:
    assert set(MODEL_OF) == set(SHIPPED)


@pytest.mark.parametrize("name", CASES)
def test_shipped_configuration_compiles_and_runs_bit_exact(name: str, tmp_path: Path) -> None:
    cfg = load_config(SHIPPED[name]).config
    model = MODEL_OF[name]
    if model is None:
        path, calib = DIGITS / "digits_cnn.onnx", str(DIGITS / "digits_calib.npz")
    else:
        path, calib = tmp_path / f"{model}.onnx", None
        onnx.save(randomize_light_model(light_model_path(model), seed=0), path)
    compiled = compile_model(path, tmp_path / "model.pkg", cfg, calib)
    pkg = load_package(compiled.package)
    spec, out = pkg.manifest["inputs"][0], pkg.manifest["outputs"][0]["name"]
    x = np.random.default_rng(3).random((1, *spec["shape"][1:]), dtype=np.float32)
    got = run_package(pkg, {spec["name"]: x})[out]
    want = run_quant_module(compiled.quant_module, {spec["name"]: x})[out]
    np.testing.assert_array_equal(got, want)
