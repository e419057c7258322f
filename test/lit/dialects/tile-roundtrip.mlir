// RUN: ax-opt %s | ax-opt | filecheck %s
// RUN: ax-opt %s --print-op-generic | ax-opt | filecheck %s

// CHECK-LABEL: func.func @main()
func.func @main() attributes {axc.input_names = ["x"], axc.output_names = ["y"]} {
  // CHECK: %[[X:.*]] = tile.alloc {kind = "input", name = "x", shape = array<i64: 1, 3, 8, 8>, scale = 5.000000e-01 : f64, zero_point = -3 : i64, offset = 0 : i64} : memref<8x8x64xi8, "ddr">
  %x = tile.alloc {kind = "input", name = "x", shape = array<i64: 1, 3, 8, 8>, scale = 0.5 : f64, zero_point = -3 : i64, offset = 0 : i64} : memref<8x8x64xi8, "ddr">
  // CHECK: %[[Y:.*]] = tile.alloc {kind = "activation", name = "conv"} : memref<8x8x64xi8, "l2">
  %y = tile.alloc {kind = "activation", name = "conv"} : memref<8x8x64xi8, "l2">
  // CHECK: %[[O:.*]] = tile.alloc {kind = "output", name = "y", shape = array<i64: 1, 4>} : memref<1x4xf32, "ddr">
  %o = tile.alloc {kind = "output", name = "y", shape = array<i64: 1, 4>} : memref<1x4xf32, "ddr">
  // CHECK: %[[W:.*]] = tile.constant {name = "conv/w0", value = dense<1> : tensor<4x3x3x3xi8>, src = "conv"} : memref<4x3x3x3xi8, "ddr">
  %w = tile.constant {name = "conv/w0", value = dense<1> : tensor<4x3x3x3xi8>, src = "conv"} : memref<4x3x3x3xi8, "ddr">
  %tb = tile.constant {name = "conv/t0", value = dense<[[0, 0, 0, 0], [1073741824, 1073741824, 1073741824, 1073741824], [31, 31, 31, 31]]> : tensor<3x4xi32>} : memref<3x4xi32, "ddr">
  %a = tile.alloc {kind = "scratch", name = "conv/in"} : memref<8x8x64xi8, "l1">
  %wl = tile.alloc {kind = "scratch", name = "conv/w"} : memref<4x3x3x3xi8, "l1">
  %tl = tile.alloc {kind = "scratch", name = "conv/t"} : memref<3x4xi32, "l1">
  %ol = tile.alloc {kind = "scratch", name = "conv/out"} : memref<8x8x64xi8, "l1">
  %pl = tile.alloc {kind = "scratch", name = "pool/out"} : memref<4x4x64xi8, "l1">
  // CHECK: %[[T0:.*]] = tile.dma %[[X]], %{{.*}} {src_offsets = array<i64: 0, 0, 0>, dst_offsets = array<i64: 0, 0, 0>, sizes = array<i64: 8, 8, 3>, src = "conv"} : memref<8x8x64xi8, "ddr">, memref<8x8x64xi8, "l1">
  %t0 = tile.dma %x, %a {src_offsets = array<i64: 0, 0, 0>, dst_offsets = array<i64: 0, 0, 0>, sizes = array<i64: 8, 8, 3>, src = "conv"} : memref<8x8x64xi8, "ddr">, memref<8x8x64xi8, "l1">
  %t1 = tile.dma %w, %wl {src_offsets = array<i64: 0, 0, 0, 0>, dst_offsets = array<i64: 0, 0, 0, 0>, sizes = array<i64: 4, 3, 3, 3>} : memref<4x3x3x3xi8, "ddr">, memref<4x3x3x3xi8, "l1">
  %t2 = tile.dma %tb, %tl {src_offsets = array<i64: 0, 0>, dst_offsets = array<i64: 0, 0>, sizes = array<i64: 3, 4>} : memref<3x4xi32, "ddr">, memref<3x4xi32, "l1">
  // CHECK: %[[T3:.*]] = tile.conv2d %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} [after %[[T0]], %{{.*}}, %{{.*}}] {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, group = 1 : i64, in_zp = -3 : i64, out_zp = 0 : i64, clamp = array<i64: 0, 127>, channels = array<i64: 3, 4>, src = "conv"}
  %t3 = tile.conv2d %a, %wl, %tl, %ol [after %t0, %t1, %t2] {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, group = 1 : i64, in_zp = -3 : i64, out_zp = 0 : i64, clamp = array<i64: 0, 127>, channels = array<i64: 3, 4>, src = "conv"} : memref<8x8x64xi8, "l1">, memref<4x3x3x3xi8, "l1">, memref<3x4xi32, "l1">, memref<8x8x64xi8, "l1">
  // CHECK: tile.max_pool %{{.*}}, %{{.*}} [after %[[T3]]] {kernel = array<i64: 3, 3>, strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, ceil_mode = 1 : i64, channels = array<i64: 4>}
  %t4 = tile.max_pool %ol, %a [after %t3] {kernel = array<i64: 3, 3>, strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, ceil_mode = 1 : i64, channels = array<i64: 4>} : memref<8x8x64xi8, "l1">, memref<8x8x64xi8, "l1">
  // CHECK: tile.avg_pool
  %t5 = tile.avg_pool %a, %pl [after %t4] {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, in_zp = 0 : i64, out_zp = 0 : i64, multipliers = array<i64: 0, 1073741824, 1073741824, 1073741824, 1073741824>, shift = 32 : i64, clamp = array<i64: -128, 127>, channels = array<i64: 4>} : memref<8x8x64xi8, "l1">, memref<4x4x64xi8, "l1">
  // CHECK: tile.add %{{.*}}, %{{.*}}, %{{.*}} {a_zp = 0 : i64, a_mult = 1073741824 : i64, b_zp = 0 : i64, b_mult = 1073741824 : i64, shift = 31 : i64, out_zp = 0 : i64, clamp = array<i64: -128, 127>, channels = array<i64: 4>}
  %t6 = tile.add %a, %a, %ol {a_zp = 0 : i64, a_mult = 1073741824 : i64, b_zp = 0 : i64, b_mult = 1073741824 : i64, shift = 31 : i64, out_zp = 0 : i64, clamp = array<i64: -128, 127>, channels = array<i64: 4>} : memref<8x8x64xi8, "l1">, memref<8x8x64xi8, "l1">, memref<8x8x64xi8, "l1">
  // CHECK: tile.requantize
  %t7 = tile.requantize %a, %ol [after %t6] {in_zp = 0 : i64, mult = 1073741824 : i64, shift = 30 : i64, out_zp = 1 : i64, clamp = array<i64: -128, 127>, channels = array<i64: 4>} : memref<8x8x64xi8, "l1">, memref<8x8x64xi8, "l1">
  // CHECK: tile.mul %{{.*}}, %{{.*}}, %{{.*}} [after %{{.*}}] {a_zp = 0 : i64, b_zp = -1 : i64, mult = 1073741824 : i64, shift = 33 : i64, out_zp = 1 : i64, clamp = array<i64: -128, 127>, channels = array<i64: 4>} : memref<8x8x64xi8, "l1">, memref<1x1x64xi8, "l1">, memref<8x8x64xi8, "l1">
  %gv = tile.alloc {kind = "scratch", name = "gate"} : memref<1x1x64xi8, "l1">
  %t7b = tile.mul %a, %gv, %ol [after %t7] {a_zp = 0 : i64, b_zp = -1 : i64, mult = 1073741824 : i64, shift = 33 : i64, out_zp = 1 : i64, clamp = array<i64: -128, 127>, channels = array<i64: 4>} : memref<8x8x64xi8, "l1">, memref<1x1x64xi8, "l1">, memref<8x8x64xi8, "l1">
  // CHECK: tile.clamp
  %t8 = tile.clamp %a, %ol [after %t7b] {clamp = array<i64: 0, 127>, channels = array<i64: 4>} : memref<8x8x64xi8, "l1">, memref<8x8x64xi8, "l1">
  // CHECK: tile.lut %{{.*}}, %{{.*}}, %{{.*}} [after %{{.*}}] {channels = array<i64: 4>} : memref<8x8x64xi8, "l1">, memref<256xi8, "l1">, memref<8x8x64xi8, "l1">
  %lt = tile.alloc {kind = "scratch", name = "lut"} : memref<256xi8, "l1">
  %t8b = tile.lut %a, %lt, %ol [after %t8] {channels = array<i64: 4>} : memref<8x8x64xi8, "l1">, memref<256xi8, "l1">, memref<8x8x64xi8, "l1">
  %t9 = tile.dma %ol, %y [after %t8b] {src_offsets = array<i64: 0, 0, 0>, dst_offsets = array<i64: 0, 0, 0>, sizes = array<i64: 8, 8, 4>} : memref<8x8x64xi8, "l1">, memref<8x8x64xi8, "l2">
  // CHECK: tile.host ins(%[[Y]] : memref<8x8x64xi8, "l2">) outs(%[[O]] : memref<1x4xf32, "ddr">) [after %{{.*}}] attributes {scales = array<f64: 2.500000e-01, 1.000000e+00>, zero_points = array<i64: 0, 0>, shapes = [array<i64: 1, 4, 8, 8>, array<i64: 1, 4>], src = "gap"} {
  // CHECK-NEXT: ^{{.*}}(%[[A:.*]]: tensor<1x4x8x8xf32>):
  // CHECK-NEXT:   %{{.*}} = onnx.GlobalAveragePool %[[A]]
  // CHECK:        tile.yield %{{.*}} : tensor<1x4xf32>
  %t10 = tile.host ins(%y : memref<8x8x64xi8, "l2">) outs(%o : memref<1x4xf32, "ddr">) [after %t9] attributes {scales = array<f64: 0.25, 1.0>, zero_points = array<i64: 0, 0>, shapes = [array<i64: 1, 4, 8, 8>, array<i64: 1, 4>], src = "gap"} {
  ^bb0(%arg0 : tensor<1x4x8x8xf32>):
    %g = onnx.GlobalAveragePool %arg0 : (tensor<1x4x8x8xf32>) -> tensor<1x4x1x1xf32>
    %f = onnx.Flatten %g {axis = 1 : i64} : (tensor<1x4x1x1xf32>) -> tensor<1x4xf32>
    tile.yield %f : tensor<1x4xf32>
  }
  func.return
}
