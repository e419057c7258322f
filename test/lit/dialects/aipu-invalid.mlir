// RUN: ax-opt %s --split-input-file --verify-diagnostics | filecheck %s

aipu.program cores = 1, frequency = 800000000 {
  aipu.task_list core = 0 {
    aipu.dpu op = clamp, in = l1[0x37fff0], in_shape = [1, 1, 64], out = l1[0x0], out_shape = [1, 1, 64], channels = 8
  }
}
// CHECK: 'aipu.dpu' op in: 64 bytes at l1:0x37fff0 must end within the l1 size 3670016 (0x380000), got end 0x380030

// -----

aipu.program cores = 1, frequency = 800000000 {
  aipu.task_list core = 0 {
    aipu.wait tokens = [0]
    aipu.dma from = l2[0x0], to = l1[0x0], sizes = [64], signal = 0
  }
}
// CHECK: 'aipu.program' op 'wait' waits for token 0 before it is signalled

// -----

aipu.program cores = 1, frequency = 800000000 {
  aipu.task_list core = 0 {
    aipu.mvm in = l1[0x0], in_shape = [8, 8, 64], w = l1[0x1000], w_shape = [8, 1, 3, 3], table = l1[0x2000], out = l1[0x3000], out_shape = [8, 8, 64], channels = [1, 8]
  }
}
// CHECK: 'aipu.mvm' op out_shape must be [6, 6, _] for in_shape [8, 8, 64] and kernel [3, 3], got [8, 8, 64]

// -----

aipu.program cores = 1, frequency = 800000000 {
  aipu.task_list core = 0 {
    aipu.dma from = l2[0x0], to = l1[0x0], sizes = [4, 64], from_strides = [64, 1], to_strides = [64]
  }
}
// CHECK: 'aipu.dma' op from_strides must have 1 values (one per outer dim of sizes [4, 64]), got 2

// -----

aipu.program cores = 2, frequency = 800000000 {
  aipu.task_list core = 0 {
  }
}
// CHECK: 'aipu.program' op task lists must be for cores [0, 1], got [0]

// -----

aipu.program cores = 1, frequency = 800000000 {
  aipu.task_list core = 0 {
    aipu.dwpu op = dwconv, in = l1[0x0], in_shape = [4, 4, 64], out = l1[0x1000], out_shape = [4, 4, 64], channels = [8, 8], kernel = [1, 1]
  }
}
// CHECK: 'aipu.dwpu' op op=dwconv needs operand 'w'

// -----

aipu.program cores = 1, frequency = 800000000 {
  aipu.task_list core = 0 {
    aipu.dma from = l2[0x0], to = l1[0x0], sizes = [64], signal = 0
    aipu.dpu op = clamp, in = l1[0x0], in_shape = [1, 1, 64], out = l1[0x100], out_shape = [1, 1, 64], channels = 8
  }
}
// CHECK: 'aipu.program' op race: 'dpu' reads l1:0x0..0x40 that 'dma' writes (instruction 0 of core 0) with nothing ordering them: expected a wait for the token of instruction 0 of core 0 before instruction 1 of core 0

// -----

aipu.program cores = 1, frequency = 800000000 {
  aipu.task_list core = 0 {
  }
  aipu.task_list core = 0 {
  }
}
// CHECK: 'aipu.program' op has two task lists for core 0

// -----

// Batch-x: one frame per core, so batch <= cores.
aipu.program cores = 1, frequency = 800000000, batch = 2 {
  aipu.task_list core = 0 {
  }
}
// CHECK: 'aipu.program' op batch must be in [1, cores = 1] (one frame per core), got 2

// -----

aipu.program cores = 2, frequency = 800000000, batch = 2 {
  aipu.io kind = input, name = "x", at = l2[0x0], dtype = i8, shape = [1, 8], stored = [1, 1, 64], scale = 0.5, zp = 0
  aipu.io kind = input, name = "x", frame = 2, at = l2[0x40], dtype = i8, shape = [1, 8], stored = [1, 1, 64], scale = 0.5, zp = 0
  aipu.task_list core = 0 {
  }
  aipu.task_list core = 1 {
  }
}
// CHECK: 'aipu.program' op .input "x": frame must be in [0, 2) (batch 2), got 2

// -----

aipu.program cores = 2, frequency = 800000000, batch = 2 {
  aipu.io kind = input, name = "x", at = l2[0x0], dtype = i8, shape = [1, 8], stored = [1, 1, 64], scale = 0.5, zp = 0
  aipu.io kind = input, name = "x", frame = 1, at = l2[0x40], dtype = i8, shape = [1, 8], stored = [1, 1, 64], scale = 0.25, zp = 0
  aipu.task_list core = 0 {
  }
  aipu.task_list core = 1 {
  }
}
// CHECK: 'aipu.program' op frame 1 must declare .input "x" (i8, shape [1, 8], stored [1, 1, 64], scale 0.5, zp 0) like frame 0, found no such declaration

// -----

aipu.program cores = 2, frequency = 800000000, batch = 2 {
  aipu.io kind = input, name = "x", at = l2[0x0], dtype = i8, shape = [1, 8], stored = [1, 1, 64], scale = 0.5, zp = 0
  aipu.io kind = input, name = "x", frame = 1, at = l2[0x20], dtype = i8, shape = [1, 8], stored = [1, 1, 64], scale = 0.5, zp = 0
  aipu.task_list core = 0 {
  }
  aipu.task_list core = 1 {
  }
}
// CHECK: 'aipu.program' op .input "x" of frame 1 at l2:0x20 overlaps .input "x" of frame 0 at l2:0x0: every frame needs buffers of its own

// -----

// Two cores write the same L2 bytes with no cross-core token ordering them.
aipu.program cores = 2, frequency = 800000000, batch = 2 {
  aipu.task_list core = 0 {
    aipu.dma from = l1[0x0], to = l2[0x100], sizes = [64], signal = 0
  }
  aipu.task_list core = 1 {
    aipu.dma from = l1[0x0], to = l2[0x120], sizes = [64], signal = 1
  }
}
// CHECK: 'aipu.program' op race between cores: 'dma' of core 0 writes l2:0x120..0x140 that core 1 also accesses, with no cross-core token ordering them: expected bytes of its own per core

// -----

aipu.program cores = 1, frequency = 800000000 {
  aipu.task_list core = 0 {
    aipu.dpu op = lut, in = l1[0x0], in_shape = [1, 1, 64], out = l1[0x100], out_shape = [1, 1, 64], channels = 8
  }
}
// CHECK: 'aipu.dpu' op op=lut needs operand 'table'

// -----

aipu.program cores = 1, frequency = 800000000 {
  aipu.task_list core = 0 {
    aipu.dpu op = clamp, in = l1[0x0], in_shape = [1, 1, 64], table = l1[0x200], out = l1[0x100], out_shape = [1, 1, 64], channels = 8
  }
}
// CHECK: 'aipu.dpu' op op=clamp takes no operand 'table'

// -----

aipu.program cores = 1, frequency = 800000000 {
  aipu.task_list core = 0 {
    aipu.dpu op = mul, a = l1[0x0], a_shape = [2, 2, 64], b = l1[0x200], b_shape = [2, 1, 64], out = l1[0x400], out_shape = [2, 2, 64], channels = 8
  }
}
// CHECK: 'aipu.dpu' op b_shape must be [2, 2, _] (the H x W of out_shape), got [2, 1, 64]
