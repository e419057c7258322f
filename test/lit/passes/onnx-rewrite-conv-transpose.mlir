// RUN: ax-opt %s -p onnx-rewrite-conv-transpose | filecheck %s

// A 2x2 stride-2 ConvTranspose (a DB detector's upsampling head): a 1x1 Conv with 3 * 2 * 2
// output channels, then DepthToSpace (CRD). W'[o*4 + a*2 + b, c] = W[c, o, a, b]; the bias repeats.
// CHECK-LABEL: func.func @up
// CHECK:         %[[W:.*]] = onnx.Constant {value = dense<{{.*}}> : tensor<12x2x1x1xf32>, onnx_name = "up/W"}
// CHECK:         %[[B:.*]] = onnx.Constant {value = dense<[1.000000e+00, 1.000000e+00, 1.000000e+00, 1.000000e+00, 2.000000e+00, {{.*}}]> : tensor<12xf32>, onnx_name = "up/B"}
// CHECK:         %[[C:.*]] = onnx.Conv %x, %[[W]], %[[B]] {{{.*}}onnx_name = "up"} : (tensor<1x2x4x4xf32>, tensor<12x2x1x1xf32>, tensor<12xf32>) -> tensor<1x12x4x4xf32>
// CHECK:         onnx.DepthToSpace %[[C]] {blocksize = 2 : i64, mode = "CRD", onnx_name = "up/shuffle"} : (tensor<1x12x4x4xf32>) -> tensor<1x3x8x8xf32>
// CHECK-NOT:     onnx.ConvTranspose
func.func @up(%x: tensor<1x2x4x4xf32>) -> tensor<1x3x8x8xf32> {
  %w = onnx.Constant {value = dense<0.5> : tensor<2x3x2x2xf32>} : () -> tensor<2x3x2x2xf32>
  %b = onnx.Constant {value = dense<[1.0, 2.0, 3.0]> : tensor<3xf32>} : () -> tensor<3xf32>
  %y = onnx.ConvTranspose %x, %w, %b {strides = array<i64: 2, 2>, onnx_name = "up"} : (tensor<1x2x4x4xf32>, tensor<2x3x2x2xf32>, tensor<3xf32>) -> tensor<1x3x8x8xf32>
  func.return %y : tensor<1x3x8x8xf32>
}

// Overlapping windows (kernel 3, stride 2) stay a ConvTranspose (a host op).
// CHECK-LABEL: func.func @overlapping
// CHECK:         onnx.ConvTranspose
func.func @overlapping(%x: tensor<1x2x4x4xf32>) -> tensor<1x3x9x9xf32> {
  %w = onnx.Constant {value = dense<0.5> : tensor<2x3x3x3xf32>} : () -> tensor<2x3x3x3xf32>
  %y = onnx.ConvTranspose %x, %w {strides = array<i64: 2, 2>} : (tensor<1x2x4x4xf32>, tensor<2x3x3x3xf32>) -> tensor<1x3x9x9xf32>
  func.return %y : tensor<1x3x9x9xf32>
}
