// RUN: ax-opt %s --split-input-file --verify-diagnostics | filecheck %s

func.func @compute_outside_l1() {
  %a = tile.alloc {kind = "activation", name = "a"} : memref<4x4x64xi8, "l2">
  %o = tile.alloc {kind = "scratch", name = "o"} : memref<4x4x64xi8, "l1">
  %t = tile.clamp %a, %o {clamp = array<i64: 0, 127>, channels = array<i64: 4>} : memref<4x4x64xi8, "l2">, memref<4x4x64xi8, "l1">
  func.return
}
// CHECK: 'tile.clamp' op input must be a memref in "l1", got memref<4x4x64xi8, "l2">

// -----

func.func @dma_box_outside() {
  %a = tile.alloc {kind = "activation", name = "a"} : memref<8x8x64xi8, "l2">
  %b = tile.alloc {kind = "scratch", name = "b"} : memref<4x8x64xi8, "l1">
  %t = tile.dma %a, %b {src_offsets = array<i64: 4, 0, 0>, dst_offsets = array<i64: 1, 0, 0>, sizes = array<i64: 4, 8, 64>, src = "conv1"} : memref<8x8x64xi8, "l2">, memref<4x8x64xi8, "l1">
  func.return
}
// CHECK: 'tile.dma' op (src "conv1") box at offsets [1, 0, 0] with sizes [4, 8, 64] exceeds the destination shape [4, 8, 64]

// -----

func.func @dma_negative_offset() {
  %a = tile.alloc {kind = "activation", name = "a"} : memref<8x8x64xi8, "l2">
  %b = tile.alloc {kind = "scratch", name = "b"} : memref<4x8x64xi8, "l1">
  %t = tile.dma %a, %b {src_offsets = array<i64: -1, 0, 0>, dst_offsets = array<i64: 0, 0, 0>, sizes = array<i64: 4, 8, 64>} : memref<8x8x64xi8, "l2">, memref<4x8x64xi8, "l1">
  func.return
}
// CHECK: 'tile.dma' op offsets must be non-negative, got src_offsets [-1, 0, 0] and dst_offsets [0, 0, 0]

// -----

func.func @dma_rank_mismatch() {
  %a = tile.alloc {kind = "activation", name = "a"} : memref<8x8x64xi8, "l2">
  %b = tile.alloc {kind = "scratch", name = "b"} : memref<512xi8, "l1">
  %t = tile.dma %a, %b {src_offsets = array<i64: 0, 0, 0>, dst_offsets = array<i64: 0>, sizes = array<i64: 1, 8, 64>} : memref<8x8x64xi8, "l2">, memref<512xi8, "l1">
  func.return
}
// CHECK: 'tile.dma' op source and destination must have the same rank, got 3 and 1

// -----

func.func @bad_kind() {
  %a = tile.alloc {kind = "weights", name = "a"} : memref<8x8x64xi8, "l2">
  func.return
}
// CHECK: 'tile.alloc' op kind must be one of input, output, activation, scratch, got "weights"

// -----

func.func @activation_in_l1() {
  %a = tile.alloc {kind = "activation", name = "a"} : memref<8x8x64xi8, "l1">
  func.return
}
// CHECK: 'tile.alloc' op activation buffers must be in "ddr" or "l2", got "l1"

// -----

func.func @negative_offset() {
  %a = tile.alloc {kind = "activation", name = "a", offset = -64 : i64} : memref<8x8x64xi8, "l2">
  func.return
}
// CHECK: 'tile.alloc' op offset must be non-negative, got -64

// -----

func.func @input_without_qparams() {
  %a = tile.alloc {kind = "input", name = "x", shape = array<i64: 1, 3, 8, 8>} : memref<8x8x64xi8, "ddr">
  func.return
}
// CHECK: 'tile.alloc' op int8 input buffer needs scale and zero_point

// -----

func.func @conv_output_tile_size() {
  %i = tile.alloc {kind = "scratch", name = "i"} : memref<6x8x64xi8, "l1">
  %w = tile.alloc {kind = "scratch", name = "w"} : memref<4x3x3x3xi8, "l1">
  %t = tile.alloc {kind = "scratch", name = "t"} : memref<3x4xi32, "l1">
  %o = tile.alloc {kind = "scratch", name = "o"} : memref<6x8x64xi8, "l1">
  %k = tile.conv2d %i, %w, %t, %o {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 1, 1, 0, 1>, group = 1 : i64, in_zp = 0 : i64, out_zp = 0 : i64, clamp = array<i64: -128, 127>, channels = array<i64: 3, 4>, src = "conv1"} : memref<6x8x64xi8, "l1">, memref<4x3x3x3xi8, "l1">, memref<3x4xi32, "l1">, memref<6x8x64xi8, "l1">
  func.return
}
// CHECK: 'tile.conv2d' op (src "conv1") output tile must be 5x8 for a 6x8 input tile, got 6x8

// -----

func.func @conv_weight_shape() {
  %i = tile.alloc {kind = "scratch", name = "i"} : memref<6x8x64xi8, "l1">
  %w = tile.alloc {kind = "scratch", name = "w"} : memref<4x2x3x3xi8, "l1">
  %t = tile.alloc {kind = "scratch", name = "t"} : memref<3x4xi32, "l1">
  %o = tile.alloc {kind = "scratch", name = "o"} : memref<6x8x64xi8, "l1">
  %k = tile.conv2d %i, %w, %t, %o {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, group = 1 : i64, in_zp = 0 : i64, out_zp = 0 : i64, clamp = array<i64: -128, 127>, channels = array<i64: 3, 4>} : memref<6x8x64xi8, "l1">, memref<4x2x3x3xi8, "l1">, memref<3x4xi32, "l1">, memref<6x8x64xi8, "l1">
  func.return
}
// CHECK: 'tile.conv2d' op weight must be memref<4x3xKHxKWxi8>, got memref<4x2x3x3xi8, "l1">

// -----

func.func @channels_exceed_buffer() {
  %i = tile.alloc {kind = "scratch", name = "i"} : memref<4x4x64xi8, "l1">
  %o = tile.alloc {kind = "scratch", name = "o"} : memref<4x4x64xi8, "l1">
  %t = tile.requantize %i, %o {in_zp = 0 : i64, mult = 1073741824 : i64, shift = 30 : i64, out_zp = 0 : i64, clamp = array<i64: -128, 127>, channels = array<i64: 65>} : memref<4x4x64xi8, "l1">, memref<4x4x64xi8, "l1">
  func.return
}
// CHECK: 'tile.requantize' op channels 65 exceed the 64 channels of the input/output buffer

// -----

func.func @avg_pool_multipliers() {
  %i = tile.alloc {kind = "scratch", name = "i"} : memref<4x4x64xi8, "l1">
  %o = tile.alloc {kind = "scratch", name = "o"} : memref<2x2x64xi8, "l1">
  %t = tile.avg_pool %i, %o {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, in_zp = 0 : i64, out_zp = 0 : i64, multipliers = array<i64: 0, 1>, shift = 3 : i64, clamp = array<i64: -128, 127>, channels = array<i64: 4>} : memref<4x4x64xi8, "l1">, memref<2x2x64xi8, "l1">
  func.return
}
// CHECK: 'tile.avg_pool' op multipliers must have kernel size + 1 = 5 entries, got 2

// -----

func.func @host_arity() {
  %a = tile.alloc {kind = "activation", name = "a"} : memref<1x1x64xi8, "l2">
  %o = tile.alloc {kind = "activation", name = "o"} : memref<1x1x64xi8, "l2">
  %t = tile.host ins(%a : memref<1x1x64xi8, "l2">) outs(%o : memref<1x1x64xi8, "l2">) attributes {scales = array<f64: 0.5, 0.5>, zero_points = array<i64: 0, 0>, shapes = [array<i64: 1, 4>, array<i64: 1, 4>]} {
  ^bb0(%x : tensor<1x4xf32>):
    tile.yield
  }
  func.return
}
// CHECK: 'tile.host' op tile.yield must give 1 values (one per output), got 0

// -----

func.func @output_layout() {
  %a = tile.alloc {kind = "output", name = "y", shape = array<i64: 1, 70, 4, 4>, scale = 0.5 : f64, zero_point = 0 : i64} : memref<4x4x64xi8, "ddr">
  func.return
}
// CHECK: 'tile.alloc' op an int8 buffer for [1, 70, 4, 4] must be 4x4x(>= 70), got memref<4x4x64xi8, "ddr">

// -----

func.func @host_f32_layout() {
  %a = tile.alloc {kind = "activation", name = "a"} : memref<1x1x64xi8, "l2">
  %o = tile.alloc {kind = "activation", name = "o"} : memref<4xf32, "l2">
  %t = tile.host ins(%a : memref<1x1x64xi8, "l2">) outs(%o : memref<4xf32, "l2">) attributes {scales = array<f64: 0.5, 1.0>, zero_points = array<i64: 0, 0>, shapes = [array<i64: 1, 4>, array<i64: 1, 4>]} {
  ^bb0(%x : tensor<1x4xf32>):
    tile.yield %x : tensor<1x4xf32>
  }
  func.return
}
// CHECK: 'tile.host' op buffer 1: an f32 buffer must have the logical shape [1, 4], got memref<4xf32, "l2">

// -----

func.func @lut_table_shape() {
  %a = tile.alloc {kind = "scratch", name = "a"} : memref<1x1x64xi8, "l1">
  %t = tile.alloc {kind = "scratch", name = "t"} : memref<128xi8, "l1">
  %k = tile.lut %a, %t, %a {channels = array<i64: 4>} : memref<1x1x64xi8, "l1">, memref<128xi8, "l1">, memref<1x1x64xi8, "l1">
  func.return
}
// CHECK: 'tile.lut' op table must be memref<256xi8, "l1">, got memref<128xi8, "l1">

// -----

func.func @mul_rhs_hw() {
  %a = tile.alloc {kind = "scratch", name = "a"} : memref<2x2x64xi8, "l1">
  %b = tile.alloc {kind = "scratch", name = "b"} : memref<2x1x64xi8, "l1">
  %k = tile.mul %a, %b, %a {a_zp = 0 : i64, b_zp = 0 : i64, mult = 1 : i64, shift = 0 : i64, out_zp = 0 : i64, clamp = array<i64: -128, 127>, channels = array<i64: 4>} : memref<2x2x64xi8, "l1">, memref<2x1x64xi8, "l1">, memref<2x2x64xi8, "l1">
  func.return
}
// CHECK: 'tile.mul' op rhs and output tiles must have the same H x W, got [2, 1] and [2, 2]
