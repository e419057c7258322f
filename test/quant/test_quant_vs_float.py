"""Quant interpreter vs the float onnx interpreter: small hand-built ONNX models and the digits CNN.

Measured, not asserted loosely: output SQNR (dB) and top-1 agreement / accuracy.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from _quant_helpers import GraphBuilder, sqnr_db, to_quant

from axc.dialects import onnx as ox
from axc.dialects import quant
from axc.lowering.onnx_importer import import_onnx
from axc.runtime.interp_onnx import OnnxRunner
from axc.runtime.interp_quant import QuantRunner, run_quant_module

DIGITS = Path(__file__).resolve().parents[2] / "models" / "digits"


def _bn(g: GraphBuilder, x: str, c: int) -> str:
    scale = g.init(g.rng.uniform(0.5, 1.5, c).astype(np.float32), "s")
    bias = g.init((g.rng.standard_normal(c) * 0.1).astype(np.float32), "b")
    mean = g.init((g.rng.standard_normal(c) * 0.1).astype(np.float32), "m")
    var = g.init(g.rng.uniform(0.5, 1.5, c).astype(np.float32), "v")
    return g.node("BatchNormalization", [x, scale, bias, mean, var])


def residual_model():
    """Conv-BN-Relu, a residual Add + Relu, MaxPool with pads, a depthwise conv, a channel Concat,
    AveragePool (ceil_mode, pads), GlobalAveragePool, Flatten + Gemm (-> Conv) and a host Softmax."""
    g = GraphBuilder(seed=1)
    a = g.node("Relu", [_bn(g, g.conv("x", 3, 8, pads=[1, 1, 1, 1]), 8)])
    b = _bn(g, g.conv(a, 8, 8, pads=[1, 1, 1, 1]), 8)
    r = g.node("Relu", [g.node("Add", [a, b])])
    p = g.node("MaxPool", [r], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    d = g.node("Relu", [g.conv(p, 8, 8, k=3, group=8, pads=[1, 1, 1, 1])])
    e = g.conv(p, 8, 4, k=1)  # no relu: a signed branch
    c = g.node("Concat", [d, e], axis=1)
    ap = g.node("AveragePool", [c], kernel_shape=[3, 3], strides=[2, 2], pads=[0, 0, 1, 1], ceil_mode=1)
    gp = g.node("GlobalAveragePool", [ap])
    fc = g.gemm(g.node("Flatten", [gp], axis=1), 12, 10)
    out = g.node("Softmax", [fc], axis=1)
    return g.model([1, 3, 12, 12], [out, fc])


def host_model():
    """Host ops in the middle: Transpose and LRN between AIPU convs, an order-changing Flatten."""
    g = GraphBuilder(seed=2)
    a = g.node("Relu", [g.conv("x", 2, 6, pads=[1, 1, 1, 1], strides=[2, 2])])
    t = g.node("Transpose", [a], perm=[0, 1, 3, 2])
    l = g.node("LRN", [t], size=3, alpha=1e-2, beta=0.75, bias=1.0)
    b = g.node("Relu", [g.conv(l, 6, 6, pads=[1, 1, 1, 1])])
    s = g.node("Add", [b, a])
    f = g.node("Flatten", [s], axis=1)  # (1, 6, 4, 4) -> (1, 96): becomes the 4x4 kernel of fc
    out = g.gemm(f, 96, 5)
    return g.model([1, 2, 8, 8], [out])


def _compare(model, n_frames: int = 16, seed: int = 3):
    fmod, qmod = to_quant(model)
    shape = tuple(fmod.body.block.first_op.args[0].type.get_shape())
    x = np.random.default_rng(seed).random((n_frames,) + shape[1:], dtype=np.float32)
    ref = OnnxRunner(import_onnx(model)).run({"x": x})
    out = run_quant_module(qmod, {"x": x})
    return fmod, qmod, ref, out


def test_residual_model() -> None:
    _, qmod, ref, out = _compare(residual_model())
    names = {op.name for op in qmod.walk()}
    assert {"quant.conv2d", "quant.add", "quant.max_pool", "quant.avg_pool", "quant.concat"} <= names
    assert [op.name for op in qmod.walk() if isinstance(op, ox.OnnxOp)] == ["onnx.Softmax"]
    probs, logits = list(ref)  # measured: 37.0 dB and 28.9 dB
    s_logits = sqnr_db(ref[logits], out[logits])
    s_probs = sqnr_db(ref[probs], out[probs])
    assert s_logits > 25 and s_probs > 30, (s_logits, s_probs)
    assert np.mean(ref[logits].argmax(1) == out[logits].argmax(1)) >= 0.9


def test_host_model() -> None:
    _, qmod, ref, out = _compare(host_model())
    host = sorted(op.name for op in qmod.walk() if isinstance(op, ox.OnnxOp))
    assert host == ["onnx.LRN", "onnx.Transpose"]
    # the two host ops in a row share one boundary: one dequantize before, one quantize after
    lrn = next(op for op in qmod.walk() if isinstance(op, ox.LRNOp))
    assert isinstance(lrn.X.owner, ox.TransposeOp) and isinstance(lrn.X.owner.X.owner, quant.DequantizeOp)
    (k,) = ref
    assert sqnr_db(ref[k], out[k]) > 30, sqnr_db(ref[k], out[k])  # measured: 36.2 dB


def test_runner_is_reusable_and_deterministic() -> None:
    _, qmod = to_quant(host_model())
    runner = QuantRunner(qmod)
    x = np.random.default_rng(5).random((3, 2, 8, 8), dtype=np.float32)
    a = runner.run({"x": x})
    b = runner.run({"x": x})
    one = [runner.run({"x": x[i : i + 1]}) for i in range(3)]
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
        np.testing.assert_array_equal(a[k], np.concatenate([o[k] for o in one]))


def test_missing_input_is_reported() -> None:
    from axc.runtime.errors import InputDataError

    _, qmod = to_quant(host_model())
    with pytest.raises(InputDataError, match="missing input"):
        run_quant_module(qmod, {"y": np.zeros((1, 2, 8, 8), np.float32)})


@pytest.fixture(scope="module")
def digits():
    with np.load(DIGITS / "digits_test.npz") as z:
        images, labels = z["image"], z["label"]
    fmod, qmod = to_quant(DIGITS / "digits_cnn.onnx", calibration_data=str(DIGITS / "digits_calib.npz"))
    ref = OnnxRunner(import_onnx(DIGITS / "digits_cnn.onnx")).run({"image": images})["probabilities"]
    out = QuantRunner(qmod).run({"image": images})["probabilities"]
    return qmod, ref, out, labels


def test_digits_quant_structure(digits) -> None:
    qmod = digits[0]
    assert sorted(op.name for op in qmod.walk() if isinstance(op, ox.OnnxOp)) == ["onnx.Softmax"]
    convs = [op for op in qmod.walk() if isinstance(op, quant.Conv2dOp)]
    assert len(convs) == 5  # 3 convs + 2 Gemm rewritten to conv
    assert sum(op.clamp is not None for op in convs) == 4  # every Relu fused


def test_digits_sqnr_and_accuracy(digits) -> None:
    _, ref, out, labels = digits
    sqnr = sqnr_db(ref, out)
    acc_f = float(np.mean(ref.argmax(1) == labels))
    acc_q = float(np.mean(out.argmax(1) == labels))
    print(f"digits: SQNR {sqnr:.1f} dB, top-1 float {acc_f:.4f} quant {acc_q:.4f}")
    assert sqnr > 30, sqnr
    assert acc_f - acc_q <= 0.01, (acc_f, acc_q)
    assert np.mean(ref.argmax(1) == out.argmax(1)) >= 0.99
