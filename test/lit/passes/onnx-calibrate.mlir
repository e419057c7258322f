// RUN: python -c "import numpy as np; np.savez('%t.npz', x=np.array([[-1, 2, 0.5, 3], [1, -4, 0, 0]], np.float32))"
// RUN: ax-opt %s -p 'onnx-calibrate{calibration-data="%t.npz"}' | filecheck %s
// RUN: ax-opt %s -p 'onnx-calibrate{frames=2 seed=1 scheme="per_tensor_histogram"}' | filecheck %s --check-prefix=HIST
// RUN: python -c "import numpy as np; np.savez('%t.bad.npz', y=np.zeros((1, 4), np.float32))"
// RUN: not ax-opt %s -p 'onnx-calibrate{calibration-data="%t.bad.npz"}' 2>&1 | filecheck %s --check-prefix=MISSING
// RUN: python -c "import numpy as np; np.savez('%t.shape.npz', x=np.zeros((2, 5), np.float32))"
// RUN: not ax-opt %s -p 'onnx-calibrate{calibration-data="%t.shape.npz"}' 2>&1 | filecheck %s --check-prefix=SHAPE

// Two frames stacked on axis 0: x = [-1, 2, 0.5, 3] then [1, -4, 0, 0]. Min / max over both.
// CHECK:       func.func @main(%x: tensor<1x4xf32> {onnx_name = "x", calibration = array<f32: -4.000000e+00, 3.000000e+00>})
// CHECK-NEXT:    %c = onnx.Constant {value = dense<2.000000e+00> : tensor<f32>} : () -> tensor<f32>
// CHECK-NEXT:    %r = onnx.Relu %x {onnx_name = "r", calibration = array<f32: 0.000000e+00, 3.000000e+00>}
// CHECK-NEXT:    %m = onnx.Mul %r, %c {onnx_name = "m", calibration = array<f32: 0.000000e+00, 6.000000e+00>}
// CHECK-NEXT:    %n = onnx.Mul %x, %c {onnx_name = "n", calibration = array<f32: -8.000000e+00, 6.000000e+00>}

// HIST:        func.func @main(%x: tensor<1x4xf32> {onnx_name = "x", calibration = array<f32: {{.*}}>})
// HIST:          onnx.Relu %x {onnx_name = "r", calibration = array<f32: {{.*}}>}
// HIST-NOT:      onnx.Constant {{.*}}calibration

// MISSING: ax-opt: error: {{.*}}.bad.npz: no array 'x' (keys: 'y'; model inputs: 'x')
// SHAPE:   ax-opt: error: {{.*}}.shape.npz: input 'x' has shape 2x5, expected 1x4 (or frames of it stacked on axis 0)

func.func @main(%x: tensor<1x4xf32> {onnx_name = "x"}) -> (tensor<1x4xf32>, tensor<1x4xf32>) {
  %c = onnx.Constant {value = dense<2.0> : tensor<f32>} : () -> tensor<f32>
  %r = onnx.Relu %x {onnx_name = "r"} : (tensor<1x4xf32>) -> tensor<1x4xf32>
  %m = onnx.Mul %r, %c {onnx_name = "m"} : (tensor<1x4xf32>, tensor<f32>) -> tensor<1x4xf32>
  %n = onnx.Mul %x, %c {onnx_name = "n"} : (tensor<1x4xf32>, tensor<f32>) -> tensor<1x4xf32>
  func.return %m, %n : tensor<1x4xf32>, tensor<1x4xf32>
}
