"""The committed digits CNN (models/digits/) and its export function.

All tests are fast: nothing here trains. The model and data files are produced by
models/digits/train_digits_cnn.py (see models/digits/README.md).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import numpy_helper

DIGITS_DIR = Path(__file__).resolve().parents[2] / "models" / "digits"
MODEL = DIGITS_DIR / "digits_cnn.onnx"
TEST_NPZ = DIGITS_DIR / "digits_test.npz"
CALIB_NPZ = DIGITS_DIR / "digits_calib.npz"
ALLOWED_OPS = {"Conv", "Relu", "MaxPool", "Flatten", "Gemm", "Softmax"}


def _load_script():
    spec = importlib.util.spec_from_file_location(
        "train_digits_cnn", DIGITS_DIR / "train_digits_cnn.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def script():
    return _load_script()


@pytest.fixture(scope="module")
def model():
    return onnx.load(str(MODEL))


@pytest.fixture(scope="module")
def session():
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    return ort.InferenceSession(str(MODEL), sess_options=opts, providers=["CPUExecutionProvider"])


@pytest.fixture(scope="module")
def test_data():
    with np.load(TEST_NPZ) as z:
        return z["image"], z["label"]


def _run_all(session, images):
    return np.concatenate([session.run(["probabilities"], {"image": images[i : i + 1]})[0]
                           for i in range(len(images))])


def test_committed_model_is_valid(model):
    onnx.checker.check_model(model, full_check=True)
    assert model.ir_version == 8
    assert [(o.domain, o.version) for o in model.opset_import] == [("", 17)]
    assert {n.op_type for n in model.graph.node} <= ALLOWED_OPS
    assert model.graph.node[-1].op_type == "Softmax"
    inits = {i.name for i in model.graph.initializer}
    assert len(inits) == 10 and all(i.data_type == onnx.TensorProto.FLOAT
                                    for i in model.graph.initializer)


def test_committed_model_io(session):
    (inp,) = session.get_inputs()
    (out,) = session.get_outputs()
    assert (inp.name, inp.shape, inp.type) == ("image", [1, 1, 8, 8], "tensor(float)")
    assert (out.name, out.shape, out.type) == ("probabilities", [1, 10], "tensor(float)")


def test_data_files():
    with np.load(TEST_NPZ) as z:
        assert set(z.files) == {"image", "label"}
        img, lab = z["image"], z["label"]
    assert img.dtype == np.float32 and img.shape == (360, 1, 8, 8)
    assert lab.dtype == np.int64 and lab.shape == (360,)
    assert img.min() >= 0.0 and img.max() <= 1.0
    assert set(np.unique(lab)) == set(range(10))
    with np.load(CALIB_NPZ) as z:
        assert set(z.files) == {"image"}
        cal = z["image"]
    assert cal.dtype == np.float32 and cal.shape == (64, 1, 8, 8)
    assert cal.min() >= 0.0 and cal.max() <= 1.0
    # calibration frames come from the training split, not the test split
    test_rows = {r.tobytes() for r in img}
    assert not any(r.tobytes() in test_rows for r in cal)


def test_committed_model_accuracy(session, test_data):
    images, labels = test_data
    probs = _run_all(session, images)
    assert probs.shape == (360, 10)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    acc = float((probs.argmax(axis=1) == labels).mean())
    assert acc >= 0.95, f"test accuracy {acc:.4f}"


def test_committed_model_matches_numpy_forward(script, model, session, test_data):
    """The script's numpy forward pass on the committed initializers reproduces onnxruntime."""
    params = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    images = test_data[0][:32]
    ref = script.softmax(script.forward(params, images).astype(np.float64))
    got = _run_all(session, images)
    assert np.abs(got - ref).max() < 1e-4


def test_build_onnx_model_from_given_weights(script):
    """build_onnx_model turns a parameter dict into a checker-valid model (no training)."""
    params = script.init_params(seed=123)
    m = script.build_onnx_model(params)
    onnx.checker.check_model(m, full_check=True)
    script.check_onnx_model(m)  # checker + strict shape inference + expected shapes
    assert [i.name for i in m.graph.input] == ["image"]
    assert [o.name for o in m.graph.output] == ["probabilities"]
    assert {n.op_type for n in m.graph.node} <= ALLOWED_OPS
    # the initializers are exactly the given weights
    for init in m.graph.initializer:
        np.testing.assert_array_equal(numpy_helper.to_array(init), params[init.name])
    # and onnxruntime agrees with the numpy forward pass on a few random frames
    x = np.random.default_rng(0).random((3, 1, 8, 8), dtype=np.float32)
    out = script.run_onnxruntime(script.build_onnx_model(params, expose_logits=True), x)
    np.testing.assert_allclose(out["logits"], script.forward(params, x), atol=1e-4)


def test_build_onnx_model_rejects_bad_shapes(script):
    params = script.init_params(seed=0)
    params["fc1.weight"] = params["fc1.weight"].T
    with pytest.raises(ValueError, match="fc1.weight"):
        script.build_onnx_model(params)


def test_backward_matches_numerical_gradient(script):
    assert script.gradient_check() < 1e-4
