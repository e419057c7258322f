// RUN: ax-opt %s -p onnx-place | filecheck %s
// RUN: ax-opt %s -p 'onnx-place{cpu-fallback-ops="Conv"}' | filecheck %s --check-prefix=FORCED

// A Conv with constant weights runs on the AIPU, an Erf on the host, a rank-3 Add never on the
// AIPU (the tile level stores (1, C, H, W) / (1, C) frames only). MACs are those of one frame.
// CHECK:       axc.placement_summary = {aipu_ops = 1 : i64, host_ops = 2 : i64, subgraph_ops = 0 : i64, aipu_macs = 1728 : i64, host_macs = 0 : i64, host_op_types = {Add = 1 : i64, Erf = 1 : i64}}
// CHECK-LABEL: func.func @mixed
// CHECK:         onnx.Conv {{.*}}axc.placement = "aipu"
// CHECK:         onnx.Erf {{.*}}axc.placement = "host"
// CHECK:         onnx.Add {{.*}}axc.placement = "host"
// FORCED:      axc.placement_summary = {aipu_ops = 0 : i64, host_ops = 3 : i64, subgraph_ops = 0 : i64, aipu_macs = 0 : i64, host_macs = 1728 : i64
// FORCED:        onnx.Conv {{.*}}axc.placement = "host"
func.func @mixed(%x: tensor<1x3x4x4xf32>, %a: tensor<2x3x4xf32>) -> (tensor<1x4x4x4xf32>, tensor<2x3x4xf32>) {
  %w = onnx.Constant {value = dense<0.5> : tensor<4x3x3x3xf32>} : () -> tensor<4x3x3x3xf32>
  %c = onnx.Conv %x, %w {pads = array<i64: 1, 1, 1, 1>} : (tensor<1x3x4x4xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x4x4xf32>
  %s = onnx.Erf %c : (tensor<1x4x4x4xf32>) -> tensor<1x4x4x4xf32>
  %b = onnx.Add %a, %a : (tensor<2x3x4xf32>, tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  func.return %s, %b : tensor<1x4x4x4xf32>, tensor<2x3x4xf32>
}

