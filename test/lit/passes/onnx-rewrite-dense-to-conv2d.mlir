// RUN: ax-opt %s -p onnx-rewrite-dense-to-conv2d | filecheck %s

// Reshape (N,C,H,W) -> (N,CHW) -> Gemm -> Relu -> Gemm -> Softmax (AlexNet, VGG): the first Gemm is
// a Conv with kernel HxW over the 4-D tensor, the Relu runs on (N,M,1,1), the second Gemm is a 1x1
// Conv, and one Reshape back to (N,M) remains, before the Softmax.
// CHECK-LABEL: func.func @classifier
// CHECK-NEXT:    %[[W1:.*]] = onnx.Constant {{.*}} : tensor<3x2x2x2xf32>, onnx_name = "fc1/W"}
// CHECK-NEXT:    %[[B1:.*]] = onnx.Constant {{.*}} onnx_name = "fc1/B"}
// CHECK-NEXT:    %[[C1:.*]] = onnx.Conv %x, %[[W1]], %[[B1]] {kernel_shape = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>, onnx_name = "fc1"} : (tensor<1x2x2x2xf32>, tensor<3x2x2x2xf32>, tensor<3xf32>) -> tensor<1x3x1x1xf32>
// CHECK-NEXT:    %[[R:.*]] = onnx.Relu %[[C1]] {onnx_name = "relu"} : (tensor<1x3x1x1xf32>) -> tensor<1x3x1x1xf32>
// CHECK-NEXT:    %[[W2:.*]] = onnx.Constant {{.*}} : tensor<4x3x1x1xf32>, onnx_name = "fc2/W"}
// CHECK-NEXT:    %[[C2:.*]] = onnx.Conv %[[R]], %[[W2]] {kernel_shape = array<i64: 1, 1>, {{.*}}onnx_name = "fc2"} : (tensor<1x3x1x1xf32>, tensor<4x3x1x1xf32>) -> tensor<1x4x1x1xf32>
// CHECK-NEXT:    %[[S:.*]] = onnx.Constant {value = dense<[1, 4]> : tensor<2xi64>, onnx_name = "fc2/reshape/shape"}
// CHECK-NEXT:    %[[F:.*]] = onnx.Reshape %[[C2]], %[[S]] {onnx_name = "fc2/reshape"} : (tensor<1x4x1x1xf32>, tensor<2xi64>) -> tensor<1x4xf32>
// CHECK-NEXT:    %[[P:.*]] = onnx.Softmax %[[F]]
// CHECK-NEXT:    func.return %[[P]]
func.func @classifier(%x: tensor<1x2x2x2xf32>) -> tensor<1x4xf32> {
  %s = onnx.Constant {value = dense<[1, 8]> : tensor<2xi64>} : () -> tensor<2xi64>
  %f = onnx.Reshape %x, %s {onnx_name = "flat"} : (tensor<1x2x2x2xf32>, tensor<2xi64>) -> tensor<1x8xf32>
  %w1 = onnx.Constant {value = dense<0.5> : tensor<3x8xf32>} : () -> tensor<3x8xf32>
  %b1 = onnx.Constant {value = dense<[1.0, 2.0, 3.0]> : tensor<3xf32>} : () -> tensor<3xf32>
  %g1 = onnx.Gemm %f, %w1, %b1 {transB = 1 : i64, onnx_name = "fc1"} : (tensor<1x8xf32>, tensor<3x8xf32>, tensor<3xf32>) -> tensor<1x3xf32>
  %r = onnx.Relu %g1 {onnx_name = "relu"} : (tensor<1x3xf32>) -> tensor<1x3xf32>
  %w2 = onnx.Constant {value = dense<0.25> : tensor<4x3xf32>} : () -> tensor<4x3xf32>
  %g2 = onnx.Gemm %r, %w2 {transB = 1 : i64, onnx_name = "fc2"} : (tensor<1x3xf32>, tensor<4x3xf32>) -> tensor<1x4xf32>
  %p = onnx.Softmax %g2 : (tensor<1x4xf32>) -> tensor<1x4xf32>
  func.return %p : tensor<1x4xf32>
}

// A 2-D input: a 1x1 Conv on a (N,K,1,1) view. transB = 0, alpha and beta fold into the
// constants: W[m, k] = alpha * B[k, m], bias = beta * C.
// CHECK-LABEL: func.func @plain
// CHECK-NEXT:    %[[S:.*]] = onnx.Constant {value = dense<[2, 3, 1, 1]> : tensor<4xi64>, onnx_name = "g/reshape_in/shape"}
// CHECK-NEXT:    %[[V:.*]] = onnx.Reshape %a, %[[S]] {onnx_name = "g/reshape_in"} : (tensor<2x3xf32>, tensor<4xi64>) -> tensor<2x3x1x1xf32>
// CHECK-NEXT:    %[[W:.*]] = onnx.Constant {value = dense<{{\[\[\[\[}}2.000000e+00]], {{\[\[}}6.000000e+00]], {{\[\[}}1.000000e+01]]], {{\[\[\[}}4.000000e+00]], {{\[\[}}8.000000e+00]], {{\[\[}}1.200000e+01]]]]> : tensor<2x3x1x1xf32>, onnx_name = "g/W"}
// CHECK-NEXT:    %[[B:.*]] = onnx.Constant {value = dense<1.500000e+00> : tensor<2xf32>, onnx_name = "g/B"}
// CHECK-NEXT:    %[[C:.*]] = onnx.Conv %[[V]], %[[W]], %[[B]] {{.*}} : (tensor<2x3x1x1xf32>, tensor<2x3x1x1xf32>, tensor<2xf32>) -> tensor<2x2x1x1xf32>
// CHECK:         onnx.Reshape %[[C]], %{{.*}} {onnx_name = "g/reshape"} : (tensor<2x2x1x1xf32>, tensor<2xi64>) -> tensor<2x2xf32>
func.func @plain(%a: tensor<2x3xf32>) -> tensor<2x2xf32> {
  %b = onnx.Constant {value = dense<[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]> : tensor<3x2xf32>} : () -> tensor<3x2xf32>
  %c = onnx.Constant {value = dense<0.5> : tensor<f32>} : () -> tensor<f32>
  %g = onnx.Gemm %a, %b, %c {alpha = 2.0 : f32, beta = 3.0 : f32, onnx_name = "g"} : (tensor<2x3xf32>, tensor<3x2xf32>, tensor<f32>) -> tensor<2x2xf32>
  func.return %g : tensor<2x2xf32>
}

// MatMul by a constant matrix, after a Flatten.
// CHECK-LABEL: func.func @matmul
// CHECK:         onnx.Conv %x, %{{.*}} {kernel_shape = array<i64: 2, 1>, {{.*}}onnx_name = "mm"} : (tensor<1x3x2x1xf32>, tensor<5x3x2x1xf32>) -> tensor<1x5x1x1xf32>
// CHECK-NOT:     onnx.Flatten
// CHECK-NOT:     onnx.MatMul
func.func @matmul(%x: tensor<1x3x2x1xf32>) -> tensor<1x5xf32> {
  %f = onnx.Flatten %x {axis = 1 : i64} : (tensor<1x3x2x1xf32>) -> tensor<1x6xf32>
  %b = onnx.Constant {value = dense<1.0> : tensor<6x5xf32>} : () -> tensor<6x5xf32>
  %y = onnx.MatMul %f, %b {onnx_name = "mm"} : (tensor<1x6xf32>, tensor<6x5xf32>) -> tensor<1x5xf32>
  func.return %y : tensor<1x5xf32>
}

// Not rewritten: weights that are not constants, transA.
// CHECK-LABEL: func.func @not_rewritten
// CHECK:         onnx.Gemm %a, %b
// CHECK:         onnx.Gemm %{{.*}}, %{{.*}} {transA = 1 : i64}
func.func @not_rewritten(%a: tensor<2x3xf32>, %b: tensor<3x2xf32>) -> (tensor<2x2xf32>, tensor<3x3xf32>) {
  %g = onnx.Gemm %a, %b : (tensor<2x3xf32>, tensor<3x2xf32>) -> tensor<2x2xf32>
  %c = onnx.Constant {value = dense<1.0> : tensor<2x3xf32>} : () -> tensor<2x3xf32>
  %h = onnx.Gemm %a, %c {transA = 1 : i64} : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<3x3xf32>
  func.return %g, %h : tensor<2x2xf32>, tensor<3x3xf32>
}

// A transformer's linear layer: (1, T, K) tokens by a constant (K, N) matrix is a 1x1 Conv over
// (1, K, 1, T) between two transposes.
// CHECK-LABEL: func.func @sequence_matmul
// CHECK:         %[[T:.*]] = onnx.Transpose %x {perm = array<i64: 0, 2, 1>, onnx_name = "lin/to_channels"} : (tensor<1x5x3xf32>) -> tensor<1x3x5xf32>
// CHECK:         %[[R:.*]] = onnx.Reshape %[[T]], %{{.*}} {onnx_name = "lin/reshape_in"} : (tensor<1x3x5xf32>, tensor<4xi64>) -> tensor<1x3x1x5xf32>
// CHECK:         %[[C:.*]] = onnx.Conv %[[R]], %{{.*}} {{.*}}onnx_name = "lin"{{.*}} : (tensor<1x3x1x5xf32>, tensor<4x3x1x1xf32>) -> tensor<1x4x1x5xf32>
// CHECK:         %[[O:.*]] = onnx.Reshape %[[C]], %{{.*}} : (tensor<1x4x1x5xf32>, tensor<3xi64>) -> tensor<1x4x5xf32>
// CHECK:         onnx.Transpose %[[O]] {perm = array<i64: 0, 2, 1>, onnx_name = "lin/to_tokens"} : (tensor<1x4x5xf32>) -> tensor<1x5x4xf32>
// CHECK-NOT:     onnx.MatMul
func.func @sequence_matmul(%x: tensor<1x5x3xf32>) -> tensor<1x5x4xf32> {
  %w = onnx.Constant {value = dense<[[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0], [9.0, 10.0, 11.0, 12.0]]> : tensor<3x4xf32>} : () -> tensor<3x4xf32>
  %y = onnx.MatMul %x, %w {onnx_name = "lin"} : (tensor<1x5x3xf32>, tensor<3x4xf32>) -> tensor<1x5x4xf32>
  func.return %y : tensor<1x5x4xf32>
}
