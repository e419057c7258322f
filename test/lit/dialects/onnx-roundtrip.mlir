// RUN: ax-opt %s | ax-opt | filecheck %s
// RUN: ax-opt %s --print-op-generic | ax-opt | filecheck %s

// CHECK-LABEL: func.func @main
func.func @main(%x: tensor<1x3x8x8xf32>) -> tensor<1x4x3x3xf32> {
  // CHECK: %[[W:.*]] = onnx.Constant {value = dense<5.000000e-01> : tensor<4x3x3x3xf32>} : () -> tensor<4x3x3x3xf32>
  %w = onnx.Constant {value = dense<0.5> : tensor<4x3x3x3xf32>} : () -> tensor<4x3x3x3xf32>
  %b = onnx.Constant {value = dense<0.1> : tensor<4xf32>} : () -> tensor<4xf32>
  // CHECK: onnx.Conv %{{.*}}, %[[W]], %{{.*}} {pads = array<i64: 1, 1, 1, 1>, onnx_name = "c1"} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<4xf32>) -> tensor<1x4x8x8xf32>
  %y = onnx.Conv %x, %w, %b {pads = array<i64: 1, 1, 1, 1>, onnx_name = "c1"} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<4xf32>) -> tensor<1x4x8x8xf32>
  // CHECK: onnx.Relu
  %r = onnx.Relu %y : (tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32>
  // CHECK: onnx.Sum %{{.*}}, %{{.*}}, %{{.*}} : (tensor<1x4x8x8xf32>, tensor<1x4x8x8xf32>, tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32>
  %s = onnx.Sum %r, %y, %y : (tensor<1x4x8x8xf32>, tensor<1x4x8x8xf32>, tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32>
  // CHECK: onnx.MaxPool %{{.*}} {kernel_shape = array<i64: 3, 3>, strides = array<i64: 2, 2>}
  %m = onnx.MaxPool %s {kernel_shape = array<i64: 3, 3>, strides = array<i64: 2, 2>} : (tensor<1x4x8x8xf32>) -> tensor<1x4x3x3xf32>
  func.return %m : tensor<1x4x3x3xf32>
}
