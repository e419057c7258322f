// RUN: ax-opt %s -p tile-plan-memory | filecheck %s
// RUN: ax-opt %s -p 'tile-plan-memory{l2-bytes=4096}' | filecheck %s --check-prefix=PROMOTE
// RUN: not ax-opt %s -p 'tile-plan-memory{l2-bytes=4096 buffer-promotion=false}' 2>&1 | filecheck %s --check-prefix=NOFIT-L2
// RUN: not ax-opt %s -p 'tile-plan-memory{l1-bytes=4096}' 2>&1 | filecheck %s --check-prefix=NOFIT-L1

// Three clamps in a row through activations a -> b -> c, and a copied to a second output at the end:
// a is live throughout, b and c are never live together, so c reuses b's bytes; the L1 buffers of
// each op are live only during it. Every buffer is 4 KiB.

func.func @main() attributes {axc.input_names = ["x"], axc.output_names = ["y", "z"]} {
  %x = tile.alloc {kind = "input", name = "x", shape = array<i64: 1, 64, 8, 8>, scale = 0.5 : f64, zero_point = 0 : i64} : memref<8x8x64xi8, "ddr">
  %y = tile.alloc {kind = "output", name = "y", shape = array<i64: 1, 64, 8, 8>, scale = 0.5 : f64, zero_point = 0 : i64} : memref<8x8x64xi8, "ddr">
  %z = tile.alloc {kind = "output", name = "z", shape = array<i64: 1, 64, 8, 8>, scale = 0.5 : f64, zero_point = 0 : i64} : memref<8x8x64xi8, "ddr">
  %a = tile.alloc {kind = "activation", name = "a"} : memref<8x8x64xi8, "l2">
  %b = tile.alloc {kind = "activation", name = "b"} : memref<8x8x64xi8, "l2">
  %c = tile.alloc {kind = "activation", name = "c"} : memref<8x8x64xi8, "l2">
  %i1 = tile.alloc {kind = "scratch", name = "op1/in"} : memref<8x8x64xi8, "l1">
  %o1 = tile.alloc {kind = "scratch", name = "op1/out"} : memref<8x8x64xi8, "l1">
  %t1 = tile.dma %x, %i1 {src_offsets = array<i64: 0, 0, 0>, dst_offsets = array<i64: 0, 0, 0>, sizes = array<i64: 8, 8, 64>} : memref<8x8x64xi8, "ddr">, memref<8x8x64xi8, "l1">
  %t2 = tile.clamp %i1, %o1 [after %t1] {clamp = array<i64: 0, 100>, channels = array<i64: 64>, src = "op1"} : memref<8x8x64xi8, "l1">, memref<8x8x64xi8, "l1">
  %t3 = tile.dma %o1, %a [after %t2] {src_offsets = array<i64: 0, 0, 0>, dst_offsets = array<i64: 0, 0, 0>, sizes = array<i64: 8, 8, 64>} : memref<8x8x64xi8, "l1">, memref<8x8x64xi8, "l2">
  %i2 = tile.alloc {kind = "scratch", name = "op2/in"} : memref<8x8x64xi8, "l1">
  %o2 = tile.alloc {kind = "scratch", name = "op2/out"} : memref<8x8x64xi8, "l1">
  %t4 = tile.dma %a, %i2 [after %t3] {src_offsets = array<i64: 0, 0, 0>, dst_offsets = array<i64: 0, 0, 0>, sizes = array<i64: 8, 8, 64>} : memref<8x8x64xi8, "l2">, memref<8x8x64xi8, "l1">
  %t5 = tile.clamp %i2, %o2 [after %t4] {clamp = array<i64: 0, 90>, channels = array<i64: 64>, src = "op2"} : memref<8x8x64xi8, "l1">, memref<8x8x64xi8, "l1">
  %t6 = tile.dma %o2, %b [after %t5] {src_offsets = array<i64: 0, 0, 0>, dst_offsets = array<i64: 0, 0, 0>, sizes = array<i64: 8, 8, 64>} : memref<8x8x64xi8, "l1">, memref<8x8x64xi8, "l2">
  %i3 = tile.alloc {kind = "scratch", name = "op3/in"} : memref<8x8x64xi8, "l1">
  %o3 = tile.alloc {kind = "scratch", name = "op3/out"} : memref<8x8x64xi8, "l1">
  %t7 = tile.dma %b, %i3 [after %t6] {src_offsets = array<i64: 0, 0, 0>, dst_offsets = array<i64: 0, 0, 0>, sizes = array<i64: 8, 8, 64>} : memref<8x8x64xi8, "l2">, memref<8x8x64xi8, "l1">
  %t8 = tile.clamp %i3, %o3 [after %t7] {clamp = array<i64: 0, 80>, channels = array<i64: 64>, src = "op3"} : memref<8x8x64xi8, "l1">, memref<8x8x64xi8, "l1">
  %t9 = tile.dma %o3, %c [after %t8] {src_offsets = array<i64: 0, 0, 0>, dst_offsets = array<i64: 0, 0, 0>, sizes = array<i64: 8, 8, 64>} : memref<8x8x64xi8, "l1">, memref<8x8x64xi8, "l2">
  %t10 = tile.dma %c, %y [after %t9] {src_offsets = array<i64: 0, 0, 0>, dst_offsets = array<i64: 0, 0, 0>, sizes = array<i64: 8, 8, 64>} : memref<8x8x64xi8, "l2">, memref<8x8x64xi8, "ddr">
  %t11 = tile.dma %a, %z [after %t3] {src_offsets = array<i64: 0, 0, 0>, dst_offsets = array<i64: 0, 0, 0>, sizes = array<i64: 8, 8, 64>} : memref<8x8x64xi8, "l2">, memref<8x8x64xi8, "ddr">
  func.return
}

// Peak bytes per space as a module attribute.
// CHECK:      builtin.module attributes {tile.memory_usage = {l1 = 8192 : i64, l2 = 8192 : i64, ddr = 12288 : i64}}
// I/O live for the whole program, one after the other in DDR.
// CHECK:      tile.alloc {kind = "input", {{.*}} offset = 0 : i64} : memref<8x8x64xi8, "ddr">
// CHECK-NEXT: tile.alloc {kind = "output", {{.*}} offset = 4096 : i64} : memref<8x8x64xi8, "ddr">
// CHECK-NEXT: tile.alloc {kind = "output", {{.*}} offset = 8192 : i64} : memref<8x8x64xi8, "ddr">
// a is live throughout; c reuses b's bytes.
// CHECK-NEXT: %[[A:.*]] = tile.alloc {kind = "activation", name = "a", offset = 0 : i64} : memref<8x8x64xi8, "l2">
// CHECK-NEXT: %[[B:.*]] = tile.alloc {kind = "activation", name = "b", offset = 4096 : i64} : memref<8x8x64xi8, "l2">
// CHECK-NEXT: %[[C:.*]] = tile.alloc {kind = "activation", name = "c", offset = 4096 : i64} : memref<8x8x64xi8, "l2">
// Each op's L1 buffers start again at 0.
// CHECK-NEXT: tile.alloc {kind = "scratch", name = "op1/in", offset = 0 : i64}
// CHECK-NEXT: tile.alloc {kind = "scratch", name = "op1/out", offset = 4096 : i64}
// CHECK:      %[[T2:.*]] = tile.clamp
// CHECK:      tile.alloc {kind = "scratch", name = "op2/in", offset = 0 : i64}
// CHECK-NEXT: tile.alloc {kind = "scratch", name = "op2/out", offset = 4096 : i64}
// op2's L1 writes wait for op1's uses of the same bytes (write-after-read tokens from the reuse).
// CHECK-NEXT: %[[T4:.*]] = tile.dma %[[A]], %{{.*}} [after %{{.*}}, %[[T2]], %{{.*}}]
// CHECK:      %[[T7:.*]] = tile.dma %[[B]], %{{.*}} [after
// The store into c (b's bytes) waits for the load that last read b.
// CHECK:      tile.dma %{{.*}}, %[[C]] [after {{.*}}%[[T7]]{{.*}}]

// Promotion: with 4 KiB of L2, a (first) stays in L2, b and c move to DDR, where c reuses b's bytes.
// PROMOTE:      builtin.module attributes {tile.memory_usage = {l1 = 8192 : i64, l2 = 4096 : i64, ddr = 16384 : i64}}
// PROMOTE:      tile.alloc {kind = "activation", name = "a", offset = 0 : i64} : memref<8x8x64xi8, "l2">
// PROMOTE-NEXT: tile.alloc {kind = "activation", name = "b", offset = 12288 : i64} : memref<8x8x64xi8, "ddr">
// PROMOTE-NEXT: tile.alloc {kind = "activation", name = "c", offset = 12288 : i64} : memref<8x8x64xi8, "ddr">

// Without promotion the activations must fit where they are: the error names the op where the most
// bytes are live.
// NOFIT-L2: ax-opt: error: tile-plan-memory: the model does not fit in l2: at 'tile.dma' op "tile.dma" 8192 bytes of l2 buffers are live, 4096 bytes available (l2-bytes)
// NOFIT-L1: ax-opt: error: tile-plan-memory: the model does not fit in l1: at 'tile.clamp' op "op1" 8192 bytes of l1 buffers are live, 4096 bytes available (l1-bytes)
