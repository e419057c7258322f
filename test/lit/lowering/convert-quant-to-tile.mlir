// RUN: ax-opt %s -p convert-quant-to-tile | filecheck %s
// RUN: ax-opt %s -p 'convert-quant-to-tile{force-h-tiling=2 force-oc-tiling=2}' | filecheck %s --check-prefix=TILED
// RUN: ax-opt %s -p 'convert-quant-to-tile{io-pool="l2" constant-pool="l2" workspace-pool="ddr"}' | filecheck %s --check-prefix=POOLS
// RUN: not ax-opt %s -p 'convert-quant-to-tile{l1-bytes=4096}' 2>&1 | filecheck %s --check-prefix=NOFIT

// conv (3 -> 70 channels, 3x3, pad 1) + relu -> max pool -> dequantize -> Softmax (host) -> output,
// with the pooled int8 tensor as a second output.

!x = tensor<1x3x8x8x!quant.uniform<i8:f32, 0.5:-3>>
!w = tensor<70x3x3x3x!quant.uniform_per_axis<i8:f32:0, {0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01}>>
!y = tensor<1x70x8x8x!quant.uniform<i8:f32, 0.25:1>>
!p = tensor<1x70x4x4x!quant.uniform<i8:f32, 0.25:1>>
func.func @main(%x: tensor<1x3x8x8xf32>) -> (tensor<1x70x4x4xf32>, tensor<1x70x4x4xf32>) attributes {axc.input_names = ["image"], axc.output_names = ["probs", "pooled"]} {
  %q = quant.quantize %x : tensor<1x3x8x8xf32> -> !x
  %w = quant.constant {value = dense<1> : tensor<70x3x3x3xi8>} : !w
  %b = quant.constant {value = dense<5> : tensor<70xi32>} : tensor<70xi32>
  %y = quant.conv2d %q, %w, %b {pads = array<i64: 1, 1, 1, 1>, clamp = array<i64: 1, 127>, onnx_name = "conv1"} : (!x, !w, tensor<70xi32>) -> !y
  %p = quant.max_pool %y {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, onnx_name = "pool1"} : !y -> !p
  %d = quant.dequantize %p : !p -> tensor<1x70x4x4xf32>
  %s = onnx.Softmax %d {axis = 1 : i64, onnx_name = "softmax"} : (tensor<1x70x4x4xf32>) -> tensor<1x70x4x4xf32>
  func.return %s, %d : tensor<1x70x4x4xf32>, tensor<1x70x4x4xf32>
}

// Buffers: the quantized input frame (HWC, 3 channels padded to 64) with the quantization the host
// applies; int8 outputs keep their scale / zero point; the host segment's f32 result is an f32
// output in the logical NCHW shape; activations in the workspace pool, constants in the constant pool.
// CHECK-LABEL: func.func @main() attributes {axc.input_names = ["image"], axc.output_names = ["probs", "pooled"]}
// CHECK:     %[[IN:.*]] = tile.alloc {kind = "input", name = "image", scale = 5.000000e-01 : f64, zero_point = -3 : i64, shape = array<i64: 1, 3, 8, 8>} : memref<8x8x64xi8, "ddr">
// CHECK:     %[[ACT:.*]] = tile.alloc {kind = "activation", name = "conv1"} : memref<8x8x128xi8, "l2">
// CHECK:     %[[W:.*]] = tile.constant {name = "conv1/w0", src = "conv1", value = dense<1> : tensor<70x3x3x3xi8>} : memref<70x3x3x3xi8, "ddr">
// CHECK:     %[[T:.*]] = tile.constant {name = "conv1/t0", src = "conv1", value = {{.*}} : tensor<3x70xi32>} : memref<3x70xi32, "ddr">
// CHECK:     %[[POOLED:.*]] = tile.alloc {kind = "output", name = "pooled", scale = 2.500000e-01 : f64, zero_point = 1 : i64, shape = array<i64: 1, 70, 4, 4>} : memref<4x4x128xi8, "ddr">
// CHECK:     %[[PROBS:.*]] = tile.alloc {kind = "output", name = "probs", shape = array<i64: 1, 70, 4, 4>} : memref<1x70x4x4xf32, "ddr">
// One tile per op: weights and table to L1, the whole input, conv, store.
// CHECK:     %[[WL:.*]] = tile.alloc {kind = "scratch", name = "conv1/w"} : memref<70x3x3x3xi8, "l1">
// CHECK:     %[[TW:.*]] = tile.dma %[[W]], %[[WL]] {src_offsets = array<i64: 0, 0, 0, 0>, dst_offsets = array<i64: 0, 0, 0, 0>, sizes = array<i64: 70, 3, 3, 3>, src = "conv1"}
// CHECK:     %[[TT:.*]] = tile.dma %[[T]], %{{.*}} {{.*}}sizes = array<i64: 3, 70>
// CHECK:     %[[TI:.*]] = tile.dma %[[IN]], %[[IL:.*]] {src_offsets = array<i64: 0, 0, 0>, dst_offsets = array<i64: 0, 0, 0>, sizes = array<i64: 8, 8, 3>, src = "conv1"} : memref<8x8x64xi8, "ddr">, memref<8x8x64xi8, "l1">
// CHECK:     %[[TC:.*]] = tile.conv2d %[[IL]], %[[WL]], %{{.*}}, %[[OL:.*]] [after %[[TW]], %[[TT]], %[[TI]]] {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, group = 1 : i64, in_zp = -3 : i64, out_zp = 1 : i64, clamp = array<i64: 1, 127>, channels = array<i64: 3, 70>, src = "conv1"}
// CHECK:     %[[TS:.*]] = tile.dma %[[OL]], %[[ACT]] [after %[[TC]]] {{.*}}sizes = array<i64: 8, 8, 70>
// CHECK:     tile.dma %[[ACT]], %{{.*}} [after %[[TS]]]
// CHECK:     tile.max_pool {{.*}} {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, channels = array<i64: 70>, src = "pool1"}
// CHECK:     %[[TP:.*]] = tile.dma %{{.*}}, %[[POOLED]]
// The host segment reads the pooled buffer (dequantized with its scale / zero point) and writes the f32 output.
// CHECK:     tile.host ins(%[[POOLED]] : memref<4x4x128xi8, "ddr">) outs(%[[PROBS]] : memref<1x70x4x4xf32, "ddr">) [after %[[TP]]] attributes {scales = array<f64: 2.500000e-01, 1.000000e+00>, zero_points = array<i64: 1, 0>, shapes = [array<i64: 1, 70, 4, 4>, array<i64: 1, 70, 4, 4>], src = "softmax"} {
// CHECK:       onnx.Softmax
// CHECK:       tile.yield
// CHECK:     func.return
// CHECK-NOT: quant.

// Forced tiling: 2 height tiles x 2 output-channel tiles (64 + 6 channels); each channel tile has its
// own weights and table; input rows carry the halo (rows 0-4 and 3-7) and pads only at the image
// borders; the stores write row / channel offsets of the activation buffer.
// TILED:     tile.constant {name = "conv1/w0", {{.*}} : memref<64x3x3x3xi8, "ddr">
// TILED:     tile.constant {name = "conv1/t0", {{.*}} : memref<3x64xi32, "ddr">
// TILED:     tile.constant {name = "conv1/w1", {{.*}} : memref<6x3x3x3xi8, "ddr">
// TILED:     tile.constant {name = "conv1/t1", {{.*}} : memref<3x6xi32, "ddr">
// TILED:     tile.dma {{.*}} {src_offsets = array<i64: 0, 0, 0>, dst_offsets = array<i64: 0, 0, 0>, sizes = array<i64: 5, 8, 3>, src = "conv1"}
// TILED:     tile.conv2d {{.*}} pads = array<i64: 1, 1, 0, 1>, {{.*}} channels = array<i64: 3, 64>
// TILED:     tile.dma {{.*}} {src_offsets = array<i64: 0, 0, 0>, dst_offsets = array<i64: 0, 0, 0>, sizes = array<i64: 4, 8, 64>, src = "conv1"}
// TILED:     tile.dma {{.*}} {src_offsets = array<i64: 3, 0, 0>, dst_offsets = array<i64: 0, 0, 0>, sizes = array<i64: 5, 8, 3>, src = "conv1"}
// TILED:     tile.conv2d {{.*}} pads = array<i64: 0, 1, 1, 1>, {{.*}} channels = array<i64: 3, 64>
// TILED:     tile.dma {{.*}} {src_offsets = array<i64: 0, 0, 0>, dst_offsets = array<i64: 4, 0, 0>, sizes = array<i64: 4, 8, 64>, src = "conv1"}
// TILED:     tile.conv2d {{.*}} pads = array<i64: 1, 1, 0, 1>, {{.*}} channels = array<i64: 3, 6>
// TILED:     tile.dma {{.*}} {src_offsets = array<i64: 0, 0, 0>, dst_offsets = array<i64: 0, 0, 64>, sizes = array<i64: 4, 8, 6>, src = "conv1"}
// TILED:     tile.conv2d {{.*}} pads = array<i64: 0, 1, 1, 1>, {{.*}} channels = array<i64: 3, 6>
// TILED:     tile.dma {{.*}} {src_offsets = array<i64: 0, 0, 0>, dst_offsets = array<i64: 4, 0, 64>, sizes = array<i64: 4, 8, 6>, src = "conv1"}
// The pool is tiled the same way; each tile waits only for the conv tile that wrote its box.
// TILED-COUNT-4: tile.max_pool
// TILED:     tile.host

// Memory pools from the options.
// POOLS:     tile.alloc {kind = "input", {{.*}} : memref<8x8x64xi8, "l2">
// POOLS:     tile.alloc {kind = "activation", name = "conv1"} : memref<8x8x128xi8, "ddr">
// POOLS:     tile.constant {name = "conv1/w0", {{.*}} : memref<70x3x3x3xi8, "l2">
// POOLS:     tile.alloc {kind = "output", name = "probs", {{.*}} : memref<1x70x4x4xf32, "l2">

// An op whose smallest tile does not fit L1 names the op, the bytes needed and the bytes available.
// NOFIT: ax-opt: error: convert-quant-to-tile: 'quant.conv2d' op "conv1" does not fit in L1: its finest tiling (8 height x 2 channel tiles) needs 4544 bytes, 4096 bytes available (l1-bytes)
