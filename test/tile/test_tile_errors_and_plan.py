"""Errors of the tile passes (an op that does not fit, a model that does not fit a space), the
tiling search, memory planning (promotion, reuse, alignment) and the tile dialect verifiers."""

from __future__ import annotations

import numpy as np
import pytest
from tilekit import CTX, QuantBuilder, parse, token_hazards
from xdsl.dialects import builtin
from xdsl.utils.exceptions import VerifyException

from axc.dialects import tile
from axc.lowering.convert_quant_to_tile import ConvertQuantToTilePass, axis_window, split_even
from axc.passes.tile_plan_memory import MEMORY_USAGE_ATTR, TilePlanMemoryPass
from axc.runtime.errors import CompileError
from axc.runtime.int_kernels import output_size
from axc.runtime.interp_quant import run_quant_module
from axc.runtime.interp_tile import run_tile_module


def _net() -> QuantBuilder:
    qb = QuantBuilder()
    x = qb.input((1, 3, 16, 16))
    a = qb.conv(x, 64, strides=(2, 2), clamp=(2, 127), name="stem")
    b = qb.conv(a, 64, name="body")
    c = qb.add(a, b, name="res")
    qb.output(qb.max_pool(c, name="pool"))
    return qb


def _allocs(m: builtin.ModuleOp, kind: str | None = None) -> list[tile.AllocOp]:
    return [o for o in m.walk() if isinstance(o, tile.AllocOp) and (kind is None or o.kind.data == kind)]


def test_op_that_does_not_fit_l1_names_op_and_bytes() -> None:
    m = _net().module()
    with pytest.raises(CompileError) as e:
        ConvertQuantToTilePass(l1_bytes=3000).apply(CTX, m)
    msg = str(e.value)
    assert "'quant.conv2d' op \"stem\" does not fit in L1" in msg
    assert "bytes available (l1-bytes)" in msg and "3000" in msg
    need = int(msg.split(" needs ")[1].split(" bytes")[0])
    assert need > 3000


def test_tiling_search_doubles_until_it_fits() -> None:
    qb = _net()
    m = qb.module()
    ref = run_quant_module(m, qb.inputs())
    # body: 8x8x64 input + 36 KiB of weights + table + 8x8x64 output = 45824 bytes: 2 height tiles
    ConvertQuantToTilePass(l1_bytes=45000).apply(CTX, m)
    body = [o for o in m.walk() if isinstance(o, tile.Conv2dOp) and o.src_name == "body"]
    assert len(body) == 2
    got = run_tile_module(m, qb.inputs())
    np.testing.assert_array_equal(ref["out0"], got["out0"])
    TilePlanMemoryPass(l1_bytes=45000).apply(CTX, m)
    assert m.attributes[MEMORY_USAGE_ATTR].data["l1"].value.data <= 45000  # type: ignore[attr-defined]
    np.testing.assert_array_equal(ref["out0"], run_tile_module(m, qb.inputs())["out0"])


def test_max_tiling_attempts_limits_the_search() -> None:
    m = _net().module()
    with pytest.raises(CompileError, match="does not fit in L1"):
        ConvertQuantToTilePass(l1_bytes=45000, max_tiling_attempts=0).apply(CTX, m)


def test_weight_set_columns_split_output_channels() -> None:
    qb = QuantBuilder()
    x = qb.input((1, 8, 4, 4))
    qb.output(qb.conv(x, 600, k=(1, 1), pads=(0, 0, 0, 0)))
    m = qb.module()
    ref = run_quant_module(m, qb.inputs())
    ConvertQuantToTilePass().apply(CTX, m)
    ocs = sorted(o.prop_ints("channels")[1] for o in m.walk() if isinstance(o, tile.Conv2dOp))
    assert max(ocs) <= 512 and sum(ocs) == 600 and len(ocs) == 2
    np.testing.assert_array_equal(ref["out0"], run_tile_module(m, qb.inputs())["out0"])


def test_large_reduction_is_one_mvm_op() -> None:
    """K = C * KH * KW > 512 rows: several weight-set passes inside one conv op, not more tiles."""
    qb = QuantBuilder()
    x = qb.input((1, 128, 5, 5))
    qb.output(qb.conv(x, 32))  # K = 1152
    m = qb.module()
    ConvertQuantToTilePass().apply(CTX, m)
    assert sum(1 for o in m.walk() if isinstance(o, tile.Conv2dOp)) == 1


def test_bad_pool_option() -> None:
    with pytest.raises(CompileError, match='workspace-pool must be "ddr" or "l2", got "l1"'):
        ConvertQuantToTilePass(workspace_pool="l1").apply(CTX, _net().module())


def test_plan_offsets_aligned_within_budget_and_disjoint_when_live() -> None:
    qb = _net()
    m = qb.module()
    ConvertQuantToTilePass(force_h_tiling=3).apply(CTX, m)
    TilePlanMemoryPass().apply(CTX, m)
    ops = list(next(iter(m.ops)).body.block.ops)  # type: ignore[attr-defined]
    index = {o: i for i, o in enumerate(ops)}
    spans = []
    for o in ops:
        if isinstance(o, tile.AllocOp | tile.ConstantOp):
            off = o.offset.value.data  # type: ignore[union-attr]
            assert off % 64 == 0
            uses = [index[u.operation] for u in o.result.uses]
            whole = isinstance(o, tile.ConstantOp) or o.kind.data in ("input", "output")
            lo, hi = (0, len(ops)) if whole else (min(uses), max(uses))
            size = -(-tile.buffer_bytes(o.result.type) // 64) * 64
            spans.append((o.space, off, off + size, lo, hi))
    for i, a in enumerate(spans):
        for b in spans[:i]:
            if a[0] == b[0] and a[1] < b[2] and b[1] < a[2]:
                assert a[4] < b[3] or b[4] < a[3], "buffers live together share bytes"
    usage = m.attributes[MEMORY_USAGE_ATTR].data  # type: ignore[attr-defined]
    for space in ("l1", "l2", "ddr"):
        assert usage[space].value.data == max((s[2] for s in spans if s[0] == space), default=0)


@pytest.mark.parametrize("pool,l2", [("ddr", 1 << 30), ("l2", 4096), ("ddr", 8192)])
def test_promotion_and_demotion_stay_bit_exact(pool: str, l2: int) -> None:
    qb = _net()
    m = qb.module()
    inputs = qb.inputs(frames=2)
    ref = run_quant_module(m, inputs)
    ConvertQuantToTilePass(workspace_pool=pool, force_h_tiling=2).apply(CTX, m)
    TilePlanMemoryPass(l2_bytes=l2).apply(CTX, m)
    m.verify()
    acts = _allocs(m, "activation")
    in_l2 = sum(o.space == "l2" for o in acts)
    if l2 >= 1 << 20:
        assert in_l2 == len(acts)  # all promoted
    else:
        assert 0 < len(acts) - in_l2  # some demoted to DDR
    np.testing.assert_array_equal(ref["out0"], run_tile_module(m, inputs)["out0"])
    assert token_hazards(m) == []


def test_no_promotion_keeps_spaces_and_fails_when_too_small() -> None:
    m = _net().module()
    ConvertQuantToTilePass(workspace_pool="ddr").apply(CTX, m)
    TilePlanMemoryPass(buffer_promotion=False).apply(CTX, m)
    assert {o.space for o in _allocs(m, "activation")} == {"ddr"}
    m = _net().module()
    ConvertQuantToTilePass().apply(CTX, m)
    with pytest.raises(CompileError) as e:
        TilePlanMemoryPass(buffer_promotion=False, l2_bytes=4096).apply(CTX, m)
    assert "does not fit in l2" in str(e.value) and "4096 bytes available (l2-bytes)" in str(e.value)


def test_ddr_too_small_names_bytes() -> None:
    m = _net().module()
    ConvertQuantToTilePass().apply(CTX, m)
    with pytest.raises(CompileError, match=r"does not fit in ddr: .* bytes of ddr buffers are live, 1000 bytes available \(ddr-bytes\)"):
        TilePlanMemoryPass(ddr_bytes=1000).apply(CTX, m)


@pytest.mark.parametrize("n,k,s,d,p", [(13, 3, 2, 1, 1), (9, 2, 3, 2, 0), (7, 7, 1, 1, 3), (10, 1, 1, 1, 0)])
def test_axis_window_reproduces_the_tile_output_size(n, k, s, d, p) -> None:
    ho = output_size(n, k, s, p, p, d)
    for parts in range(1, ho + 1):
        for o0, o1 in split_even(ho, parts):
            r0, r1, pb, pe = axis_window(n, o0, o1, k, s, d, p)
            assert 0 <= r0 < r1 <= n and pb <= p and pe <= p
            assert output_size(r1 - r0, k, s, pb, pe, d) == o1 - o0


def test_verifier_messages_name_expected_and_found() -> None:
    with pytest.raises(VerifyException, match=r"'tile.dma' op box at offsets \[0, 0, 0\] with sizes \[9, 8, 64\] exceeds the source shape \[8, 8, 64\]"):
        parse('''func.func @main() {
          %a = tile.alloc {kind = "activation", name = "a"} : memref<8x8x64xi8, "l2">
          %b = tile.alloc {kind = "scratch", name = "b"} : memref<9x8x64xi8, "l1">
          %t = tile.dma %a, %b {src_offsets = array<i64: 0, 0, 0>, dst_offsets = array<i64: 0, 0, 0>, sizes = array<i64: 9, 8, 64>} : memref<8x8x64xi8, "l2">, memref<9x8x64xi8, "l1">
          func.return
        }''')
    with pytest.raises(VerifyException, match=r"'tile.conv2d' op table must be memref<3x4xi32> \(bias, multiplier, shift\), got memref<2x4xi32, \"l1\">"):
        parse('''func.func @main() {
          %i = tile.alloc {kind = "scratch", name = "i"} : memref<4x4x64xi8, "l1">
          %w = tile.alloc {kind = "scratch", name = "w"} : memref<4x3x1x1xi8, "l1">
          %t = tile.alloc {kind = "scratch", name = "t"} : memref<2x4xi32, "l1">
          %o = tile.alloc {kind = "scratch", name = "o"} : memref<4x4x64xi8, "l1">
          %k = tile.conv2d %i, %w, %t, %o {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, group = 1 : i64, in_zp = 0 : i64, out_zp = 0 : i64, clamp = array<i64: -128, 127>, channels = array<i64: 3, 4>} : memref<4x4x64xi8, "l1">, memref<4x3x1x1xi8, "l1">, memref<2x4xi32, "l1">, memref<4x4x64xi8, "l1">
          func.return
        }''')


def test_conversion_leaves_no_quant_op_and_is_roundtrippable() -> None:
    m = _net().module()
    ConvertQuantToTilePass(force_h_tiling=2, force_oc_tiling=2).apply(CTX, m)
    TilePlanMemoryPass().apply(CTX, m)
    assert not [o for o in m.walk() if o.dialect_name() == "quant"]
    text = str(m)
    assert str(parse(text)) == text


def test_host_segment_writing_reused_bytes_waits_for_their_readers() -> None:
    qb = QuantBuilder()
    x = qb.input((1, 8, 6, 6))
    a = qb.conv(x, 8, name="a")
    b = qb.conv(a, 8, name="b")  # a and b live together, both dead once d is computed
    d = qb.add(a, b, name="d")
    s = qb.onnx("Softmax", [qb.dequantize(d)], (1, 8, 6, 6), "axis = 1 : i64", name="softmax")
    qb.output(qb.conv(qb.quantize(s, 1 / 255, -128), 8, name="c"))
    m = qb.module()
    ref = run_quant_module(m, qb.inputs())
    ConvertQuantToTilePass().apply(CTX, m)
    host = next(o for o in m.walk() if isinstance(o, tile.HostOp))
    before = len(host.deps)
    TilePlanMemoryPass().apply(CTX, m)
    m.verify()
    host = next(o for o in m.walk() if isinstance(o, tile.HostOp))
    acts = {o.buffer_name.data: o for o in _allocs(m, "activation")}
    out = host.outputs[0].owner
    assert out.offset.value.data == acts["b"].offset.value.data  # the host result reuses b's bytes
    assert len(host.deps) > before  # ... so it waits for b's readers
    assert token_hazards(m) == []
    np.testing.assert_array_equal(ref["out0"], run_tile_module(m, qb.inputs())["out0"])
