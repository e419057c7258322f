"""The executor on hand-written assembly, against the integer kernels called directly."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from aipukit import Asm, table
from axc.runtime import float_kernels as fk
from axc.runtime import int_kernels as ik
from axc.runtime.executor import ExecutionError
from axc.runtime.isa import Mem
from axc.runtime.quantization import dequantize, quantize, requantize

RNG = np.random.default_rng(7)


def i8(*shape) -> np.ndarray:
    return RNG.integers(-128, 128, size=shape, dtype=np.int8)


def padded(x: np.ndarray, cs: int = 64) -> np.ndarray:
    """HWC with the channels padded to ``cs`` (padding bytes random: kernels must not read them)."""
    out = i8(*x.shape[:2], cs)
    out[:, :, : x.shape[2]] = x
    return out


def test_mvm_conv_with_padding_and_stride():
    x, w = i8(7, 6, 3), RNG.integers(-127, 128, size=(5, 3, 3, 3), dtype=np.int8)
    bias = RNG.integers(-5000, 5000, 5)
    mult, shift = RNG.integers(2**30, 2**31, 5), RNG.integers(8, 20, 5)
    a = Asm()
    a.data("x", "l2:0x0", padded(x))
    a.data("w", "l2:0x4000", w)
    a.data("t", "l2:0x4200", table(bias, mult, shift))
    a.core()
    a("dma from=l2:0x0 to=l1:0x0 sizes=[2688] signal=0")
    a("dma from=l2:0x4000 to=l1:0x1000 sizes=[135] channel=1 signal=1")
    a("dma from=l2:0x4200 to=l1:0x1100 sizes=[60] channel=1 signal=2")
    a("wait tokens=[0,1,2]")
    a("mvm in=l1:0x0 in_shape=[7,6,64] w=l1:0x1000 w_shape=[5,3,3,3] table=l1:0x1100 out=l1:0x2000 "
      "out_shape=[4,3,64] channels=[3,5] strides=[2,2] pads=[1,1,1,0] in_zp=-7 out_zp=3 clamp=[-100,120] signal=3 src=\"c\"")
    a("wait tokens=[3]")
    ex = a.executor()
    ex.execute()
    acc = ik.conv2d(x, w, bias.astype(np.int32), -7, (2, 2), (1, 1, 1, 0))
    want = requantize(acc, mult, shift, 3, -100, 120)
    got = ex.view(0, ex.program.task_lists[0][4]["out"], (4, 3, 64))[:, :, :5]
    np.testing.assert_array_equal(got, want)


def test_mvm_grouped_conv_and_dilation():
    x, w = i8(6, 6, 4), RNG.integers(-127, 128, size=(6, 2, 2, 2), dtype=np.int8)
    a = Asm()
    a.data("x", "l1:0x0", padded(x))
    a.data("w", "l1:0x1000", w)
    a.data("t", "l1:0x1100", table(np.arange(6) * 10, np.full(6, 2**30), np.full(6, 12)))
    a.core()
    a("mvm in=l1:0x0 in_shape=[6,6,64] w=l1:0x1000 w_shape=[6,2,2,2] table=l1:0x1100 out=l1:0x2000 "
      "out_shape=[4,4,64] channels=[4,6] dilations=[2,2] group=2 in_zp=5")
    ex = a.executor()
    ex.execute()
    acc = ik.conv2d(x, w, (np.arange(6) * 10).astype(np.int32), 5, dilations=(2, 2), group=2)
    np.testing.assert_array_equal(ex.view(0, ex.program.task_lists[0][0]["out"], (4, 4, 64))[:, :, :6],
                                  requantize(acc, 2**30, 12, 0))


def test_dwpu_depthwise_maxpool_avgpool():
    x = i8(5, 5, 8)
    w = RNG.integers(-127, 128, size=(8, 1, 3, 3), dtype=np.int8)
    t = table(np.zeros(8), np.full(8, 2**30), np.full(8, 10))
    mults, shift = np.array([0, 2**30, 2**29, 715827883, 2**28], np.int64), 30
    a = Asm()
    a.data("x", "l1:0x0", padded(x))
    a.data("w", "l1:0x1000", w)
    a.data("t", "l1:0x1100", t)
    a.core()
    a("dwpu op=dwconv in=l1:0x0 in_shape=[5,5,64] w=l1:0x1000 w_shape=[8,1,3,3] table=l1:0x1100 out=l1:0x2000 "
      "out_shape=[5,5,64] channels=[8,8] kernel=[3,3] pads=[1,1,1,1] in_zp=2 out_zp=-1")
    a("dwpu op=maxpool in=l1:0x0 in_shape=[5,5,64] out=l1:0x3000 out_shape=[3,3,64] channels=[8,8] kernel=[2,2] "
      "strides=[2,2] ceil_mode=1")
    a("dwpu op=avgpool in=l1:0x0 in_shape=[5,5,64] out=l1:0x4000 out_shape=[3,3,64] channels=[8,8] kernel=[2,2] "
      f"strides=[2,2] pads=[0,0,1,1] in_zp=4 out_zp=-3 multipliers=[{','.join(map(str, mults))}] shift={shift}")
    a("dwpu op=avgpool in=l1:0x0 in_shape=[5,5,64] out=l1:0x5000 out_shape=[4,3,64] channels=[8,8] kernel=[2,2] "
      f"dilations=[2,3] pads=[1,0,0,1] ceil_mode=1 count_include_pad=1 in_zp=4 out_zp=-3 "
      f"multipliers=[{','.join(map(str, mults))}] shift={shift}")
    ex = a.executor()
    ex.execute()
    lst = ex.program.task_lists[0]
    want = requantize(ik.conv2d(x, w, np.zeros(8, np.int32), 2, pads=(1, 1, 1, 1), group=8), 2**30, 10, -1)
    np.testing.assert_array_equal(ex.view(0, lst[0]["out"], (5, 5, 64))[:, :, :8], want)
    np.testing.assert_array_equal(ex.view(0, lst[1]["out"], (3, 3, 64))[:, :, :8],
                                  ik.max_pool(x, (2, 2), (2, 2), ceil_mode=True))
    np.testing.assert_array_equal(ex.view(0, lst[2]["out"], (3, 3, 64))[:, :, :8],
                                  ik.avg_pool(x, 4, (2, 2), (2, 2), (0, 0, 1, 1), False, False, mults, shift, -3))
    np.testing.assert_array_equal(ex.view(0, lst[3]["out"], (4, 3, 64))[:, :, :8],
                                  ik.avg_pool(x, 4, (2, 2), (1, 1), (1, 0, 0, 1), True, True, mults, shift, -3,
                                              dilations=(2, 3)))


def test_dpu_add_requantize_clamp():
    xa, xb = i8(3, 4, 10), i8(3, 4, 10)
    a = Asm()
    a.data("a", "l1:0x0", padded(xa))
    a.data("b", "l1:0x400", padded(xb, 128))
    a.core()
    a("dpu op=add a=l1:0x0 a_shape=[3,4,64] b=l1:0x400 b_shape=[3,4,128] out=l1:0x1000 out_shape=[3,4,64] "
      "channels=10 a_zp=3 a_mult=1073741824 b_zp=-2 b_mult=536870912 shift=30 out_zp=1 clamp=[0,127]")
    a("dpu op=requantize in=l1:0x0 in_shape=[3,4,64] out=l1:0x2000 out_shape=[3,4,64] channels=10 in_zp=3 "
      "mult=1518500250 shift=31 out_zp=-5")
    a("dpu op=clamp in=l1:0x0 in_shape=[3,4,64] out=l1:0x3000 out_shape=[3,4,64] channels=10 clamp=[-20,20]")
    ex = a.executor()
    ex.execute()
    lst = ex.program.task_lists[0]
    out = [ex.view(0, lst[i]["out"], (3, 4, 64))[:, :, :10] for i in range(3)]
    np.testing.assert_array_equal(out[0], ik.add(xa, 3, 2**30, xb, -2, 2**29, 30, 1, 0, 127))
    np.testing.assert_array_equal(out[1], ik.requantize_int8(xa, 3, 1518500250, 31, -5))
    np.testing.assert_array_equal(out[2], np.clip(xa, -20, 20))


def test_dma_boxes():
    """A 3-D box (rows x cols x channel slice) with different strides on both sides, a 4-D box and
    a 1-D contiguous copy."""
    src = i8(6, 7, 64)
    a = Asm()
    a.data("src", "l2:0x0", src)
    a.core()
    # rows 1..4, cols 2..6, channels 16..47 of src -> a dense 4x5x32 buffer in L1
    base = (1 * 7 + 2) * 64 + 16
    a(f"dma from=l2:0x{base:x} to=l1:0x0 sizes=[4,5,32] from_strides=[448,64] to_strides=[160,32]")
    # the same box into channel offset 8 of a 4x5x64 buffer
    a(f"dma from=l2:0x{base:x} to=l1:0x1008 sizes=[4,5,32] from_strides=[448,64] to_strides=[320,64]")
    # 4-D: [2, 3, 2, 16]: every other row, pairs of columns, 16 channels, into a 32-channel buffer
    a("dma from=l2:0x0 to=l1:0x3000 sizes=[2,3,2,16] from_strides=[896,128,64] to_strides=[192,64,32]")
    a("dma from=l2:0x0 to=l1:0x4000 sizes=[2688] signal=0")
    a("wait tokens=[0]")
    ex = a.executor()
    ex.execute()
    box = src[1:5, 2:7, 16:48]
    np.testing.assert_array_equal(ex.view(0, ex.program.task_lists[0][0]["to"], (4, 5, 32)), box)
    np.testing.assert_array_equal(ex.view(0, Mem("l1", 0x1000), (4, 5, 64))[:, :, 8:40], box)
    got4 = ex.view(0, ex.program.task_lists[0][2]["to"], (2, 3, 2, 32))[..., :16]
    want4 = np.array([[[src[2 * i, 2 * j + k, :16] for k in range(2)] for j in range(3)] for i in range(2)])
    np.testing.assert_array_equal(got4, want4)
    np.testing.assert_array_equal(ex.view(0, ex.program.task_lists[0][3]["to"], (2688,)), src.reshape(-1)[:2688])


def _softmax_model() -> bytes:
    x = helper.make_tensor_value_info("in_0", TensorProto.FLOAT, [1, 10])
    y = helper.make_tensor_value_info("out_0", TensorProto.FLOAT, [1, 10])
    g = helper.make_graph([helper.make_node("Softmax", ["in_0"], ["out_0"], axis=1)], "s", [x], [y])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString()


def test_host_segment_and_float_io():
    """int8 input -> host Softmax (float kernels) -> f32 output; Executor.run quantizes and dequantizes."""
    a = Asm()
    a.io("input", "logits", "l2:0x0", [1, 10], [1, 1, 64], 0.125, -2)
    a.io("output", "probs", "l2:0x100", [1, 10], [1, 10], dtype="f32")
    a.core()
    a("host segment=0 inputs=[{at=l2:0x0 dtype=i8 shape=[1,10] stored=[1,1,64] scale=0.125 zp=-2}] "
      "outputs=[{at=l2:0x100 dtype=f32 shape=[1,10] stored=[1,10] scale=1.0 zp=0}] src=\"softmax\"")
    ex = a.executor({0: _softmax_model()})
    x = RNG.normal(size=(3, 10)).astype(np.float32) * 4
    got = ex.run({"logits": x})["probs"]
    q = quantize(x, 0.125, -2)
    want = fk.softmax(dequantize(q, 0.125, -2), axis=1)
    assert got.shape == (3, 10) and got.dtype == np.float32
    np.testing.assert_array_equal(got, want)


def _shuffle_model() -> bytes:
    """ShuffleNet's channel shuffle: Reshape [1, 2, 3, 2, 2] -> Transpose -> Reshape [1, 6, 2, 2]."""
    x = helper.make_tensor_value_info("in_0", TensorProto.FLOAT, [1, 6, 2, 2])
    y = helper.make_tensor_value_info("out_0", TensorProto.FLOAT, [1, 6, 2, 2])
    shapes = [helper.make_tensor("s1", TensorProto.INT64, [5], [1, 2, 3, 2, 2]),
              helper.make_tensor("s2", TensorProto.INT64, [4], [1, 6, 2, 2])]
    nodes = [helper.make_node("Reshape", ["in_0", "s1"], ["a"]),
             helper.make_node("Transpose", ["a"], ["b"], perm=[0, 2, 1, 3, 4]),
             helper.make_node("Reshape", ["b", "s2"], ["out_0"])]
    g = helper.make_graph(nodes, "shuffle", [x], [y], initializer=shapes)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString()


@pytest.mark.parametrize("out_q", [(0.05, 3), (0.07, -9)])
def test_host_data_movement_segment(out_q):
    """A segment of Reshape / Transpose only: with one quantization on both sides the runtime moves
    the int8 values themselves; with another it dequantizes and requantizes. Both equal the float
    definition quantize(shuffle(dequantize(q)))."""
    from axc.runtime.host_segment import HostSegment

    seg = HostSegment.from_bytes(_shuffle_model())
    assert seg.moves_data_only and not HostSegment.from_bytes(_softmax_model()).moves_data_only
    a = Asm()
    a.io("input", "x", "l2:0x0", [1, 6, 2, 2], [2, 2, 64], 0.05, 3)
    a.io("output", "y", "l2:0x400", [1, 6, 2, 2], [2, 2, 64], *out_q)
    a.core()
    a(f"host segment=0 inputs=[{{at=l2:0x0 dtype=i8 shape=[1,6,2,2] stored=[2,2,64] scale=0.05 zp=3}}] "
      f"outputs=[{{at=l2:0x400 dtype=i8 shape=[1,6,2,2] stored=[2,2,64] scale={out_q[0]} zp={out_q[1]}}}] "
      f"src=\"shuffle\"")
    ex = a.executor({0: _shuffle_model()})
    q = i8(1, 6, 2, 2)
    got = ex.run_quantized({"x": q})["y"]
    want = quantize(seg.run([dequantize(q, 0.05, 3)])[0], *out_q)
    np.testing.assert_array_equal(got, want)
    if out_q == (0.05, 3):
        np.testing.assert_array_equal(got, q.reshape(1, 2, 3, 2, 2).transpose(0, 2, 1, 3, 4).reshape(1, 6, 2, 2))


def test_run_quantizes_inputs_and_dequantizes_outputs_per_frame():
    a = Asm()
    a.io("input", "x", "l2:0x0", [1, 3, 2, 2], [2, 2, 64], 0.5, 10)
    a.io("output", "y", "l2:0x1000", [1, 3, 2, 2], [2, 2, 64], 0.25, -4)
    a.core()
    a("dma from=l2:0x0 to=l1:0x0 sizes=[256] signal=0")
    a("wait tokens=[0]")
    a("dpu op=requantize in=l1:0x0 in_shape=[2,2,64] out=l1:0x100 out_shape=[2,2,64] channels=3 in_zp=10 "
      "mult=1073741824 shift=29 out_zp=-4 signal=1")
    a("wait tokens=[1]")
    a("dma from=l1:0x100 to=l2:0x1000 sizes=[256] channel=1 signal=2")
    a("wait tokens=[2]")
    ex = a.executor()
    x = RNG.normal(size=(4, 3, 2, 2)).astype(np.float32) * 10
    y = ex.run({"x": x})["y"]
    q = quantize(x, 0.5, 10)
    want = dequantize(ik.requantize_int8(q, 10, 2**30, 29, -4), 0.25, -4)
    np.testing.assert_array_equal(y, want)


def test_two_cores_with_a_cross_core_token():
    a = Asm(cores=2)
    a.data("x", "l2:0x0", np.arange(64, dtype=np.int8))
    a.core(0)
    a("wait tokens=[1]")  # core 1 signals it
    a("dma from=l2:0x100 to=l2:0x200 sizes=[64]")
    a.core(1)
    a("dma from=l2:0x0 to=l2:0x100 sizes=[64] signal=1")
    ex = a.executor()
    ex.execute()
    np.testing.assert_array_equal(ex.view(0, ex.program.task_lists[0][1]["to"], (64,)), np.arange(64))


def test_deadlock_and_kernel_errors_name_the_line():
    a = Asm(cores=2)
    a.core(0)
    a("wait tokens=[1]")
    a("dma from=l2:0x0 to=l2:0x100 sizes=[64] signal=0")
    a.core(1)
    a("wait tokens=[0]")
    a("dma from=l2:0x0 to=l2:0x200 sizes=[64] signal=1")
    with pytest.raises(ExecutionError, match="deadlock: core 0 at line 3 waits for \\[1\\], core 1 at line 6 waits for \\[0\\]"):
        a.executor().execute()
    b = Asm()
    b.data("t", "l1:0x100", table(np.zeros(2), np.full(2, -1), np.zeros(2)))  # multiplier < 0
    b.core()
    b("mvm in=l1:0x0 in_shape=[1,1,64] w=l1:0x80 w_shape=[2,1,1,1] table=l1:0x100 out=l1:0x200 "
      "out_shape=[1,1,64] channels=[1,2]")
    with pytest.raises(ExecutionError, match="'mvm' \\(line 4\\): requantize: multiplier"):
        b.executor().execute()


def test_host_segment_model_errors():
    bad = helper.make_model(helper.make_graph(
        [helper.make_node("Foo", ["in_0"], ["out_0"], domain="com.example")], "g",
        [helper.make_tensor_value_info("in_0", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("out_0", TensorProto.FLOAT, [1])])).SerializeToString()
    a = Asm()
    a.core()
    with pytest.raises(ValueError, match="unsupported domain 'com.example'"):
        a.executor({0: bad})
    assert isinstance(onnx.load_from_string(_softmax_model()), onnx.ModelProto)
