"""Element-wise Mul of two activations on the AIPU (quant.mul -> tile.mul -> dpu op=mul).

Swish (Conv -> x * sigmoid(x) -> Conv, same shape) and a squeeze-excitation block (Conv ->
GlobalAveragePool -> Conv -> Sigmoid -> Mul with the first Conv's output, a (1, C, 1, 1) vector
broadcast over H x W -> Conv), two seeds each: no host segment, quant == tile == aipu bit for bit,
SQNR against onnxruntime >= 25 dB when calibrated on the test input.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "quant"))
from _quant_helpers import GraphBuilder, sqnr_db  # noqa: E402

from axc.dialects import tile  # noqa: E402
from axc.lowering.compile_pipeline import make_context  # noqa: E402
from axc.lowering.convert_quant_to_tile import ConvertQuantToTilePass  # noqa: E402
from axc.lowering.model_compiler import compile_model  # noqa: E402
from axc.runtime import int_kernels as ik  # noqa: E402
from axc.runtime.interp_quant import run_quant_module  # noqa: E402
from axc.runtime.interp_tile import run_tile_module  # noqa: E402
from axc.runtime.multipliers import mul_multiplier  # noqa: E402
from axc.runtime.package import load_package  # noqa: E402

SHAPE = (1, 3, 8, 8)


def _model(kind: str, seed: int, mid: int = 8) -> onnx.ModelProto:
    g = GraphBuilder(seed=seed)
    a = g.conv("x", 3, mid, pads=[1, 1, 1, 1])
    if kind == "swish":
        b = g.node("Mul", [a, g.node("Sigmoid", [a])])
    else:  # squeeze-excitation: the gate first, so that the larger operand is not operand 0
        s = g.node("GlobalAveragePool", [a])
        s = g.node("Relu", [g.conv(s, mid, 4, k=1)])
        gate = g.node("Sigmoid", [g.conv(s, 4, mid, k=1)])
        b = g.node("Mul", [gate, a])
    c = g.conv(b, mid, 4, pads=[1, 1, 1, 1])
    return g.model(list(SHAPE), [c], opset=17)


def _compile(kind: str, seed: int, tmp: Path, mid: int = 8):
    model = _model(kind, seed, mid)
    onnx.save(model, tmp / "m.onnx")
    x = np.random.default_rng(seed + 10).standard_normal(SHAPE).astype(np.float32)
    np.savez(tmp / "calib.npz", x=x)
    compiled = compile_model(tmp / "m.onnx", tmp / "m.pkg", calibration_data=str(tmp / "calib.npz"))
    return model, x, compiled


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("kind", ["swish", "se"])
def test_mul_bit_exact_and_accurate(kind: str, seed: int, tmp_path: Path) -> None:
    model, x, compiled = _compile(kind, seed, tmp_path)
    qnames = [o.name for o in compiled.quant_module.walk()]
    assert "quant.mul" in qnames
    assert not any(n.startswith("onnx.") for n in qnames if n != "onnx.Constant"), qnames
    q = run_quant_module(compiled.quant_module, {"x": x})
    (name,) = q
    ref = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    s = sqnr_db(ref, q[name])
    assert s >= 25, (kind, seed, s)
    pkg = load_package(compiled.package)
    got = pkg.executor().run({"x": x})
    np.testing.assert_array_equal(q[name], got[name])
    instrs = [i for _, i in pkg.program.instructions()]
    muls = [i for i in instrs if i.op == "dpu" and i["op"] == "mul"]
    assert muls and not [i for i in instrs if i.op == "host"]
    if kind == "se":
        assert all(tuple(i["b_shape"][:2]) == (1, 1) for i in muls)
    report = pkg.cycle_report()
    assert sum(layer.instructions for layer in report.layers) == sum(1 for i in instrs if i.op != "wait")


@pytest.mark.parametrize("kind", ["swish", "se"])
def test_tile_level_equals_quant_with_forced_tiles(kind: str, tmp_path: Path) -> None:
    """Several height x channel tiles; the SE gate vector is loaded once per channel tile."""
    _, x, compiled = _compile(kind, 3, tmp_path, mid=80)
    qm = compiled.quant_module.clone()
    ref = run_quant_module(qm, {"x": x})
    ConvertQuantToTilePass(force_h_tiling=3, force_oc_tiling=2).apply(make_context(), qm)
    qm.verify()
    muls = [o for o in qm.walk() if isinstance(o, tile.MulOp)]
    assert len(muls) == 6
    if kind == "se":
        vecs = {o.rhs for o in muls}
        assert len(vecs) == 2 and all(tuple(v.type.get_shape()[:2]) == (1, 1) for v in vecs)
    got = run_tile_module(qm, {"x": x})
    for k in ref:
        np.testing.assert_array_equal(ref[k], got[k])


def test_mul_kernel_matches_int64_formula() -> None:
    rng = np.random.default_rng(0)
    a = rng.integers(-128, 128, (4, 5, 6), dtype=np.int8)
    b = rng.integers(-128, 128, (1, 1, 6), dtype=np.int8)
    m, shift = mul_multiplier(0.05, 0.02, 0.03)
    ref = (a.astype(np.int64) - 3) * (b.astype(np.int64) + 7) * m
    ref = np.clip(((ref + (1 << (shift - 1))) >> shift) - 2, -128, 127).astype(np.int8)
    np.testing.assert_array_equal(ik.mul(a, 3, b, -7, m, shift, -2), ref)
    with pytest.raises(ValueError, match="does not broadcast"):
        ik.mul(b, 0, a, 0, m, shift, 0)
