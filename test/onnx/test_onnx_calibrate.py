"""onnx-calibrate: ranges written into the IR, both schemes, calibration data errors, timing."""

from __future__ import annotations

import time

import numpy as np
import pytest
from xdsl.dialects.builtin import DenseArrayBase, TensorType, f32
from xdsl.utils.exceptions import PassFailedException

from _onnx_helpers import light_model_with_logits
from axc.dialects import onnx as ox
from axc.lowering.model_utils import light_model_path, randomize_light_model
from axc.lowering.onnx_importer import import_onnx, main_func
from axc.lowering.pipelines import ONNX_GRAPH_PASSES, run_pipeline
from axc.passes.onnx_calibrate import CALIBRATION_ATTR, HistogramObserver, best_histogram_range
from axc.runtime.errors import InputDataError
from axc.runtime.interp_onnx import run_onnx_module


def _range(attrs) -> tuple[float, float]:
    a = attrs[CALIBRATION_ATTR]
    assert isinstance(a, DenseArrayBase) and a.elt_type == f32
    lo, hi = a.get_values()
    assert lo <= hi
    return lo, hi


def _prepared(name: str = "squeezenet"):
    model = light_model_with_logits(name)
    module = import_onnx(model)
    run_pipeline(module, ONNX_GRAPH_PASSES)
    return model, module


def _frames(model, n: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"data_0": rng.standard_normal((n, 3, 224, 224)).astype(np.float32)}


def test_min_max_is_observed_range(tmp_path) -> None:
    model, module = _prepared()
    frames = _frames(model, 2)
    np.savez(tmp_path / "calib.npz", **frames)
    expected: dict[str, list[float]] = {}

    def observe(op, results):
        r = results[0]
        lo, hi = expected.get(op.node_name, [np.inf, -np.inf])
        expected[op.node_name] = [min(lo, float(r.min())), max(hi, float(r.max()))]

    run_onnx_module(module, frames, observe)  # both frames, stacked on axis 0
    run_pipeline(module, f'onnx-calibrate{{calibration-data="{tmp_path / "calib.npz"}"}}')
    fn = main_func(module)
    lo, hi = _range(fn.arg_attrs.data[0].data)
    assert fn.arg_attrs.data[0].data["onnx_name"].data == "data_0"
    assert lo <= float(frames["data_0"].min()) and hi >= float(frames["data_0"].max())
    np.testing.assert_allclose([lo, hi], [frames["data_0"].min(), frames["data_0"].max()], rtol=1e-7)
    n = 0
    for op in fn.body.block.ops:
        if isinstance(op, ox.ConstantOp):
            assert CALIBRATION_ATTR not in op.attributes
        elif isinstance(op, ox.OnnxOp):
            got = _range(op.attributes)
            np.testing.assert_allclose(got, expected[op.node_name], rtol=1e-6)
            n += 1
    assert n > 50


def test_histogram_ranges_within_observed() -> None:
    _, a = _prepared()
    _, b = _prepared()
    run_pipeline(a, "onnx-calibrate{frames=2 seed=3}")
    run_pipeline(b, 'onnx-calibrate{frames=2 seed=3 scheme="per_tensor_histogram"}')
    ops_a = [op for op in main_func(a).body.block.ops if CALIBRATION_ATTR in op.attributes]
    ops_b = [op for op in main_func(b).body.block.ops if CALIBRATION_ATTR in op.attributes]
    assert [op.node_name for op in ops_a] == [op.node_name for op in ops_b]
    clipped = 0
    for x, y in zip(ops_a, ops_b):
        (lo, hi), (hlo, hhi) = _range(x.attributes), _range(y.attributes)
        assert lo - 1e-6 * abs(lo) <= hlo <= hhi <= hi + 1e-6 * abs(hi), x.node_name
        clipped += hhi < hi * 0.99
    assert clipped > 0  # long-tailed activations do get clipped


def test_random_frames_are_seeded() -> None:
    _, a = _prepared()
    _, b = _prepared()
    run_pipeline(a, "onnx-calibrate{frames=1 seed=5}")
    run_pipeline(b, "onnx-calibrate{frames=1 seed=5}")
    assert str(main_func(a).arg_attrs) == str(main_func(b).arg_attrs)
    lo, hi = _range(main_func(a).arg_attrs.data[0].data)
    assert 0.0 <= lo < 1e-3 and 0.999 < hi < 1.0  # uniform [0, 1)


def test_histogram_observer_rebinning_keeps_mass() -> None:
    rng = np.random.default_rng(0)
    obs = HistogramObserver()
    for scale in (1.0, 3.0, 0.5):
        obs.update(rng.standard_normal(10_000).astype(np.float32) * scale)
    assert obs.hist is not None and abs(obs.hist.sum() - 30_000) < 1e-6
    lo, hi = obs.range()
    assert obs.lo <= lo < 0 < hi <= obs.hi


def test_histogram_clips_outliers_and_keeps_uniform() -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal(1_000_000)
    x[:1] = 1000.0
    h, edges = np.histogram(x, bins=2048, range=(x.min(), x.max()))
    lo, hi = best_histogram_range(h, float(x.min()), float(x.max()))
    assert hi < 600  # one outlier at 1000 is clipped
    u = rng.uniform(-1, 1, 100_000)
    h, _ = np.histogram(u, bins=2048, range=(-1, 1))
    assert best_histogram_range(h, -1.0, 1.0) == (-1.0, 1.0)


@pytest.mark.parametrize("value", [0.7, -3.0e4, 1.0e10, 1.0e-30])
def test_histogram_observer_near_constant(value: float) -> None:
    """A constant, then a near-constant activation (a few float32 steps wide: numpy would build
    2048 float32 bin edges and refuse "Too many bins for data range"), then a wider frame."""
    v = np.float32(value)
    up = np.nextafter(v, np.float32(np.inf))
    obs = HistogramObserver()
    obs.update(np.full(100, v))
    assert obs.range() == (float(v), float(v))
    one_step = np.full(100, v)
    one_step[:10] = up
    obs.update(one_step)
    lo, hi = obs.range()
    assert float(v) <= lo <= hi <= float(up)
    steps = v + np.arange(40, dtype=np.float32) * (up - v)  # about 40 float32 steps
    obs.update(steps)
    obs.update(np.linspace(0.9 * v, 1.1 * v, 1000, dtype=np.float32))
    assert obs.hist is not None and abs(obs.hist.sum() - 1240) < 1e-6
    lo, hi = obs.range()
    assert obs.lo <= lo <= hi <= obs.hi


def test_histogram_calibration_of_a_near_constant_activation() -> None:
    """The pass on a Conv whose output is 1.0 give or take a few float32 steps (tiny weights, bias
    1): the histogram scheme records a range instead of failing."""
    from onnx import TensorProto, helper, numpy_helper

    w = (np.random.default_rng(0).standard_normal((4, 3, 1, 1)) * 3e-7).astype(np.float32)
    b = np.ones(4, np.float32)
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w", "b"], ["y"], kernel_shape=[1, 1], name="conv")], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 8, 8])],
        [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    module = import_onnx(model)
    y = run_onnx_module(module, {"x": np.random.default_rng(0).random((1, 3, 8, 8), dtype=np.float32)})["y"]
    assert 0 < y.max() - y.min() < 1e-5  # near-constant, not constant
    run_pipeline(module, 'onnx-calibrate{frames=2 scheme="per_tensor_histogram"}')
    (conv,) = [op for op in main_func(module).body.block.ops if op.name == "onnx.Conv"]
    lo, hi = _range(conv.attributes)
    assert 1.0 - 1e-5 < lo <= hi < 1.0 + 1e-5


# ------------------------------------------------------------------------------ bad data


@pytest.fixture(scope="module")
def small_module():
    _, module = _prepared()
    return module


def _calibrate(module, path) -> None:
    run_pipeline(module, f'onnx-calibrate{{calibration-data="{path}"}}')


def test_missing_file(small_module, tmp_path) -> None:
    with pytest.raises(InputDataError, match=r"nope\.npz: calibration data file not found"):
        _calibrate(small_module, tmp_path / "nope.npz")


def test_not_an_npz(small_module, tmp_path) -> None:
    p = tmp_path / "bad.npz"
    p.write_bytes(b"not a zip file at all")
    with pytest.raises(InputDataError, match=r"bad\.npz: not a readable \.npz file"):
        _calibrate(small_module, p)


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"other": np.zeros((1, 3, 224, 224), np.float32)}, r"no array 'data_0' \(keys: 'other'; model inputs: 'data_0'\)"),
        ({"data_0": np.zeros((1, 3, 224, 220), np.float32)}, r"input 'data_0' has shape 1x3x224x220, expected 1x3x224x224"),
        ({"data_0": np.zeros((3, 224, 224), np.float32)}, r"input 'data_0' has shape 3x224x224, expected 1x3x224x224"),
        ({"data_0": np.array(["a"] * 4)}, r"array 'data_0' has dtype <U1, expected float32"),
        ({"data_0": np.full((1, 3, 224, 224), np.nan, np.float32)}, r"array 'data_0' contains NaN or infinite values"),
    ],
)
def test_bad_arrays(small_module, tmp_path, arrays, message) -> None:
    p = tmp_path / "calib.npz"
    np.savez(p, **arrays)
    with pytest.raises(InputDataError, match=r"calib\.npz: " + message):
        _calibrate(small_module, p)


def test_bad_options(small_module) -> None:
    with pytest.raises(PassFailedException, match="scheme must be one of per_tensor_min_max, per_tensor_histogram, got 'kl'"):
        run_pipeline(small_module, 'onnx-calibrate{scheme="kl"}')
    with pytest.raises(PassFailedException, match="frames must be at least 1, got 0"):
        run_pipeline(small_module, "onnx-calibrate{frames=0}")


# ------------------------------------------------------------------------------ timing


def test_resnet50_import_passes_calibrate_under_20s() -> None:
    """Import (25M random weights) + graph passes + one histogram calibration frame of ResNet-50."""
    model = randomize_light_model(light_model_path("resnet50"), 0)
    t0 = time.perf_counter()
    module = import_onnx(model)
    t1 = time.perf_counter()
    run_pipeline(module, ONNX_GRAPH_PASSES)
    t2 = time.perf_counter()
    run_pipeline(module, 'onnx-calibrate{frames=1 scheme="per_tensor_histogram"}')
    t3 = time.perf_counter()
    print(f"resnet50: import {t1 - t0:.2f} s, graph passes {t2 - t1:.2f} s, calibrate 1 frame {t3 - t2:.2f} s")
    assert t3 - t0 < 20.0
    for op in main_func(module).body.block.ops:
        if isinstance(op, ox.OnnxOp) and not isinstance(op, ox.ConstantOp):
            t = op.results[0].type
            assert isinstance(t, TensorType) and CALIBRATION_ATTR in op.attributes
