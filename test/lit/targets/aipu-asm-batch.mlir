// RUN: ax-opt %s -t aipu-asm | filecheck %s

// A Batch-2 program in the assembly: batch in the header, frame = 1 on the I/O of the second frame
// (frame 0 and batch 1 are defaults and left out), one .core section per core.

// CHECK:      .program cores=2 frequency=800000000 instances=1 batch=2 l1_size=3670016 l2_size=28114944 ddr_size=1040187392
// CHECK-NEXT: .input name="x" at=l2:0x0 dtype=i8 shape=[1,8] stored=[1,1,64] scale=0.5 zp=0
// CHECK-NEXT: .input name="x" frame=1 at=l2:0x80 dtype=i8 shape=[1,8] stored=[1,1,64] scale=0.5 zp=0
// CHECK-NEXT: .output name="y" at=l2:0x40 dtype=i8 shape=[1,8] stored=[1,1,64] scale=0.5 zp=0
// CHECK-NEXT: .output name="y" frame=1 at=l2:0xc0 dtype=i8 shape=[1,8] stored=[1,1,64] scale=0.5 zp=0
// CHECK-NEXT: .core 0
// CHECK-NEXT:   dma   from=l2:0x0 to=l1:0x0 sizes=[64] signal=0
// CHECK-NEXT:   wait  tokens=[0]
// CHECK-NEXT:   dma   from=l1:0x0 to=l2:0x40 sizes=[64] signal=1
// CHECK-NEXT:   wait  tokens=[1]
// CHECK-NEXT: .core 1
// CHECK-NEXT:   dma   from=l2:0x80 to=l1:0x0 sizes=[64] signal=2
// CHECK-NEXT:   wait  tokens=[2]
// CHECK-NEXT:   dma   from=l1:0x0 to=l2:0xc0 sizes=[64] signal=3
// CHECK-NEXT:   wait  tokens=[3]
// CHECK-EMPTY:
aipu.program cores = 2, frequency = 800000000, instances = 1, batch = 2 {
  aipu.io kind = input, name = "x", at = l2[0x0], dtype = i8, shape = [1, 8], stored = [1, 1, 64], scale = 0.5, zp = 0
  aipu.io kind = input, name = "x", frame = 1, at = l2[0x80], dtype = i8, shape = [1, 8], stored = [1, 1, 64], scale = 0.5, zp = 0
  aipu.io kind = output, name = "y", at = l2[0x40], dtype = i8, shape = [1, 8], stored = [1, 1, 64], scale = 0.5, zp = 0
  aipu.io kind = output, name = "y", frame = 1, at = l2[0xc0], dtype = i8, shape = [1, 8], stored = [1, 1, 64], scale = 0.5, zp = 0
  aipu.task_list core = 0 {
    aipu.dma from = l2[0x0], to = l1[0x0], sizes = [64], signal = 0
    aipu.wait tokens = [0]
    aipu.dma from = l1[0x0], to = l2[0x40], sizes = [64], signal = 1
    aipu.wait tokens = [1]
  }
  aipu.task_list core = 1 {
    aipu.dma from = l2[0x80], to = l1[0x0], sizes = [64], signal = 2
    aipu.wait tokens = [2]
    aipu.dma from = l1[0x0], to = l2[0xc0], sizes = [64], signal = 3
    aipu.wait tokens = [3]
  }
}
