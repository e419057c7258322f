// RUN: ax-opt %s -p onnx-sum-to-add | filecheck %s

// CHECK-LABEL: func.func @three
// CHECK-NEXT:    %[[A:.*]] = onnx.Add %a, %b {onnx_name = "s/add0"} : (tensor<1x4x2x2xf32>, tensor<1x4x2x2xf32>) -> tensor<1x4x2x2xf32>
// CHECK-NEXT:    %[[B:.*]] = onnx.Add %[[A]], %c {onnx_name = "s"} : (tensor<1x4x2x2xf32>, tensor<1x4x2x2xf32>) -> tensor<1x4x2x2xf32>
// CHECK-NEXT:    func.return %[[B]]
func.func @three(%a: tensor<1x4x2x2xf32>, %b: tensor<1x4x2x2xf32>, %c: tensor<1x4x2x2xf32>) -> tensor<1x4x2x2xf32> {
  %s = onnx.Sum %a, %b, %c {onnx_name = "s"} : (tensor<1x4x2x2xf32>, tensor<1x4x2x2xf32>, tensor<1x4x2x2xf32>) -> tensor<1x4x2x2xf32>
  func.return %s : tensor<1x4x2x2xf32>
}

// Intermediate results take the broadcast shape of their operands.
// CHECK-LABEL: func.func @broadcast
// CHECK-NEXT:    %[[A:.*]] = onnx.Add %a, %b {onnx_name = "s/add0"} : (tensor<4x1x1xf32>, tensor<1xf32>) -> tensor<4x1x1xf32>
// CHECK-NEXT:    onnx.Add %[[A]], %c {onnx_name = "s"} : (tensor<4x1x1xf32>, tensor<1x4x2x2xf32>) -> tensor<1x4x2x2xf32>
func.func @broadcast(%a: tensor<4x1x1xf32>, %b: tensor<1xf32>, %c: tensor<1x4x2x2xf32>) -> tensor<1x4x2x2xf32> {
  %s = onnx.Sum %a, %b, %c {onnx_name = "s"} : (tensor<4x1x1xf32>, tensor<1xf32>, tensor<1x4x2x2xf32>) -> tensor<1x4x2x2xf32>
  func.return %s : tensor<1x4x2x2xf32>
}

// CHECK-LABEL: func.func @one
// CHECK-NEXT:    func.return %a
func.func @one(%a: tensor<3xf32>) -> tensor<3xf32> {
  %s = onnx.Sum %a : (tensor<3xf32>) -> tensor<3xf32>
  func.return %s : tensor<3xf32>
}
