// RUN: ax-opt %s -t aipu-asm | filecheck %s

// The assembly target: header, .data blobs at offsets of the constants file (64-byte aligned),
// .input / .output, one .core section per task list, one instruction per line with the default
// operands left out.

// CHECK:      ; axc AIPU program
// CHECK-NEXT: .program cores=1 frequency=800000000 instances=2 l1_size=3670016 l2_size=28114944 ddr_size=1040187392
// CHECK-NEXT: .data name="w" at=ddr:0x0 offset=0 size=72 dtype=i8 shape=[8,1,3,3]
// CHECK-NEXT: .data name="t" at=ddr:0x100 offset=128 size=96 dtype=i32 shape=[3,8]
// CHECK-NEXT: .input name="x" at=l2:0x0 dtype=i8 shape=[1,1,8,8] stored=[8,8,64] scale=0.5 zp=-3
// CHECK-NEXT: .output name="y" at=l2:0x2000 dtype=i8 shape=[1,8,8,8] stored=[8,8,64] scale=0.25 zp=0
// CHECK-NEXT: .core 0
// CHECK-NEXT:   dma   from=ddr:0x0 to=l1:0x0 sizes=[72] channel=1 signal=0 src="conv1"
// CHECK-NEXT:   dma   from=ddr:0x100 to=l1:0x100 sizes=[96] channel=1 signal=1 src="conv1"
// CHECK-NEXT:   dma   from=l2:0x0 to=l1:0x1000 sizes=[64,1] from_strides=[64] to_strides=[64] signal=2 src="conv1"
// CHECK-NEXT:   wait  tokens=[0,1,2]
// CHECK-NEXT:   mvm   in=l1:0x1000 in_shape=[8,8,64] w=l1:0x0 w_shape=[8,1,3,3] table=l1:0x100 out=l1:0x2000 out_shape=[8,8,64] channels=[1,8] pads=[1,1,1,1] in_zp=-3 signal=3 src="conv1"
// CHECK-NEXT:   wait  tokens=[3]
// CHECK-NEXT:   dma   from=l1:0x2000 to=l2:0x2000 sizes=[4096] channel=1 signal=4 src="conv1"
// CHECK-NEXT:   wait  tokens=[4]
// CHECK-EMPTY:
aipu.program cores = 1, frequency = 800000000, instances = 2 {
  aipu.data name = "w", at = ddr[0x0], value = dense<1> : tensor<8x1x3x3xi8>
  aipu.data name = "t", at = ddr[0x100], value = dense<[[0, 0, 0, 0, 0, 0, 0, 0], [1073741824, 1073741824, 1073741824, 1073741824, 1073741824, 1073741824, 1073741824, 1073741824], [31, 31, 31, 31, 31, 31, 31, 31]]> : tensor<3x8xi32>
  aipu.io kind = input, name = "x", at = l2[0x0], dtype = i8, shape = [1, 1, 8, 8], stored = [8, 8, 64], scale = 0.5, zp = -3
  aipu.io kind = output, name = "y", at = l2[0x2000], dtype = i8, shape = [1, 8, 8, 8], stored = [8, 8, 64], scale = 0.25, zp = 0
  aipu.task_list core = 0 {
    aipu.dma from = ddr[0x0], to = l1[0x0], sizes = [72], channel = 1, signal = 0, src = "conv1"
    aipu.dma from = ddr[0x100], to = l1[0x100], sizes = [96], channel = 1, signal = 1, src = "conv1"
    aipu.dma from = l2[0x0], to = l1[0x1000], sizes = [64, 1], from_strides = [64], to_strides = [64], signal = 2, src = "conv1"
    aipu.wait tokens = [0, 1, 2]
    aipu.mvm in = l1[0x1000], in_shape = [8, 8, 64], w = l1[0x0], w_shape = [8, 1, 3, 3], table = l1[0x100], out = l1[0x2000], out_shape = [8, 8, 64], channels = [1, 8], strides = [1, 1], pads = [1, 1, 1, 1], in_zp = -3, signal = 3, src = "conv1"
    aipu.wait tokens = [3]
    aipu.dma from = l1[0x2000], to = l2[0x2000], sizes = [4096], channel = 1, signal = 4, src = "conv1"
    aipu.wait tokens = [4]
  }
}
