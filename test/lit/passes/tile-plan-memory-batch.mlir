// RUN: ax-opt %s -p 'tile-plan-memory{cores=4}' | filecheck %s
// RUN: ax-opt %s -p 'tile-plan-memory{cores=4 l2-bytes=8192}' | filecheck %s --check-prefix=SPILL
// RUN: ax-opt %s -p 'tile-plan-memory{cores=1 l2-bytes=0 ddr-bytes=16384}' | filecheck %s --check-prefix=ONE
// RUN: not ax-opt %s -p 'tile-plan-memory{cores=4 l2-bytes=0 ddr-bytes=16384}' 2>&1 | filecheck %s --check-prefix=NOFIT
// RUN: not ax-opt %s -p 'tile-plan-memory{cores=0}' 2>&1 | filecheck %s --check-prefix=CORES0
// RUN: not ax-opt %s -p 'tile-plan-memory{cores=5}' 2>&1 | filecheck %s --check-prefix=CORES5

// Batch-x: one conv (weights and table are constants) into an activation, a clamp into the output.
// With cores=4 each of L2 and DDR is [shared constants][core 0][core 1][core 2][core 3]: the two
// constants (64 B each) are placed once at the start of DDR, the I/O (4 KiB each) after them for
// core 0, the activation in L2 (promoted) for core 0; the other cores' copies are stride bytes apart.
// L1 is private to each core and planned as for one core.

// CHECK:      builtin.module attributes {tile.memory_usage = {l1 = 8320 : i64, l2 = 16384 : i64, ddr = 32896 : i64}, tile.multicore = {cores = 4 : i64, l2_shared = 0 : i64, l2_stride = 4096 : i64, ddr_shared = 128 : i64, ddr_stride = 8192 : i64}}
// CHECK:      tile.alloc {kind = "input", {{.*}} offset = 128 : i64} : memref<8x8x64xi8, "ddr">
// CHECK-NEXT: tile.alloc {kind = "output", {{.*}} offset = 4224 : i64} : memref<8x8x64xi8, "ddr">
// CHECK-NEXT: tile.constant {name = "conv/w", offset = 0 : i64
// CHECK-NEXT: tile.constant {name = "conv/t", offset = 64 : i64
// CHECK-NEXT: tile.alloc {kind = "activation", name = "a", offset = 0 : i64} : memref<8x8x64xi8, "l2">
// CHECK-NEXT: tile.alloc {kind = "scratch", name = "conv/w", offset = 0 : i64} : memref<4x1x3x3xi8, "l1">

// Promotion uses one core's share of L2: (8192 - 0) / 4 = 2048 bytes cannot hold the 4 KiB activation,
// which goes to DDR after core 0's I/O.
// SPILL:      tile.memory_usage = {l1 = 8320 : i64, l2 = 0 : i64, ddr = 49280 : i64}, tile.multicore = {cores = 4 : i64, l2_shared = 0 : i64, l2_stride = 0 : i64, ddr_shared = 128 : i64, ddr_stride = 12288 : i64}
// SPILL:      tile.alloc {kind = "activation", name = "a", offset = 8320 : i64} : memref<8x8x64xi8, "ddr">

// One core fits in 16 KiB of DDR (Batch-1: no tile.multicore); four copies of its 12 KiB do not.
// ONE:        builtin.module attributes {tile.memory_usage = {l1 = 8320 : i64, l2 = 0 : i64, ddr = 12416 : i64}} {
// NOFIT:      ax-opt: error: tile-plan-memory: the model does not fit in ddr for 4 cores: at 'tile.dma' op "conv" 12288 bytes of ddr buffers are live per core, 128 bytes of shared constants + 4 x 12288 = 49280 bytes needed, 16384 bytes available (ddr-bytes)
// CORES0:     ax-opt: error: tile-plan-memory: cores must be in [1, 4], got 0
// CORES5:     ax-opt: error: tile-plan-memory: cores must be in [1, 4], got 5

func.func @main() attributes {axc.input_names = ["x"], axc.output_names = ["y"]} {
  %x = tile.alloc {kind = "input", name = "x", shape = array<i64: 1, 1, 8, 8>, scale = 0.5 : f64, zero_point = -128 : i64} : memref<8x8x64xi8, "ddr">
  %y = tile.alloc {kind = "output", name = "y", shape = array<i64: 1, 4, 8, 8>, scale = 0.25 : f64, zero_point = 0 : i64} : memref<8x8x64xi8, "ddr">
  %w = tile.constant {name = "conv/w", value = dense<1> : tensor<4x1x3x3xi8>} : memref<4x1x3x3xi8, "ddr">
  %t = tile.constant {name = "conv/t", value = dense<[[0, 0, 0, 0], [1073741824, 1073741824, 1073741824, 1073741824], [30, 30, 30, 30]]> : tensor<3x4xi32>} : memref<3x4xi32, "ddr">
  %a = tile.alloc {kind = "activation", name = "a"} : memref<8x8x64xi8, "ddr">
  %wl = tile.alloc {kind = "scratch", name = "conv/w"} : memref<4x1x3x3xi8, "l1">
  %tl = tile.alloc {kind = "scratch", name = "conv/t"} : memref<3x4xi32, "l1">
  %in = tile.alloc {kind = "scratch", name = "conv/in"} : memref<8x8x64xi8, "l1">
  %out = tile.alloc {kind = "scratch", name = "conv/out"} : memref<8x8x64xi8, "l1">
  %0 = tile.dma %w, %wl {src_offsets = array<i64: 0, 0, 0, 0>, dst_offsets = array<i64: 0, 0, 0, 0>, sizes = array<i64: 4, 1, 3, 3>, src = "conv"} : memref<4x1x3x3xi8, "ddr">, memref<4x1x3x3xi8, "l1">
  %1 = tile.dma %t, %tl {src_offsets = array<i64: 0, 0>, dst_offsets = array<i64: 0, 0>, sizes = array<i64: 3, 4>, src = "conv"} : memref<3x4xi32, "ddr">, memref<3x4xi32, "l1">
  %2 = tile.dma %x, %in {src_offsets = array<i64: 0, 0, 0>, dst_offsets = array<i64: 0, 0, 0>, sizes = array<i64: 8, 8, 1>, src = "conv"} : memref<8x8x64xi8, "ddr">, memref<8x8x64xi8, "l1">
  %3 = tile.conv2d %in, %wl, %tl, %out [after %0, %1, %2] {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, group = 1 : i64, in_zp = -128 : i64, out_zp = 0 : i64, clamp = array<i64: -128, 127>, channels = array<i64: 1, 4>, src = "conv"} : memref<8x8x64xi8, "l1">, memref<4x1x3x3xi8, "l1">, memref<3x4xi32, "l1">, memref<8x8x64xi8, "l1">
  %4 = tile.dma %out, %a [after %3] {src_offsets = array<i64: 0, 0, 0>, dst_offsets = array<i64: 0, 0, 0>, sizes = array<i64: 8, 8, 4>, src = "conv"} : memref<8x8x64xi8, "l1">, memref<8x8x64xi8, "ddr">
  %i2 = tile.alloc {kind = "scratch", name = "relu/in"} : memref<8x8x64xi8, "l1">
  %o2 = tile.alloc {kind = "scratch", name = "relu/out"} : memref<8x8x64xi8, "l1">
  %5 = tile.dma %a, %i2 [after %4] {src_offsets = array<i64: 0, 0, 0>, dst_offsets = array<i64: 0, 0, 0>, sizes = array<i64: 8, 8, 4>, src = "relu"} : memref<8x8x64xi8, "ddr">, memref<8x8x64xi8, "l1">
  %6 = tile.clamp %i2, %o2 [after %5] {clamp = array<i64: 0, 127>, channels = array<i64: 4>, src = "relu"} : memref<8x8x64xi8, "l1">, memref<8x8x64xi8, "l1">
  %7 = tile.dma %o2, %y [after %6] {src_offsets = array<i64: 0, 0, 0>, dst_offsets = array<i64: 0, 0, 0>, sizes = array<i64: 8, 8, 4>, src = "relu"} : memref<8x8x64xi8, "l1">, memref<8x8x64xi8, "ddr">
  func.return
}
