"""Scale: a ResNet-50-shaped quant graph (random int8 weights, 53 convs, 16 residual adds) converts
and plans in well under a second and stays bit-identical to the quant interpreter."""

from __future__ import annotations

import time

import numpy as np
from tilekit import CTX, QuantBuilder

from axc.dialects import tile
from axc.lowering.convert_quant_to_tile import ConvertQuantToTilePass
from axc.passes.tile_plan_memory import MEMORY_USAGE_ATTR, TilePlanMemoryPass
from axc.runtime.interp_quant import run_quant_module
from axc.runtime.interp_tile import run_tile_module


def resnet50() -> QuantBuilder:
    qb = QuantBuilder()
    x = qb.input((1, 3, 224, 224))
    x = qb.conv(x, 64, k=(7, 7), strides=(2, 2), pads=(3, 3, 3, 3), clamp=(2, 127), name="conv1")
    x = qb.max_pool(x, (3, 3), (2, 2), (1, 1, 1, 1), name="pool1")
    for li, (n, w) in enumerate([(3, 64), (4, 128), (6, 256), (3, 512)]):
        for b in range(n):
            s = 2 if (b == 0 and li > 0) else 1
            y = qb.conv(x, w, k=(1, 1), strides=(s, s), pads=(0, 0, 0, 0), clamp=(2, 127), name=f"l{li}b{b}c1")
            y = qb.conv(y, w, clamp=(2, 127), name=f"l{li}b{b}c2")
            y = qb.conv(y, 4 * w, k=(1, 1), pads=(0, 0, 0, 0), name=f"l{li}b{b}c3")
            sc = x if b else qb.conv(x, 4 * w, k=(1, 1), strides=(s, s), pads=(0, 0, 0, 0), name=f"l{li}b{b}ds")
            x = qb.add(y, sc, clamp=(-5, 127), zp=-5, name=f"l{li}b{b}add")
    x = qb.avg_pool(x, (7, 7), (1, 1), (0, 0, 0, 0), name="gap")
    x = qb.conv(x, 1000, k=(1, 1), pads=(0, 0, 0, 0), name="fc")
    x = qb.reshape(x, (1, 1000))
    qb.output(qb.onnx("Softmax", [qb.dequantize(x)], (1, 1000), "axis = 1 : i64", name="softmax"))
    return qb


def test_resnet50_shaped_graph_compiles_fast_and_exact() -> None:
    qb = resnet50()
    m = qb.module()
    ref = run_quant_module(m, qb.inputs())
    t0 = time.perf_counter()
    ConvertQuantToTilePass().apply(CTX, m)
    TilePlanMemoryPass().apply(CTX, m)
    seconds = time.perf_counter() - t0
    print(f"resnet50-shaped: convert-quant-to-tile + tile-plan-memory {seconds:.2f} s, "
          f"{sum(1 for _ in m.walk())} ops, usage {m.attributes[MEMORY_USAGE_ATTR]}")
    assert seconds < 5
    m.verify()
    assert sum(1 for o in m.walk() if isinstance(o, tile.Conv2dOp)) >= 54
    got = run_tile_module(m, qb.inputs())
    np.testing.assert_array_equal(ref["out0"], got["out0"])
