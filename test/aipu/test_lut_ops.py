"""Element-wise functions on the AIPU as table lookups (quant.lut -> tile.lut -> dpu op=lut).

Every LUT op kind on a small Conv -> op -> Conv model, two seeds: quant == tile == aipu bit for bit,
SQNR against onnxruntime >= 25 dB when calibrated on the test input, the op really is a lut (no host
segment), and the cycle report counts the lut instructions.
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

from axc.lowering.model_compiler import compile_model  # noqa: E402
from axc.runtime.interp_quant import run_quant_module  # noqa: E402
from axc.runtime.interp_tile import run_tile_module  # noqa: E402
from axc.runtime.package import load_package  # noqa: E402

SHAPE = (1, 3, 8, 8)


def _op(g: GraphBuilder, kind: str, a: str) -> str:
    """``kind`` applied to ``a`` (constants for Clip / the binary ops with a scalar)."""
    scalar = lambda v: g.init(np.array(v, np.float32), "c")  # noqa: E731
    if kind == "Clip6":  # opset 11+: min / max inputs
        return g.node("Clip", [a, scalar(0.0), scalar(6.0)])
    if kind == "ClipMax":  # min omitted
        return g.node("Clip", [a, "", scalar(1.5)])
    if kind == "AddScalar":  # after a Relu, so that onnx-fold-channel-affine cannot fold it into the conv
        return g.node("Add", [g.node("Relu", [a]), g.init(np.array([3.0], np.float32), "c")])
    if kind == "SubScalarLeft":
        return g.node("Sub", [scalar(1.0), a])
    if kind == "DivScalar":
        return g.node("Div", [a, scalar(6.0)])
    if kind == "MulSelf":
        return g.node("Mul", [a, a])
    if kind == "PaddleHardSwish":  # x * clip(x + 3, 0, 6) / 6 spelled out: two luts and a quant.mul
        c = g.node("Clip", [g.node("Add", [a, scalar(3.0)]), scalar(0.0), scalar(6.0)])
        return g.node("Mul", [a, g.node("Div", [c, scalar(6.0)])])
    attrs = {"LeakyRelu": {"alpha": 0.1}, "Elu": {"alpha": 0.7}, "Celu": {"alpha": 1.3},
             "HardSigmoid": {"alpha": 0.25, "beta": 0.4}}.get(kind, {})
    return g.node(kind, [a], **attrs)


KINDS = ["Sigmoid", "Tanh", "HardSigmoid", "HardSwish", "LeakyRelu", "Selu", "Elu", "Celu", "Softplus",
         "Softsign", "Mish", "Gelu", "Clip6", "ClipMax", "AddScalar", "SubScalarLeft", "DivScalar", "MulSelf",
         "PaddleHardSwish"]


def _model(kind: str, seed: int) -> onnx.ModelProto:
    g = GraphBuilder(seed=seed)
    a = g.conv("x", 3, 8, pads=[1, 1, 1, 1])
    b = _op(g, kind, a)
    c = g.conv(b, 8, 4, pads=[1, 1, 1, 1])
    return g.model(list(SHAPE), [c], opset=20)


def compile_and_run(kind: str, seed: int, tmp: Path):
    model = _model(kind, seed)
    path = tmp / "m.onnx"
    onnx.save(model, path)
    x = np.random.default_rng(seed + 10).standard_normal(SHAPE).astype(np.float32)
    np.savez(tmp / "calib.npz", x=x)
    compiled = compile_model(path, tmp / "m.pkg", calibration_data=str(tmp / "calib.npz"))
    pkg = load_package(compiled.package)
    return model, x, compiled, pkg


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("kind", KINDS)
def test_lut_op_bit_exact_and_accurate(kind: str, seed: int, tmp_path: Path) -> None:
    model, x, compiled, pkg = compile_and_run(kind, seed, tmp_path)
    qnames = [o.name for o in compiled.quant_module.walk()]
    assert "quant.lut" in qnames
    assert not any(n.startswith("onnx.") for n in qnames if n != "onnx.Constant"), qnames
    q = run_quant_module(compiled.quant_module, {"x": x})
    (name,) = q
    ref = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    s = sqnr_db(ref, q[name])
    assert s >= 25, (kind, seed, s)
    got = pkg.executor().run({"x": x})
    np.testing.assert_array_equal(q[name], got[name])
    dpu = [i for _, i in pkg.program.instructions() if i.op == "dpu" and i["op"] == "lut"]
    assert dpu and not [i for _, i in pkg.program.instructions() if i.op == "host"]
    report = pkg.cycle_report()
    assert sum(layer.instructions for layer in report.layers) == sum(1 for _ in pkg.program.instructions()
                                                                      if _[1].op != "wait")


def test_tile_level_equals_quant_with_forced_tiles(tmp_path: Path) -> None:
    """The tile module itself (several height x channel tiles, table loaded per channel tile)."""
    from axc.dialects import tile
    from axc.lowering.compile_pipeline import make_context
    from axc.lowering.convert_quant_to_tile import ConvertQuantToTilePass

    g = GraphBuilder(seed=3)
    a = g.conv("x", 3, 80, pads=[1, 1, 1, 1])
    model = g.model(list(SHAPE), [_op(g, "Sigmoid", a)], opset=20)
    onnx.save(model, tmp_path / "m.onnx")
    x = np.random.default_rng(0).standard_normal(SHAPE).astype(np.float32)
    np.savez(tmp_path / "c.npz", x=x)
    from axc.config import CompilerConfig

    # the Sigmoid is the model's last op: keep it off the host's postamble to test the AIPU path
    cfg = CompilerConfig(graph_cleaner_split_pre_post_processing=False)
    compiled = compile_model(tmp_path / "m.onnx", tmp_path / "m.pkg", cfg, calibration_data=str(tmp_path / "c.npz"))
    qm = compiled.quant_module.clone()
    ref = run_quant_module(qm, {"x": x})
    ConvertQuantToTilePass(force_h_tiling=3, force_oc_tiling=2).apply(make_context(), qm)
    qm.verify()
    luts = [o for o in qm.walk() if isinstance(o, tile.LutOp)]
    assert len(luts) == 6
    got = run_tile_module(qm, {"x": x})
    for k in ref:
        np.testing.assert_array_equal(ref[k], got[k])
