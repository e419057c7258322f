// RUN: ax-opt %s -p 'convert-quant-to-tile{force-h-tiling=2 force-oc-tiling=2}' | filecheck %s
// RUN: ax-opt %s -p 'convert-quant-to-tile,tile-plan-memory,convert-tile-to-aipu{schedule=false}' | filecheck %s --check-prefix=AIPU

// quant.mul of a 70-channel activation by its (1, 70, 1, 1) gate: the gate is loaded into L1 once
// per channel tile (64 + 6 channels) as a 1 x 1 x C vector and kept across the height tiles; every
// tile.mul waits for the vector load and its input rows. M, shift from 0.5 * 0.25 / 0.125 = 1:
// M = 2^30, shift = 30. At the aipu level it is `dpu op = mul` with b_shape = [1, 1, _].

// CHECK:       %[[V0:.*]] = tile.alloc {kind = "scratch", name = "se/vec"} : memref<1x1x64xi8, "l1">
// CHECK-NEXT:  %[[D0:.*]] = tile.dma %{{.*}}, %[[V0]] {{.*}}sizes = array<i64: 1, 1, 64>
// CHECK:       tile.mul %{{.*}}, %[[V0]], %{{.*}} [after %[[D0]], %{{.*}}] {a_zp = -3 : i64, b_zp = 1 : i64, mult = 1073741824 : i64, shift = 30 : i64, out_zp = 2 : i64, clamp = array<i64: -128, 127>, channels = array<i64: 64>, src = "se"} : memref<2x4x64xi8, "l1">, memref<1x1x64xi8, "l1">, memref<2x4x64xi8, "l1">
// CHECK:       tile.mul %{{.*}}, %[[V0]], %{{.*}} [after %[[D0]], %{{.*}}] {{.*}}channels = array<i64: 64>
// CHECK:       %[[V1:.*]] = tile.alloc {kind = "scratch", name = "se/vec"} : memref<1x1x64xi8, "l1">
// CHECK-NEXT:  %[[D1:.*]] = tile.dma %{{.*}}, %[[V1]] {{.*}}sizes = array<i64: 1, 1, 6>
// CHECK:       tile.mul %{{.*}}, %[[V1]], %{{.*}} [after %[[D1]], %{{.*}}] {{.*}}channels = array<i64: 6>
// CHECK:       tile.mul %{{.*}}, %[[V1]], %{{.*}} [after %[[D1]], %{{.*}}] {{.*}}channels = array<i64: 6>
// CHECK-NOT:   tile.mul

// AIPU:        aipu.dpu op = mul, a = l1[{{.*}}], a_shape = [4, 4, 128], b = l1[{{.*}}], b_shape = [1, 1, 128], out = l1[{{.*}}], out_shape = [4, 4, 128], channels = 70, a_zp = -3, b_zp = 1, mult = 1073741824, shift = 30, out_zp = 2{{.*}}src = "se"

!x = tensor<1x70x4x4x!quant.uniform<i8:f32, 0.5:-3>>
!g = tensor<1x70x1x1x!quant.uniform<i8:f32, 0.25:1>>
!y = tensor<1x70x4x4x!quant.uniform<i8:f32, 0.125:2>>
func.func @main(%x: tensor<1x70x4x4xf32>, %g: tensor<1x70x1x1xf32>) -> tensor<1x70x4x4xf32> attributes {axc.input_names = ["image", "gate"], axc.output_names = ["out"]} {
  %q = quant.quantize %x : tensor<1x70x4x4xf32> -> !x
  %gq = quant.quantize %g : tensor<1x70x1x1xf32> -> !g
  %y = quant.mul %q, %gq {onnx_name = "se"} : (!x, !g) -> !y
  %d = quant.dequantize %y : !y -> tensor<1x70x4x4xf32>
  func.return %d : tensor<1x70x4x4xf32>
}
