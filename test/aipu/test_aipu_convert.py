"""convert-tile-to-aipu: DMA boxes, synchronisation from tokens and memory hazards, and the digits
model bit-exact through the whole stack (tile interpreter vs the executor on the package)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from xdsl.parser import Parser
from xdsl.utils.exceptions import PassFailedException

from aipukit import DIGITS, compile_digits_tile
from axc.dialects import aipu
from axc.lowering.aipu_asm import package_contents, program_op
from axc.lowering.compile_pipeline import make_context
from axc.lowering.convert_tile_to_aipu import ConvertTileToAipuPass, _Buf, _dma_box
from axc.runtime.executor import Executor, run
from axc.runtime.interp_quant import run_quant_module
from axc.runtime.interp_tile import run_tile_module
from axc.runtime.isa import Mem
from axc.runtime.package import load_package, save_package

T3 = "memref<2x2x64xi8, \"{space}\">"
SMALL = """\
builtin.module {{
  func.func @main() attributes {{axc.input_names = ["x"], axc.output_names = ["y"]}} {{
    %x = tile.alloc {{kind = "input", name = "x", scale = 0.5 : f64, zero_point = 0 : i64, shape = array<i64: 1, 8, 2, 2>, offset = 0 : i64}} : memref<2x2x64xi8, "l2">
    %y = tile.alloc {{kind = "output", name = "y", scale = 0.5 : f64, zero_point = 0 : i64, shape = array<i64: 1, 8, 2, 2>, offset = 256 : i64}} : memref<2x2x64xi8, "l2">
    %s = tile.alloc {{kind = "scratch", name = "s", offset = 0 : i64}} : memref<2x2x64xi8, "l1">
    %o = tile.alloc {{kind = "scratch", name = "o", offset = {o_offset} : i64}} : memref<2x2x64xi8, "l1">
    %t0 = tile.dma %x, %s {{src_offsets = array<i64: 0, 0, 0>, dst_offsets = array<i64: 0, 0, 0>, sizes = array<i64: 2, 2, 8>, src = "load"}} : memref<2x2x64xi8, "l2">, memref<2x2x64xi8, "l1">
    %t1 = tile.clamp %s, %o {after1} {{clamp = array<i64: 0, 127>, channels = array<i64: 8>, src = "relu"}} : memref<2x2x64xi8, "l1">, memref<2x2x64xi8, "l1">
    %t2 = tile.dma %o, %y {after2} {{src_offsets = array<i64: 0, 0, 0>, dst_offsets = array<i64: 0, 0, 0>, sizes = array<i64: 2, 2, 8>, src = "store"}} : memref<2x2x64xi8, "l1">, memref<2x2x64xi8, "l2">
    func.return
  }}
}}
"""


def small(o_offset: int = 256, tokens: bool = True, **opts) -> tuple:
    ctx = make_context()
    text = SMALL.format(o_offset=o_offset, after1="[after %t0]" if tokens else "",
                        after2="[after %t1]" if tokens else "")
    m = Parser(ctx, text).parse_module()
    m.verify()
    tile_module = m.clone()
    ConvertTileToAipuPass(**opts).apply(ctx, m)
    m.verify()
    return m, tile_module, aipu.program_of(program_op(m))


def lines(prog) -> list[str]:
    from axc.runtime.isa import format_instr

    return [" ".join(format_instr(i).split()).split(" src=")[0] for _, i in prog.instructions()]


def test_small_program_and_its_waits():
    m, t, prog = small()
    assert lines(prog) == [
        "dma from=l2:0x0 to=l1:0x0 sizes=[4,8] from_strides=[64] to_strides=[64] signal=0",
        "wait tokens=[0]",
        "dpu op=clamp in=l1:0x0 in_shape=[2,2,64] out=l1:0x100 out_shape=[2,2,64] channels=8 clamp=[0,127] signal=1",
        "wait tokens=[1]",
        "dma from=l1:0x100 to=l2:0x100 sizes=[4,8] from_strides=[64] to_strides=[64] channel=1 signal=2",
        "wait tokens=[2]",
    ]
    assert [(d.kind, d.name, d.at) for d in prog.io] == [("input", "x", Mem("l2", 0)), ("output", "y", Mem("l2", 256))]
    x = np.random.default_rng(0).normal(size=(3, 8, 2, 2)).astype(np.float32) * 20
    ex = Executor(prog, aipu.constants_of(program_op(m)))
    np.testing.assert_array_equal(ex.run({"x": x})["y"], run_tile_module(t, {"x": x})["y"])


def test_memory_hazards_are_synchronised_without_tokens():
    """No tokens at all in the tile IR: the read of ``s`` still waits for the DMA that writes it,
    and the store waits for the clamp."""
    _, _, prog = small(tokens=False)
    ops = lines(prog)
    assert ops[1] == "wait tokens=[0]" and ops[3] == "wait tokens=[1]"


def test_write_after_read_on_reused_l1():
    """``o`` planned at the same L1 bytes as ``s``: the clamp writes what it reads (in place) -- the
    store must still wait for the clamp; with one DMA channel the store and the load share a queue."""
    _, _, prog = small(o_offset=0, dual_channel=False)
    ops = lines(prog)
    assert "channel=1" not in " ".join(ops)
    assert ops[3] == "wait tokens=[1]" and ops[4].startswith("dma from=l1:0x0 to=l2:0x100")


def test_dma_boxes_are_merged_into_byte_strides():
    hwc = _Buf("l2", 0x1000, (8, 8, 64), 1, "i8")
    l1 = _Buf("l1", 0x0, (3, 8, 64), 1, "i8")
    # three whole rows: one contiguous run
    assert _dma_box(hwc, l1, (2, 0, 0), (0, 0, 0), (3, 8, 64)) == (
        Mem("l2", 0x1000 + 2 * 512), Mem("l1", 0), (1536,), (), ())
    # a channel slice: pixels x channels
    assert _dma_box(hwc, l1, (2, 0, 16), (0, 0, 0), (3, 8, 32)) == (
        Mem("l2", 0x1000 + 2 * 512 + 16), Mem("l1", 0), (24, 32), (64,), (64,))
    # int32 tables: the innermost run is in bytes
    t = _Buf("ddr", 0x40, (3, 128), 4, "i32")
    tl = _Buf("l1", 0x80, (3, 32), 4, "i32")
    assert _dma_box(t, tl, (0, 64), (0, 0), (3, 32)) == (Mem("ddr", 0x40 + 256), Mem("l1", 0x80), (3, 128), (512,), (128,))
    # weights [OC, C, KH, KW]: a channel tile of OC is contiguous
    w = _Buf("ddr", 0, (64, 16, 3, 3), 1, "i8")
    wl = _Buf("l1", 0, (32, 16, 3, 3), 1, "i8")
    assert _dma_box(w, wl, (32, 0, 0, 0), (0, 0, 0, 0), (32, 16, 3, 3)) == (Mem("ddr", 32 * 144), Mem("l1", 0), (4608,), (), ())


def test_unplanned_module_fails():
    ctx = make_context()
    text = SMALL.format(o_offset=256, after1="", after2="")
    text = text.replace('name = "s", offset = 0 : i64', 'name = "s"')
    m = Parser(ctx, text).parse_module()
    with pytest.raises(PassFailedException, match="'tile.alloc' op \"s\" has no offset: run tile-plan-memory first"):
        ConvertTileToAipuPass().apply(ctx, m)


@pytest.fixture(scope="module")
def digits():
    return compile_digits_tile()


def test_digits_bit_exact_through_the_package(digits, tmp_path: Path):
    """quant interpreter == tile interpreter == the executor running the saved package."""
    ctx, module, quant = digits
    data = np.load(DIGITS / "digits_test.npz")
    x = data["image"][:64].astype(np.float32)
    want_tile = run_tile_module(module, {"image": x})
    want_quant = run_quant_module(quant, {"image": x})
    m = module.clone()
    ConvertTileToAipuPass().apply(ctx, m)
    m.verify()
    pkg = load_package(save_package(tmp_path / "digits.pkg", package_contents(m, {"source": "test"})))
    got = run(pkg, {"image": x})
    assert list(got) == ["probabilities"]
    np.testing.assert_array_equal(got["probabilities"], want_tile["probabilities"])
    np.testing.assert_array_equal(got["probabilities"], want_quant["probabilities"])
    acc = (got["probabilities"].argmax(axis=1) == data["label"][:64]).mean()
    assert acc > 0.95
    report = pkg.cycle_report()
    names = [layer.name for layer in report.layers]
    assert {"conv1", "conv2", "conv3", "fc1", "fc2"} <= set(names)
    assert [h.src for h in report.host_segments] == ["softmax"]
    assert 0 < report.mvm_utilisation < 1


def test_scheduling_keeps_results_and_saves_cycles(digits):
    ctx, module, _ = digits
    progs = {}
    for sched in (False, True):
        m = module.clone()
        ConvertTileToAipuPass(schedule=sched).apply(ctx, m)
        progs[sched] = (aipu.program_of(program_op(m)), aipu.constants_of(program_op(m)),
                        package_contents(m).host_segments)
    from axc.runtime.cycle_model import estimate

    x = np.load(DIGITS / "digits_test.npz")["image"][:8].astype(np.float32)
    outs = [Executor(p, c, h).run({"image": x})["probabilities"] for p, c, h in progs.values()]
    np.testing.assert_array_equal(outs[0], outs[1])
    assert estimate(progs[True][0]).total_cycles < estimate(progs[False][0]).total_cycles
