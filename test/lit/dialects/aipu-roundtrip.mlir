// RUN: ax-opt %s | ax-opt | filecheck %s
// RUN: ax-opt %s --print-op-generic | ax-opt | filecheck %s

// Every instruction in the custom syntax: key = value operands, addresses as space[0xADDR].

// CHECK:      aipu.program cores = 1, frequency = 800000000, instances = 1 {
// CHECK-NEXT:   aipu.data name = "w", at = ddr[0x0], value = dense<1> : tensor<8x1x3x3xi8>
// CHECK-NEXT:   aipu.io kind = input, name = "x", at = l2[0x0], dtype = i8, shape = [1, 1, 8, 8], stored = [8, 8, 64], scale = 0.5, zp = -3
// CHECK-NEXT:   aipu.task_list core = 0 {
// CHECK-NEXT:     aipu.dma from = l2[0x0], to = l1[0x1000], sizes = [8, 8, 1], from_strides = [512, 64], to_strides = [512, 64], signal = 0, src = "conv1"
// CHECK-NEXT:     aipu.dma from = ddr[0x0], to = l1[0x0], sizes = [72], channel = 1, signal = 1
// CHECK-NEXT:     aipu.wait tokens = [0, 1]
// CHECK-NEXT:     aipu.mvm in = l1[0x1000], in_shape = [8, 8, 64], w = l1[0x0], w_shape = [8, 1, 3, 3], table = l1[0x100], out = l1[0x2000], out_shape = [8, 8, 64], channels = [1, 8], pads = [1, 1, 1, 1], in_zp = -3, signal = 2, src = "conv1"
// CHECK-NEXT:     aipu.wait tokens = [2]
// CHECK-NEXT:     aipu.dwpu op = avgpool, in = l1[0x2000], in_shape = [8, 8, 64], out = l1[0x3000], out_shape = [4, 4, 64], channels = [8, 8], kernel = [2, 2], strides = [2, 2], multipliers = [0, 1073741824, 536870912, 357913941, 268435456], shift = 30
// CHECK-NEXT:     aipu.dpu op = clamp, in = l1[0x2000], in_shape = [8, 8, 64], out = l1[0x4000], out_shape = [8, 8, 64], channels = 8, clamp = [0, 127]
// CHECK-NEXT:     aipu.dpu op = mul, a = l1[0x2000], a_shape = [8, 8, 64], b = l1[0x5000], b_shape = [1, 1, 64], out = l1[0x4000], out_shape = [8, 8, 64], channels = 8, a_zp = 1, b_zp = -2, mult = 1073741824, shift = 31, out_zp = 3
// CHECK-NEXT:     aipu.dpu op = lut, in = l1[0x2000], in_shape = [8, 8, 64], table = l1[0x5000], out = l1[0x4000], out_shape = [8, 8, 64], channels = 8
// CHECK-NEXT:     aipu.host segment = 0, inputs = [{at = l2[0x0], dtype = i8, shape = [1, 1, 8, 8], stored = [8, 8, 64], scale = 0.5, zp = -3}], outputs = [] {
// CHECK-NEXT:     ^{{.*}}(%{{.*}}: tensor<1x1x8x8xf32>):
// CHECK-NEXT:       aipu.yield
// CHECK-NEXT:     }
aipu.program cores = 1, frequency = 800000000, instances = 1 {
  aipu.data name = "w", at = ddr[0x0], value = dense<1> : tensor<8x1x3x3xi8>
  aipu.io kind = input, name = "x", at = l2[0x0], dtype = i8, shape = [1, 1, 8, 8], stored = [8, 8, 64], scale = 0.5, zp = -3
  aipu.task_list core = 0 {
    aipu.dma from = l2[0x0], to = l1[0x1000], sizes = [8, 8, 1], from_strides = [512, 64], to_strides = [512, 64], signal = 0, src = "conv1"
    aipu.dma from = ddr[0], to = l1[0], sizes = [72], channel = 1, signal = 1
    aipu.wait tokens = [0, 1]
    aipu.mvm in = l1[4096], in_shape = [8, 8, 64], w = l1[0x0], w_shape = [8, 1, 3, 3], table = l1[0x100], out = l1[0x2000], out_shape = [8, 8, 64], channels = [1, 8], pads = [1, 1, 1, 1], in_zp = -3, signal = 2, src = "conv1"
    aipu.wait tokens = [2]
    aipu.dwpu op = avgpool, in = l1[0x2000], in_shape = [8, 8, 64], out = l1[0x3000], out_shape = [4, 4, 64], channels = [8, 8], kernel = [2, 2], strides = [2, 2], multipliers = [0, 1073741824, 536870912, 357913941, 268435456], shift = 30
    aipu.dpu op = clamp, in = l1[0x2000], in_shape = [8, 8, 64], out = l1[0x4000], out_shape = [8, 8, 64], channels = 8, clamp = [0, 127]
    aipu.dpu op = mul, a = l1[0x2000], a_shape = [8, 8, 64], b = l1[0x5000], b_shape = [1, 1, 64], out = l1[0x4000], out_shape = [8, 8, 64], channels = 8, a_zp = 1, b_zp = -2, mult = 1073741824, shift = 31, out_zp = 3
    aipu.dpu op = lut, in = l1[0x2000], in_shape = [8, 8, 64], table = l1[0x5000], out = l1[0x4000], out_shape = [8, 8, 64], channels = 8
    aipu.host segment = 0, inputs = [{at = l2[0x0], dtype = i8, shape = [1, 1, 8, 8], stored = [8, 8, 64], scale = 0.5, zp = -3}], outputs = [] {
    ^bb0(%a: tensor<1x1x8x8xf32>):
      aipu.yield
    }
  }
}

// Batch-x: the header's batch and the I/O buffers of every frame (frame = 0 is left out).

// CHECK:      aipu.program cores = 2, frequency = 800000000, instances = 1, batch = 2 {
// CHECK-NEXT:   aipu.io kind = input, name = "x", at = l2[0x0], dtype = i8, shape = [1, 8], stored = [1, 1, 64], scale = 0.5, zp = 0
// CHECK-NEXT:   aipu.io kind = input, name = "x", frame = 1, at = l2[0x40], dtype = i8, shape = [1, 8], stored = [1, 1, 64], scale = 0.5, zp = 0
// CHECK-NEXT:   aipu.task_list core = 0 {
// CHECK-NEXT:     aipu.dma from = l2[0x0], to = l1[0x0], sizes = [64]
// CHECK-NEXT:   }
// CHECK-NEXT:   aipu.task_list core = 1 {
// CHECK-NEXT:     aipu.dma from = l2[0x40], to = l1[0x0], sizes = [64]
// CHECK-NEXT:   }
aipu.program cores = 2, frequency = 800000000, instances = 1, batch = 2 {
  aipu.io kind = input, name = "x", at = l2[0x0], dtype = i8, shape = [1, 8], stored = [1, 1, 64], scale = 0.5, zp = 0
  aipu.io kind = input, name = "x", frame = 1, at = l2[64], dtype = i8, shape = [1, 8], stored = [1, 1, 64], scale = 0.5, zp = 0
  aipu.task_list core = 0 {
    aipu.dma from = l2[0x0], to = l1[0x0], sizes = [64]
  }
  aipu.task_list core = 1 {
    aipu.dma from = l2[0x40], to = l1[0x0], sizes = [64]
  }
}
