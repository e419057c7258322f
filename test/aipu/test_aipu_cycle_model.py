"""The cycle model on small programs whose schedule is computed by hand (AIPU v1 figures:
issue 4 cycles, DMA setup 32, L2 64 B/cycle, DDR 16 B/cycle, weight load 64 B/cycle, 8 cycles per
MVM vector)."""

from __future__ import annotations

import pytest

from aipukit import Asm
from axc.runtime.cycle_model import estimate, instruction_cycles
from axc.runtime.hardware import AIPU_V1
from axc.runtime.isa import make_instr, Mem

MVM = ("mvm in=l1:0x0 in_shape=[8,8,64] w=l1:0x8000 w_shape=[64,64,1,1] table=l1:0x9000 out=l1:0xa000 "
       "out_shape=[8,8,64] channels=[64,64]")


def test_one_dma():
    a = Asm()
    a.core()
    a("dma from=l2:0x0 to=l1:0x0 sizes=[6400] signal=0")
    r = estimate(a.program())
    # issued at 0, starts after its 4 issue cycles, 32 setup + 6400 / 64
    assert r.total_cycles == 4 + 32 + 100
    assert r.units == {"core0.dma.core.ch0": 132}


def test_ddr_bandwidth_and_system_dma():
    a = Asm()
    a.core()
    a("dma from=ddr:0x0 to=l2:0x0 sizes=[10000] channel=1")
    r = estimate(a.program())
    assert r.total_cycles == 4 + 32 + 625
    assert r.units == {"dma.system.ch1": 657}


def test_dma_overlaps_mvm_and_utilisation():
    a = Asm()
    a.core()
    a('dma from=l2:0x0 to=l1:0x0 sizes=[4096] signal=0 src="conv"')  # 4 -> 100
    a("wait tokens=[0]")  # the sequencer resumes at 100 + 4
    a(MVM + ' signal=1 src="conv"')  # issued 104..108; 64 load + 64 px * 8 = 576: 108 -> 684
    a('dma from=l2:0x10000 to=l1:0x10000 sizes=[6400] channel=1 signal=2 src="next"')  # 112 -> 244
    a("wait tokens=[1,2]")  # 684 + 4
    r = estimate(a.program())
    assert r.total_cycles == 688
    layers = {layer.name: layer for layer in r.layers}
    assert (layers["next"].start, layers["next"].end) == (112, 244)  # under the MVM: overlapped
    assert (layers["conv"].start, layers["conv"].end) == (4, 684)
    conv = layers["conv"]
    assert conv.mvm_cycles == 576 and conv.weight_load_cycles == 64 and conv.dma_cycles == 96
    assert conv.macs == 8 * 8 * 64 * 64
    assert conv.utilisation() == pytest.approx(8 * 8 * 64 * 64 / (576 * 32768))
    assert r.mvm_utilisation == pytest.approx(conv.utilisation())
    assert r.fps == pytest.approx(800e6 / 688)


def test_the_same_program_serialized_is_slower():
    a = Asm()
    a.core()
    a("dma from=l2:0x0 to=l1:0x0 sizes=[4096] signal=0")
    a("wait tokens=[0]")
    a(MVM + " signal=1")
    a("wait tokens=[1]")  # 684 + 4 = 688
    a("dma from=l2:0x10000 to=l1:0x10000 sizes=[6400] channel=1 signal=2")  # issued 688..692, ends 824
    assert estimate(a.program()).total_cycles == 824


def test_mvm_passes_over_the_array():
    # K = 600 rows and 600 columns: weight sets 512/88 x 512/88
    ins = make_instr("mvm", 0, in_=Mem("l1", 0), in_shape=(1, 1, 640), w=Mem("l1", 0x1000), w_shape=(600, 600, 1, 1),
                     table=Mem("l1", 0x80000), out=Mem("l1", 0x90000), out_shape=(1, 1, 640), channels=(600, 600))
    load = 512 * 512 // 64 + 2 * (512 * 88 // 64) + -(-88 * 88 // 64)
    assert instruction_cycles(ins) == load + 1 * 2 * 2 * 8
    # grouped: 2 groups of K = 4 x 3 x 3 = 36 rows and 8 columns, 10 x 10 pixels
    g = make_instr("mvm", 0, in_=Mem("l1", 0), in_shape=(12, 12, 64), w=Mem("l1", 0x1000), w_shape=(16, 4, 3, 3),
                   table=Mem("l1", 0x2000), out=Mem("l1", 0x3000), out_shape=(10, 10, 64), channels=(8, 16), group=2)
    assert instruction_cycles(g) == 2 * -(-36 * 8 // 64) + 100 * 2 * 8


def test_weights_stay_in_the_array_until_overwritten():
    a = Asm()
    a.core()
    a(MVM)  # loads: 4 -> 580
    a(MVM + " signal=1")  # same weights, one pass: no load: 580 -> 1092
    a("wait tokens=[1]")  # 1096
    a("dma from=l2:0x0 to=l1:0x8000 sizes=[64] signal=2")  # overwrites the weights: 1100 -> 1133
    a("wait tokens=[2]")  # 1137
    a(MVM)  # reloads: 1141 -> 1717
    r = estimate(a.program())
    assert r.total_cycles == 1141 + 576
    assert r.layers[0].weight_load_cycles == 128


def test_dwpu_dpu_and_host_costs():
    a = Asm(instances=2)
    a.core()
    a("dwpu op=maxpool in=l1:0x0 in_shape=[8,8,64] out=l1:0x1000 out_shape=[4,4,64] channels=[32,32] kernel=[2,2] "
      'strides=[2,2] src="pool"')  # 16 px x 1 PWORD x 4 taps = 64
    a("dpu op=add a=l1:0x0 a_shape=[3,4,128] b=l1:0x800 b_shape=[3,4,128] out=l1:0x2000 out_shape=[3,4,128] "
      'channels=100 src="add"')  # 12 px x 2 PWORDs = 24
    a('host segment=0 inputs=[{at=l2:0x0 dtype=i8 shape=[1,10] stored=[1,1,64] scale=1.0 zp=0}] src="softmax"')
    r = estimate(a.program())
    layers = {layer.name: layer for layer in r.layers}
    assert layers["pool"].compute_cycles == 64 and layers["add"].compute_cycles == 24
    assert layers["softmax"].compute_cycles == 0
    assert [(h.segment, h.src) for h in r.host_segments] == [(0, "softmax")]
    assert r.total_cycles == 4 + 64  # dwpu and dpu run concurrently; the host call costs nothing
    assert r.fps == pytest.approx(2 * 800e6 / 68)
    d = r.to_dict()
    assert d["cycles_per_frame"] == 68 and d["frequency_hz"] == 800_000_000 and d["instances"] == 2
    assert d["layers"][0]["name"] == "pool" and d["fps"] == pytest.approx(2 * 800e6 / 68)
    import json

    json.dumps(d)  # JSON-ready
    assert "softmax" in r.format()


def test_dilated_pooling_costs_its_taps():
    """A dilated window reads the same KH x KW taps: the DWPU cost does not depend on dilations."""
    common = dict(in_=Mem("l1", 0), in_shape=(9, 9, 64), out=Mem("l1", 0x8000), channels=(64, 64),
                  kernel=(3, 3), multipliers=[0] + [2**30] * 9, shift=30)
    plain = make_instr("dwpu", 0, op="avgpool", out_shape=(7, 7, 64), **common)
    dilated = make_instr("dwpu", 0, op="avgpool", out_shape=(5, 5, 64), dilations=(2, 2), **common)
    assert instruction_cycles(plain) == 7 * 7 * 9 * 64 // AIPU_V1.dwpu_bytes_per_cycle
    assert instruction_cycles(dilated) == 5 * 5 * 9 * 64 // AIPU_V1.dwpu_bytes_per_cycle


def test_cross_core_tokens_and_deadlock():
    a = Asm(cores=2)
    a.core(0)
    a("wait tokens=[1]")
    a("dma from=l2:0x0 to=l2:0x100 sizes=[64]")
    a.core(1)
    a("dma from=l2:0x0 to=l2:0x200 sizes=[6400] signal=1")  # 4 -> 136 on the system DMA
    r = estimate(a.program())
    assert r.total_cycles == 136 + 4 + 4 + 32 + 1  # after the wait, on the shared system DMA
    b = Asm(cores=2)
    b.core(0)
    b("wait tokens=[1]")
    b("dma from=l2:0x0 to=l2:0x100 sizes=[64] signal=0")
    b.core(1)
    b("wait tokens=[0]")
    b("dma from=l2:0x0 to=l2:0x200 sizes=[64] signal=1")
    with pytest.raises(ValueError, match="deadlock"):
        estimate(b.program())


def test_hardware_figures_come_from_the_model():
    a = Asm()
    a.core()
    a("dma from=l2:0x0 to=l1:0x0 sizes=[6400]")
    slow = AIPU_V1.with_(dma_l2_bytes_per_cycle=32, instruction_issue_cycles=1)
    assert estimate(a.program(), slow).total_cycles == 1 + 32 + 200
