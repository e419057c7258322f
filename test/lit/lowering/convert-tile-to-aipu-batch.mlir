// RUN: ax-opt %s -p 'convert-tile-to-aipu{cores=2}' --split-input-file --verify-diagnostics | filecheck %s
// RUN: ax-opt %s -p convert-tile-to-aipu --split-input-file --verify-diagnostics | filecheck %s --check-prefix=MISMATCH

// Batch-2 (planned by tile-plan-memory{cores=2}: tile.multicore). Core 1's task list is core 0's
// with every per-core L2 / DDR address moved by the stride of its space (DDR: the input 0x80 ->
// 0x2080, the output 0x1080 -> 0x3080; L2: the activation 0x0 -> 0x1000), the shared constants
// (DDR below 0x80) and L1 unchanged, and tokens of its own (core 0 signals 0..7, core 1 8..15).
// Frame 1's I/O are core 1's buffers.

// CHECK-LABEL: aipu.program cores = 2, frequency = 800000000, instances = 1, batch = 2
// CHECK-NEXT:    aipu.data name = "conv/w", at = ddr[0x0]
// CHECK-NEXT:    aipu.data name = "conv/t", at = ddr[0x40]
// CHECK-NEXT:    aipu.io kind = input, name = "x", at = ddr[0x80]
// CHECK-NEXT:    aipu.io kind = input, name = "x", frame = 1, at = ddr[0x2080]
// CHECK-NEXT:    aipu.io kind = output, name = "y", at = ddr[0x1080]
// CHECK-NEXT:    aipu.io kind = output, name = "y", frame = 1, at = ddr[0x3080]
// CHECK-NEXT:    aipu.task_list core = 0 {
// CHECK-NEXT:      aipu.dma from = ddr[0x0], to = l1[0x0], sizes = [36], channel = 1, signal = 0, src = "conv"
// CHECK-NEXT:      aipu.dma from = ddr[0x40], to = l1[0x40], sizes = [48], channel = 1, signal = 1, src = "conv"
// CHECK-NEXT:      aipu.dma from = ddr[0x80], to = l1[0x80], {{.*}} signal = 2, src = "conv"
// CHECK-NEXT:      aipu.wait tokens = [0, 1, 2]
// CHECK-NEXT:      aipu.mvm {{.*}} signal = 3, src = "conv"
// CHECK-NEXT:      aipu.wait tokens = [3]
// CHECK-NEXT:      aipu.dma from = l1[0x1080], to = l2[0x0], {{.*}} signal = 4, src = "conv"
// CHECK:           aipu.dma from = l1[0x1000], to = ddr[0x1080], {{.*}} signal = 7, src = "relu"
// CHECK-NEXT:      aipu.wait tokens = [7]
// CHECK-NEXT:    }
// CHECK-NEXT:    aipu.task_list core = 1 {
// CHECK-NEXT:      aipu.dma from = ddr[0x0], to = l1[0x0], sizes = [36], channel = 1, signal = 8, src = "conv"
// CHECK-NEXT:      aipu.dma from = ddr[0x40], to = l1[0x40], sizes = [48], channel = 1, signal = 9, src = "conv"
// CHECK-NEXT:      aipu.dma from = ddr[0x2080], to = l1[0x80], {{.*}} signal = 10, src = "conv"
// CHECK-NEXT:      aipu.wait tokens = [8, 9, 10]
// CHECK-NEXT:      aipu.mvm {{.*}} signal = 11, src = "conv"
// CHECK-NEXT:      aipu.wait tokens = [11]
// CHECK-NEXT:      aipu.dma from = l1[0x1080], to = l2[0x1000], {{.*}} signal = 12, src = "conv"
// CHECK-NEXT:      aipu.wait tokens = [12]
// CHECK-NEXT:      aipu.dma from = l2[0x1000], to = l1[0x0], {{.*}} signal = 13, src = "relu"
// CHECK:           aipu.dma from = l1[0x1000], to = ddr[0x3080], {{.*}} signal = 15, src = "relu"
// CHECK-NEXT:      aipu.wait tokens = [15]
// CHECK-NEXT:    }
// CHECK-NOT:   func.func

// Without cores=2 the conversion refuses a 2-core plan.
// MISMATCH: convert-tile-to-aipu: cores=1 but the memory plan is for 2 core(s): run tile-plan-memory{cores=1} first
builtin.module attributes {tile.memory_usage = {l1 = 8320 : i64, l2 = 8192 : i64, ddr = 16512 : i64}, tile.multicore = {cores = 2 : i64, l2_shared = 0 : i64, l2_stride = 4096 : i64, ddr_shared = 128 : i64, ddr_stride = 8192 : i64}} {
  func.func @main() attributes {axc.input_names = ["x"], axc.output_names = ["y"]} {
    %x = tile.alloc {kind = "input", name = "x", shape = array<i64: 1, 1, 8, 8>, scale = 5.000000e-01 : f64, zero_point = -128 : i64, offset = 128 : i64} : memref<8x8x64xi8, "ddr">
    %y = tile.alloc {kind = "output", name = "y", shape = array<i64: 1, 4, 8, 8>, scale = 2.500000e-01 : f64, zero_point = 0 : i64, offset = 4224 : i64} : memref<8x8x64xi8, "ddr">
    %w = tile.constant {name = "conv/w", offset = 0 : i64, value = dense<1> : tensor<4x1x3x3xi8>} : memref<4x1x3x3xi8, "ddr">
    %t = tile.constant {name = "conv/t", offset = 64 : i64, value = dense<[[0, 0, 0, 0], [1073741824, 1073741824, 1073741824, 1073741824], [30, 30, 30, 30]]> : tensor<3x4xi32>} : memref<3x4xi32, "ddr">
    %a = tile.alloc {kind = "activation", name = "a", offset = 0 : i64} : memref<8x8x64xi8, "l2">
    %wl = tile.alloc {kind = "scratch", name = "conv/w", offset = 0 : i64} : memref<4x1x3x3xi8, "l1">
    %tl = tile.alloc {kind = "scratch", name = "conv/t", offset = 64 : i64} : memref<3x4xi32, "l1">
    %in = tile.alloc {kind = "scratch", name = "conv/in", offset = 128 : i64} : memref<8x8x64xi8, "l1">
    %out = tile.alloc {kind = "scratch", name = "conv/out", offset = 4224 : i64} : memref<8x8x64xi8, "l1">
    %0 = tile.dma %w, %wl {src_offsets = array<i64: 0, 0, 0, 0>, dst_offsets = array<i64: 0, 0, 0, 0>, sizes = array<i64: 4, 1, 3, 3>, src = "conv"} : memref<4x1x3x3xi8, "ddr">, memref<4x1x3x3xi8, "l1">
    %1 = tile.dma %t, %tl {src_offsets = array<i64: 0, 0>, dst_offsets = array<i64: 0, 0>, sizes = array<i64: 3, 4>, src = "conv"} : memref<3x4xi32, "ddr">, memref<3x4xi32, "l1">
    %2 = tile.dma %x, %in {src_offsets = array<i64: 0, 0, 0>, dst_offsets = array<i64: 0, 0, 0>, sizes = array<i64: 8, 8, 1>, src = "conv"} : memref<8x8x64xi8, "ddr">, memref<8x8x64xi8, "l1">
    %3 = tile.conv2d %in, %wl, %tl, %out [after %0, %1, %2] {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, group = 1 : i64, in_zp = -128 : i64, out_zp = 0 : i64, clamp = array<i64: -128, 127>, channels = array<i64: 1, 4>, src = "conv"} : memref<8x8x64xi8, "l1">, memref<4x1x3x3xi8, "l1">, memref<3x4xi32, "l1">, memref<8x8x64xi8, "l1">
    %4 = tile.dma %out, %a [after %3] {src_offsets = array<i64: 0, 0, 0>, dst_offsets = array<i64: 0, 0, 0>, sizes = array<i64: 8, 8, 4>, src = "conv"} : memref<8x8x64xi8, "l1">, memref<8x8x64xi8, "l2">
    %i2 = tile.alloc {kind = "scratch", name = "relu/in", offset = 0 : i64} : memref<8x8x64xi8, "l1">
    %o2 = tile.alloc {kind = "scratch", name = "relu/out", offset = 4096 : i64} : memref<8x8x64xi8, "l1">
    %5 = tile.dma %a, %i2 [after %4, %3, %0, %1, %2] {src_offsets = array<i64: 0, 0, 0>, dst_offsets = array<i64: 0, 0, 0>, sizes = array<i64: 8, 8, 4>, src = "relu"} : memref<8x8x64xi8, "l2">, memref<8x8x64xi8, "l1">
    %6 = tile.clamp %i2, %o2 [after %5, %4, %3, %2] {clamp = array<i64: 0, 127>, channels = array<i64: 4>, src = "relu"} : memref<8x8x64xi8, "l1">, memref<8x8x64xi8, "l1">
    %7 = tile.dma %o2, %y [after %6] {src_offsets = array<i64: 0, 0, 0>, dst_offsets = array<i64: 0, 0, 0>, sizes = array<i64: 8, 8, 4>, src = "relu"} : memref<8x8x64xi8, "l1">, memref<8x8x64xi8, "ddr">
    func.return
  }
}


// -----

// A per-core buffer outside core 0's region (the L2 stride is 4096: the activation must lie in
// [0, 4096)) cannot be relocated by address.
// CHECK: convert-tile-to-aipu: 'tile.alloc' op "a" at l2[4096, 8192) must lie in core 0's region [0, 4096) of the 2-core plan
builtin.module attributes {tile.memory_usage = {l1 = 8320 : i64, l2 = 8192 : i64, ddr = 16512 : i64}, tile.multicore = {cores = 2 : i64, l2_shared = 0 : i64, l2_stride = 4096 : i64, ddr_shared = 128 : i64, ddr_stride = 8192 : i64}} {
  func.func @main() attributes {axc.input_names = ["x"], axc.output_names = ["y"]} {
    %x = tile.alloc {kind = "input", name = "x", shape = array<i64: 1, 1, 8, 8>, scale = 5.000000e-01 : f64, zero_point = -128 : i64, offset = 128 : i64} : memref<8x8x64xi8, "ddr">
    %y = tile.alloc {kind = "output", name = "y", shape = array<i64: 1, 4, 8, 8>, scale = 2.500000e-01 : f64, zero_point = 0 : i64, offset = 4224 : i64} : memref<8x8x64xi8, "ddr">
    %w = tile.constant {name = "conv/w", offset = 0 : i64, value = dense<1> : tensor<4x1x3x3xi8>} : memref<4x1x3x3xi8, "ddr">
    %t = tile.constant {name = "conv/t", offset = 64 : i64, value = dense<[[0, 0, 0, 0], [1073741824, 1073741824, 1073741824, 1073741824], [30, 30, 30, 30]]> : tensor<3x4xi32>} : memref<3x4xi32, "ddr">
    %a = tile.alloc {kind = "activation", name = "a", offset = 4096 : i64} : memref<8x8x64xi8, "l2">
    %wl = tile.alloc {kind = "scratch", name = "conv/w", offset = 0 : i64} : memref<4x1x3x3xi8, "l1">
    %tl = tile.alloc {kind = "scratch", name = "conv/t", offset = 64 : i64} : memref<3x4xi32, "l1">
    %in = tile.alloc {kind = "scratch", name = "conv/in", offset = 128 : i64} : memref<8x8x64xi8, "l1">
    %out = tile.alloc {kind = "scratch", name = "conv/out", offset = 4224 : i64} : memref<8x8x64xi8, "l1">
    %0 = tile.dma %w, %wl {src_offsets = array<i64: 0, 0, 0, 0>, dst_offsets = array<i64: 0, 0, 0, 0>, sizes = array<i64: 4, 1, 3, 3>, src = "conv"} : memref<4x1x3x3xi8, "ddr">, memref<4x1x3x3xi8, "l1">
    %1 = tile.dma %t, %tl {src_offsets = array<i64: 0, 0>, dst_offsets = array<i64: 0, 0>, sizes = array<i64: 3, 4>, src = "conv"} : memref<3x4xi32, "ddr">, memref<3x4xi32, "l1">
    %2 = tile.dma %x, %in {src_offsets = array<i64: 0, 0, 0>, dst_offsets = array<i64: 0, 0, 0>, sizes = array<i64: 8, 8, 1>, src = "conv"} : memref<8x8x64xi8, "ddr">, memref<8x8x64xi8, "l1">
    %3 = tile.conv2d %in, %wl, %tl, %out [after %0, %1, %2] {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, group = 1 : i64, in_zp = -128 : i64, out_zp = 0 : i64, clamp = array<i64: -128, 127>, channels = array<i64: 1, 4>, src = "conv"} : memref<8x8x64xi8, "l1">, memref<4x1x3x3xi8, "l1">, memref<3x4xi32, "l1">, memref<8x8x64xi8, "l1">
    %4 = tile.dma %out, %a [after %3] {src_offsets = array<i64: 0, 0, 0>, dst_offsets = array<i64: 0, 0, 0>, sizes = array<i64: 8, 8, 4>, src = "conv"} : memref<8x8x64xi8, "l1">, memref<8x8x64xi8, "l2">
    %i2 = tile.alloc {kind = "scratch", name = "relu/in", offset = 0 : i64} : memref<8x8x64xi8, "l1">
    %o2 = tile.alloc {kind = "scratch", name = "relu/out", offset = 4096 : i64} : memref<8x8x64xi8, "l1">
    %5 = tile.dma %a, %i2 [after %4, %3, %0, %1, %2] {src_offsets = array<i64: 0, 0, 0>, dst_offsets = array<i64: 0, 0, 0>, sizes = array<i64: 8, 8, 4>, src = "relu"} : memref<8x8x64xi8, "l2">, memref<8x8x64xi8, "l1">
    %6 = tile.clamp %i2, %o2 [after %5, %4, %3, %2] {clamp = array<i64: 0, 127>, channels = array<i64: 4>, src = "relu"} : memref<8x8x64xi8, "l1">, memref<8x8x64xi8, "l1">
    %7 = tile.dma %o2, %y [after %6] {src_offsets = array<i64: 0, 0, 0>, dst_offsets = array<i64: 0, 0, 0>, sizes = array<i64: 8, 8, 4>, src = "relu"} : memref<8x8x64xi8, "l1">, memref<8x8x64xi8, "ddr">
    func.return
  }
}

