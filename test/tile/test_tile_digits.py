"""The digits CNN through the whole pipeline to the tile level: bit-identical to the quant level."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from tilekit import token_hazards

from axc.dialects import tile
from axc.lowering.compile_pipeline import GRAPH_PASSES, make_context
from axc.lowering.onnx_importer import import_onnx
from axc.passes import ALL_PASSES
from axc.passes.tile_plan_memory import MEMORY_USAGE_ATTR
from axc.runtime.interp_quant import QuantRunner
from axc.runtime.interp_tile import TileRunner

DIGITS = Path(__file__).resolve().parents[2] / "models" / "digits"


def _quant_module():
    ctx = make_context()
    m = import_onnx(DIGITS / "digits_cnn.onnx")
    for name in GRAPH_PASSES:
        ALL_PASSES[name]()().apply(ctx, m)
    ALL_PASSES["onnx-calibrate"]()(calibration_data=str(DIGITS / "digits_calib.npz")).apply(ctx, m)
    ALL_PASSES["convert-onnx-to-quant"]()().apply(ctx, m)
    m.verify()
    return ctx, m


@pytest.fixture(scope="module")
def frames() -> np.ndarray:
    with np.load(DIGITS / "digits_test.npz") as z:
        return z["image"]


@pytest.mark.parametrize("options", ["", "{force-h-tiling=2 force-oc-tiling=2}", "{l1-bytes=20500}"])
def test_digits_tile_equals_quant(frames: np.ndarray, options: str) -> None:
    ctx, m = _quant_module()
    ref = QuantRunner(m).run({"image": frames})
    t0 = time.perf_counter()
    spec = f"convert-quant-to-tile{options},tile-plan-memory"
    from xdsl.passes import PassPipeline

    PassPipeline.parse_spec(dict(ALL_PASSES), spec).apply(ctx, m)
    compile_s = time.perf_counter() - t0
    m.verify()
    assert compile_s < 5, compile_s
    assert not [o for o in m.walk() if o.dialect_name() == "quant"]
    convs = [o for o in m.walk() if isinstance(o, tile.Conv2dOp)]
    assert len(convs) >= 5
    if options:
        assert len(convs) > 5  # tiled
    usage = m.attributes[MEMORY_USAGE_ATTR].data  # type: ignore[attr-defined]
    assert usage["l1"].value.data <= (20500 if "l1-bytes" in options else 3670016)
    assert token_hazards(m) == []
    got = TileRunner(m).run({"image": frames})
    assert ref.keys() == got.keys() == {"probabilities"}
    np.testing.assert_array_equal(ref["probabilities"], got["probabilities"])
