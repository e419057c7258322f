// RUN: ax-opt %s -p convert-tile-to-aipu --split-input-file | filecheck %s
// RUN: ax-opt %s -p 'convert-tile-to-aipu{instances=4 frequency=400000000 dual-channel=false}' --split-input-file | filecheck %s --check-prefix=OPTS
// RUN: not ax-opt %s -p 'convert-tile-to-aipu{cores=2}' --split-input-file 2>&1 | filecheck %s --check-prefix=UNPLANNED
// RUN: not ax-opt %s -p 'convert-tile-to-aipu{cores=5}' --split-input-file 2>&1 | filecheck %s --check-prefix=CORES
// RUN: not ax-opt %s -p 'convert-tile-to-aipu{instances=0}' --split-input-file 2>&1 | filecheck %s --check-prefix=INSTANCES

// Options: Batch-1 instances, the clock, one DMA channel.
// OPTS:       aipu.program cores = 1, frequency = 400000000, instances = 4
// OPTS-NOT:   channel = 1
// OPTS:       aipu.program cores = 1, frequency = 400000000, instances = 4

// Batch-x needs a plan for x cores (tile-plan-memory{cores=x}); bad core / instance counts.
// UNPLANNED:  convert-tile-to-aipu: cores=2 but the memory plan is for 1 core(s): run tile-plan-memory{cores=2} first
// CORES:      convert-tile-to-aipu: cores must be in [1, 4], got 5
// INSTANCES:  convert-tile-to-aipu: instances must be in [1, 4] (4 cores / cores=1), got 0

// A planned conv tile: weights / table / input loaded into L1 (constants on DMA channel 1), the
// MVM waits for the three loads, the store waits for the MVM; the frame ends waiting for the store.
// Buffers resolve to their planned offsets; the input box (8 rows x 8 cols x 1 channel of a
// 64-channel buffer) becomes 64 runs of 1 byte with a 64-byte stride.

// CHECK-LABEL: aipu.program cores = 1, frequency = 800000000, instances = 1
// CHECK-NEXT:    aipu.data name = "conv1/w", at = ddr[0x1000], value = dense<1> : tensor<4x1x3x3xi8>
// CHECK-NEXT:    aipu.data name = "conv1/t", at = ddr[0x1040], value = dense<{{.*}}> : tensor<3x4xi32>
// CHECK-NEXT:    aipu.io kind = input, name = "x", at = ddr[0x0], dtype = i8, shape = [1, 1, 8, 8], stored = [8, 8, 64], scale = 0.5, zp = -128
// CHECK-NEXT:    aipu.io kind = output, name = "y", at = ddr[0x800], dtype = i8, shape = [1, 4, 8, 8], stored = [8, 8, 64], scale = 0.25, zp = 0
// CHECK-NEXT:    aipu.task_list core = 0 {
// CHECK-NEXT:      aipu.dma from = ddr[0x1000], to = l1[0x0], sizes = [36], channel = 1, signal = 0, src = "conv1"
// CHECK-NEXT:      aipu.dma from = ddr[0x1040], to = l1[0x40], sizes = [48], channel = 1, signal = 1, src = "conv1"
// CHECK-NEXT:      aipu.dma from = ddr[0x0], to = l1[0x80], sizes = [64, 1], from_strides = [64], to_strides = [64], signal = 2, src = "conv1"
// CHECK-NEXT:      aipu.wait tokens = [0, 1, 2]
// CHECK-NEXT:      aipu.mvm in = l1[0x80], in_shape = [8, 8, 64], w = l1[0x0], w_shape = [4, 1, 3, 3], table = l1[0x40], out = l1[0x1080], out_shape = [8, 8, 64], channels = [1, 4], pads = [1, 1, 1, 1], in_zp = -128, signal = 3, src = "conv1"
// CHECK-NEXT:      aipu.wait tokens = [3]
// CHECK-NEXT:      aipu.dma from = l1[0x1080], to = ddr[0x800], sizes = [64, 4], from_strides = [64], to_strides = [64], channel = 1, signal = 4, src = "conv1"
// CHECK-NEXT:      aipu.wait tokens = [4]
// CHECK-NEXT:    }
// CHECK-NOT:   tile.
builtin.module {
  func.func @main() attributes {axc.input_names = ["x"], axc.output_names = ["y"]} {
    %x = tile.alloc {kind = "input", name = "x", scale = 0.5 : f64, zero_point = -128 : i64, shape = array<i64: 1, 1, 8, 8>, offset = 0 : i64} : memref<8x8x64xi8, "ddr">
    %y = tile.alloc {kind = "output", name = "y", scale = 0.25 : f64, zero_point = 0 : i64, shape = array<i64: 1, 4, 8, 8>, offset = 2048 : i64} : memref<8x8x64xi8, "ddr">
    %w = tile.constant {name = "conv1/w", value = dense<1> : tensor<4x1x3x3xi8>, offset = 4096 : i64} : memref<4x1x3x3xi8, "ddr">
    %t = tile.constant {name = "conv1/t", value = dense<[[0, 0, 0, 0], [1073741824, 1073741824, 1073741824, 1073741824], [30, 30, 30, 30]]> : tensor<3x4xi32>, offset = 4160 : i64} : memref<3x4xi32, "ddr">
    %wl = tile.alloc {kind = "scratch", name = "conv1/w", offset = 0 : i64} : memref<4x1x3x3xi8, "l1">
    %tl = tile.alloc {kind = "scratch", name = "conv1/t", offset = 64 : i64} : memref<3x4xi32, "l1">
    %in = tile.alloc {kind = "scratch", name = "conv1/in", offset = 128 : i64} : memref<8x8x64xi8, "l1">
    %out = tile.alloc {kind = "scratch", name = "conv1/out", offset = 4224 : i64} : memref<8x8x64xi8, "l1">
    %0 = tile.dma %w, %wl {src_offsets = array<i64: 0, 0, 0, 0>, dst_offsets = array<i64: 0, 0, 0, 0>, sizes = array<i64: 4, 1, 3, 3>, src = "conv1"} : memref<4x1x3x3xi8, "ddr">, memref<4x1x3x3xi8, "l1">
    %1 = tile.dma %t, %tl {src_offsets = array<i64: 0, 0>, dst_offsets = array<i64: 0, 0>, sizes = array<i64: 3, 4>, src = "conv1"} : memref<3x4xi32, "ddr">, memref<3x4xi32, "l1">
    %2 = tile.dma %x, %in {src_offsets = array<i64: 0, 0, 0>, dst_offsets = array<i64: 0, 0, 0>, sizes = array<i64: 8, 8, 1>, src = "conv1"} : memref<8x8x64xi8, "ddr">, memref<8x8x64xi8, "l1">
    %3 = tile.conv2d %in, %wl, %tl, %out [after %0, %1, %2] {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, group = 1 : i64, in_zp = -128 : i64, out_zp = 0 : i64, clamp = array<i64: -128, 127>, channels = array<i64: 1, 4>, src = "conv1"} : memref<8x8x64xi8, "l1">, memref<4x1x3x3xi8, "l1">, memref<3x4xi32, "l1">, memref<8x8x64xi8, "l1">
    %4 = tile.dma %out, %y [after %3] {src_offsets = array<i64: 0, 0, 0>, dst_offsets = array<i64: 0, 0, 0>, sizes = array<i64: 8, 8, 4>, src = "conv1"} : memref<8x8x64xi8, "l1">, memref<8x8x64xi8, "ddr">
    func.return
  }
}

// -----

// Depthwise conv and pooling run on the DWPU, add on the DPU; a host segment keeps its onnx ops and
// reads / writes its buffers (f32 output in the logical layout). The pool needs no wait for the
// depthwise conv (same unit, in order); the add (DPU) waits for the conv only; the final wait
// covers the add, the only unit whose last instruction nobody waited for.

// CHECK-LABEL: aipu.program cores = 1, frequency = 800000000, instances = 1
// CHECK:         aipu.io kind = output, name = "p", at = l2[0x1000], dtype = f32, shape = [1, 8], stored = [1, 8], scale = 1.0, zp = 0
// CHECK:         aipu.dwpu op = dwconv, in = l1[0x0], in_shape = [2, 2, 64], out = l1[0x100], out_shape = [2, 2, 64], channels = [8, 8], kernel = [1, 1], w = l1[0x200], w_shape = [8, 1, 1, 1], table = l1[0x240], signal = 0, src = "dw"
// CHECK-NEXT:    aipu.dwpu op = maxpool, in = l1[0x100], in_shape = [2, 2, 64], out = l1[0x300], out_shape = [1, 1, 64], channels = [8, 8], kernel = [2, 2], strides = [2, 2], signal = 1, src = "pool"
// CHECK-NEXT:    aipu.wait tokens = [0]
// CHECK-NEXT:    aipu.dpu op = add, a = l1[0x100], a_shape = [2, 2, 64], b = l1[0x100], b_shape = [2, 2, 64], out = l1[0x400], out_shape = [2, 2, 64], channels = 8, a_mult = 1073741824, b_mult = 1073741824, shift = 31, signal = 2, src = "add"
// CHECK-NEXT:    aipu.wait tokens = [1]
// CHECK-NEXT:    aipu.dma from = l1[0x300], to = l2[0x0], sizes = [64], channel = 1, signal = 3, src = "pool"
// CHECK-NEXT:    aipu.wait tokens = [3]
// CHECK-NEXT:    aipu.host segment = 0, inputs = [{at = l2[0x0], dtype = i8, shape = [1, 8], stored = [1, 1, 64], scale = 0.5, zp = 0}], outputs = [{at = l2[0x1000], dtype = f32, shape = [1, 8], stored = [1, 8], scale = 1.0, zp = 0}], src = "softmax" {
// CHECK-NEXT:    ^{{.*}}(%{{.*}}: tensor<1x8xf32>):
// CHECK-NEXT:      %{{.*}} = onnx.Softmax %{{.*}} {axis = 1 : i64, onnx_name = "softmax"} : (tensor<1x8xf32>) -> tensor<1x8xf32>
// CHECK-NEXT:      aipu.yield %{{.*}} : tensor<1x8xf32>
// CHECK-NEXT:    }
// CHECK-NEXT:    aipu.wait tokens = [2]
builtin.module {
  func.func @main() attributes {axc.input_names = [], axc.output_names = ["p"]} {
    %p = tile.alloc {kind = "output", name = "p", shape = array<i64: 1, 8>, offset = 4096 : i64} : memref<1x8xf32, "l2">
    %q = tile.alloc {kind = "activation", name = "q", offset = 0 : i64} : memref<1x1x64xi8, "l2">
    %a = tile.alloc {kind = "scratch", name = "a", offset = 0 : i64} : memref<2x2x64xi8, "l1">
    %b = tile.alloc {kind = "scratch", name = "b", offset = 256 : i64} : memref<2x2x64xi8, "l1">
    %w = tile.alloc {kind = "scratch", name = "w", offset = 512 : i64} : memref<8x1x1x1xi8, "l1">
    %t = tile.alloc {kind = "scratch", name = "t", offset = 576 : i64} : memref<3x8xi32, "l1">
    %c = tile.alloc {kind = "scratch", name = "c", offset = 768 : i64} : memref<1x1x64xi8, "l1">
    %d = tile.alloc {kind = "scratch", name = "d", offset = 1024 : i64} : memref<2x2x64xi8, "l1">
    %0 = tile.conv2d %a, %w, %t, %b {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, group = 8 : i64, in_zp = 0 : i64, out_zp = 0 : i64, clamp = array<i64: -128, 127>, channels = array<i64: 8, 8>, src = "dw"} : memref<2x2x64xi8, "l1">, memref<8x1x1x1xi8, "l1">, memref<3x8xi32, "l1">, memref<2x2x64xi8, "l1">
    %1 = tile.max_pool %b, %c [after %0] {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, channels = array<i64: 8>, src = "pool"} : memref<2x2x64xi8, "l1">, memref<1x1x64xi8, "l1">
    %2 = tile.add %b, %b, %d [after %0] {a_zp = 0 : i64, a_mult = 1073741824 : i64, b_zp = 0 : i64, b_mult = 1073741824 : i64, shift = 31 : i64, out_zp = 0 : i64, clamp = array<i64: -128, 127>, channels = array<i64: 8>, src = "add"} : memref<2x2x64xi8, "l1">, memref<2x2x64xi8, "l1">, memref<2x2x64xi8, "l1">
    %3 = tile.dma %c, %q [after %1] {src_offsets = array<i64: 0, 0, 0>, dst_offsets = array<i64: 0, 0, 0>, sizes = array<i64: 1, 1, 64>, src = "pool"} : memref<1x1x64xi8, "l1">, memref<1x1x64xi8, "l2">
    %4 = tile.host ins(%q : memref<1x1x64xi8, "l2">) outs(%p : memref<1x8xf32, "l2">) [after %3] attributes {scales = array<f64: 0.5, 1.0>, zero_points = array<i64: 0, 0>, shapes = [array<i64: 1, 8>, array<i64: 1, 8>], src = "softmax"} {
    ^bb0(%v: tensor<1x8xf32>):
      %s = onnx.Softmax %v {axis = 1 : i64, onnx_name = "softmax"} : (tensor<1x8xf32>) -> tensor<1x8xf32>
      tile.yield %s : tensor<1x8xf32>
    }
    func.return
  }
}
