"""Bit-exactness of the tile level against the quant interpreter, before and after memory planning,
over forced height / channel tilings of every op kind, and token completeness of the schedules."""

from __future__ import annotations

import numpy as np
import pytest
from tilekit import CTX, QuantBuilder, V, token_hazards
from xdsl.dialects import builtin

from axc.dialects import tile
from axc.lowering.convert_quant_to_tile import ConvertQuantToTilePass
from axc.passes.tile_plan_memory import TilePlanMemoryPass
from axc.runtime.interp_quant import run_quant_module
from axc.runtime.interp_tile import run_tile_module


def lower_and_compare(qb: QuantBuilder, frames: int = 1, plan: bool = True, check_tokens: bool = True,
                      **opts) -> builtin.ModuleOp:
    m = qb.module()
    inputs = qb.inputs(frames=frames)
    ref = run_quant_module(m, inputs)
    ConvertQuantToTilePass(**opts).apply(CTX, m)
    m.verify()
    got = run_tile_module(m, inputs)
    assert ref.keys() == got.keys()
    for k in ref:
        assert ref[k].dtype == got[k].dtype and ref[k].shape == got[k].shape, k
        np.testing.assert_array_equal(ref[k], got[k], err_msg=f"output {k} (unplanned)")
    if check_tokens:
        assert token_hazards(m) == []
    if plan:
        TilePlanMemoryPass(l1_bytes=opts.get("l1_bytes", 3670016)).apply(CTX, m)
        m.verify()
        got = run_tile_module(m, inputs)
        for k in ref:
            np.testing.assert_array_equal(ref[k], got[k], err_msg=f"output {k} (planned)")
        if check_tokens:
            assert token_hazards(m) == []
    return m


def count(m: builtin.ModuleOp, cls) -> int:
    return sum(1 for o in m.walk() if isinstance(o, cls))


@pytest.mark.parametrize("fh,fo", [(0, 0), (3, 2), (7, 3)])
def test_conv_pad_stride_forced_tiles(fh: int, fo: int) -> None:
    qb = QuantBuilder()
    x = qb.input((1, 5, 13, 11))
    y = qb.conv(x, 160, k=(3, 3), strides=(2, 2), pads=(1, 1, 1, 1), clamp=(2, 127))
    qb.output(y)
    m = lower_and_compare(qb, force_h_tiling=fh, force_oc_tiling=fo)
    n_h, n_c = max(fh, 1), max(fo, 1)
    assert count(m, tile.Conv2dOp) == n_h * n_c
    # weights and tables: one constant each per channel tile
    assert count(m, tile.ConstantOp) == 2 * n_c


def test_conv_asymmetric_pads_dilation_and_stride_3() -> None:
    qb = QuantBuilder()
    x = qb.input((1, 7, 17, 9))
    y = qb.conv(x, 24, k=(3, 2), strides=(3, 1), pads=(2, 0, 1, 1), dilations=(2, 1))
    qb.output(y)
    lower_and_compare(qb, force_h_tiling=4)


@pytest.mark.parametrize("fh,fo", [(0, 0), (2, 2)])
def test_grouped_conv(fh: int, fo: int) -> None:
    qb = QuantBuilder()
    x = qb.input((1, 64, 9, 9))
    y = qb.conv(x, 128, group=4)  # 32 output channels per group: channel tiles of 2 groups
    qb.output(y)
    m = lower_and_compare(qb, force_h_tiling=fh, force_oc_tiling=fo)
    if fo:
        groups = {o.prop_int("group") for o in m.walk() if isinstance(o, tile.Conv2dOp)}
        assert groups == {2}


def test_grouped_conv_without_pword() -> None:
    qb = QuantBuilder()
    x = qb.input((1, 12, 6, 6))
    y = qb.conv(x, 18, group=3)
    qb.output(y)
    m = lower_and_compare(qb, force_h_tiling=2, force_oc_tiling=3, pword=1)
    assert count(m, tile.Conv2dOp) == 6


@pytest.mark.parametrize("fh,fo", [(0, 0), (3, 2)])
def test_depthwise_conv(fh: int, fo: int) -> None:
    qb = QuantBuilder()
    x = qb.input((1, 128, 10, 10))
    y = qb.conv(x, 128, group=128, strides=(2, 2), clamp=(2, 100))
    qb.output(y)
    m = lower_and_compare(qb, force_h_tiling=fh, force_oc_tiling=fo)
    for o in m.walk():
        if isinstance(o, tile.Conv2dOp):
            c, oc = o.prop_ints("channels")
            assert o.prop_int("group") == c == oc


def test_depthwise_channel_multiplier() -> None:
    qb = QuantBuilder()
    x = qb.input((1, 8, 7, 7))
    y = qb.conv(x, 16, group=8)
    qb.output(y)
    lower_and_compare(qb, force_h_tiling=3, force_oc_tiling=2, pword=1)


POOLS = [
    # kernel, strides, pads, ceil_mode, count_include_pad
    ((3, 3), (2, 2), (1, 1, 1, 1), False, False),
    ((3, 3), (2, 2), (1, 1, 1, 1), True, False),
    ((3, 3), (2, 2), (1, 1, 1, 1), True, True),
    ((3, 3), (2, 2), (0, 0, 0, 0), True, True),
    ((2, 3), (3, 2), (1, 0, 0, 1), True, True),
    ((3, 3), (1, 1), (1, 1, 1, 1), False, True),
    ((2, 2), (2, 2), (0, 0, 0, 0), False, False),
]


@pytest.mark.parametrize("kernel,strides,pads,ceil_mode,cip", POOLS)
@pytest.mark.parametrize("fh", [0, 3, 8])
def test_pools(kernel, strides, pads, ceil_mode, cip, fh: int) -> None:
    qb = QuantBuilder()
    x = qb.input((1, 70, 12, 11))
    a = qb.avg_pool(x, kernel, strides, pads, ceil_mode, cip, clamp=(-100, 120))
    b = qb.max_pool(x, kernel, strides, pads, ceil_mode)
    qb.output(a)
    qb.output(b)
    lower_and_compare(qb, force_h_tiling=fh, force_oc_tiling=2 if fh else 0)


def test_max_pool_dilated() -> None:
    qb = QuantBuilder()
    x = qb.input((1, 3, 11, 11))
    qb.output(qb.max_pool(x, (3, 3), (2, 2), (2, 2, 2, 2), True, dilations=(2, 2)))
    lower_and_compare(qb, force_h_tiling=3)


@pytest.mark.parametrize("kernel,strides,pads,ceil_mode,cip,dilations", [
    ((3, 3), (2, 2), (1, 0, 2, 1), True, True, (2, 2)),
    ((3, 2), (1, 2), (2, 1, 1, 0), True, False, (3, 2)),
    ((2, 3), (2, 1), (1, 1, 1, 1), False, True, (2, 3)),
])
@pytest.mark.parametrize("fh", [0, 3])
def test_avg_pool_dilated(kernel, strides, pads, ceil_mode, cip, dilations, fh: int) -> None:
    qb = QuantBuilder()
    x = qb.input((1, 70, 13, 12))
    qb.output(qb.avg_pool(x, kernel, strides, pads, ceil_mode, cip, clamp=(-100, 120), dilations=dilations))
    m = lower_and_compare(qb, force_h_tiling=fh, force_oc_tiling=2 if fh else 0)
    assert all(o.prop_ints("dilations") == dilations for o in m.walk() if isinstance(o, tile.AvgPoolOp))


def test_global_average_pool() -> None:
    qb = QuantBuilder()
    x = qb.input((1, 130, 7, 7))
    qb.output(qb.avg_pool(x, (7, 7), (1, 1), (0, 0, 0, 0)))
    lower_and_compare(qb, force_oc_tiling=3)


@pytest.mark.parametrize("fh,fo", [(0, 0), (3, 2)])
def test_add_requantize_clamp(fh: int, fo: int) -> None:
    qb = QuantBuilder()
    x = qb.input((1, 96, 9, 8))
    a = qb.conv(x, 96, name="a")
    b = qb.conv(x, 96, k=(1, 1), pads=(0, 0, 0, 0), scale=0.7, zp=-10, name="b")
    s = qb.add(a, b, clamp=(-5, 127))
    r = qb.requantize(s, clamp=(-20, 90))
    c = qb.clamp(r, -3, 60)
    qb.output(c)
    qb.output(qb.add(x, x, name="add_self"))
    lower_and_compare(qb, force_h_tiling=fh, force_oc_tiling=fo)


def test_concat_aliases_and_copies() -> None:
    qb = QuantBuilder()
    x = qb.input((1, 5, 8, 8), scale=0.5, zp=2)
    a = qb.conv(x, 70, name="a")
    b = qb.conv(x, 3, name="b")
    inner = qb.concat([a, b], name="inner")
    outer = qb.concat([inner, x, b], name="outer")  # x: a graph input, b: second use -> copies
    qb.output(outer)
    qb.output(qb.max_pool(inner, name="after"))
    m = lower_and_compare(qb, force_h_tiling=2)
    # a and b write straight into the outer buffer; x and the second b are copied
    assert count(m, tile.AllocOp) - sum(
        1 for o in m.walk() if isinstance(o, tile.AllocOp) and o.kind.data == "scratch") == 3  # in, out, pool out


def test_concat_height_axis() -> None:
    qb = QuantBuilder()
    x = qb.input((1, 4, 6, 5), scale=0.5, zp=2)
    a = qb.conv(x, 8, name="a")
    b = qb.conv(x, 8, name="b", strides=(2, 1))
    qb.output(qb.concat([a, b], axis=2))
    lower_and_compare(qb, force_h_tiling=2)


def test_reshape_output_and_host_segments() -> None:
    qb = QuantBuilder()
    x = qb.input((1, 3, 6, 6))
    g = qb.conv(x, 10, k=(6, 6), pads=(0, 0, 0, 0), name="fc")  # (1, 10, 1, 1)
    r = qb.reshape(g, (1, 10))
    qb.output(r)
    # a host segment in the middle: dequantize -> Softmax -> quantize -> AIPU
    d = qb.dequantize(r)
    s = qb.onnx("Softmax", [d], (1, 10), "axis = 1 : i64", name="softmax")
    q = qb.quantize(s, 1 / 255, -128)
    q4 = qb.reshape(q, (1, 10, 1, 1))
    y = qb.conv(q4, 4, k=(1, 1), pads=(0, 0, 0, 0), name="after_host")
    qb.output(y)
    # the graph ends in host ops: an f32 output
    d2 = qb.dequantize(y)
    f = qb.onnx("Flatten", [d2], (1, 4), "axis = 1 : i64", name="flatten")
    qb.output(qb.onnx("Softmax", [f], (1, 4), "axis = 1 : i64", name="final_softmax"))
    m = lower_and_compare(qb, frames=3)
    hosts = [o for o in m.walk() if isinstance(o, tile.HostOp)]
    assert len(hosts) == 2
    outs = {o.buffer_name.data: o for o in m.walk() if isinstance(o, tile.AllocOp) and o.kind.data == "output"}
    assert set(outs) == {"out0", "out1", "out2"}
    assert outs["out2"].result.type.element_type == builtin.f32  # type: ignore[union-attr]
    assert outs["out0"].scale is not None


def test_host_op_on_graph_input() -> None:
    qb = QuantBuilder()
    arg = V("%arg0", (1, 4, 5, 5), f32=True)
    qb.args.append(arg)
    t = qb.onnx("Softmax", [arg], (1, 4, 5, 5), "axis = 1 : i64", name="pre")
    q = qb.quantize(t, 1 / 255, -128)
    qb.output(qb.conv(q, 6))
    qb.output(arg)
    lower_and_compare(qb)


def test_input_to_output_passthrough_and_multiframe() -> None:
    qb = QuantBuilder()
    x = qb.input((1, 3, 4, 4))
    qb.output(x)
    qb.output(qb.requantize(x))
    lower_and_compare(qb, frames=2)


def test_constant_activations() -> None:
    """An int8 constant tensor (quant.constant, or quant.quantize of an onnx.Constant) added to an
    activation: an HWC constant buffer."""
    qb = QuantBuilder()
    x = qb.input((1, 3, 4, 5), scale=0.1, zp=0)
    c = qb._v((1, 3, 4, 5), 0.1, 0)
    vals = np.arange(60, dtype=np.int8).reshape(1, 3, 4, 5) - 30
    qb.lines.append(f'{c.name} = quant.constant {{value = dense<"0x{vals.tobytes().hex().upper()}"> : tensor<1x3x4x5xi8>}} : {c.type}')
    f = V("%cf", (1, 3, 4, 5), f32=True)
    fv = (np.arange(60, dtype=np.float32).reshape(1, 3, 4, 5) / 7).astype(np.float32)
    qb.lines.append(f'%cf = onnx.Constant {{value = dense<"0x{fv.tobytes().hex().upper()}"> : tensor<1x3x4x5xf32>}} : () -> tensor<1x3x4x5xf32>')
    cq = qb.quantize(f, 0.05, -10)
    qb.output(qb.add(x, c, name="add_c"))
    qb.output(qb.add(cq, x, name="add_cq"))
    m = lower_and_compare(qb, force_h_tiling=2)
    assert count(m, tile.ConstantOp) == 2
