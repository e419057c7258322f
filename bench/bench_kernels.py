"""Benchmark the integer conv kernel against onnxruntime's float Conv on ResNet-50-like layers.

    python bench/bench_kernels.py [--threads N] [--runs 5]

Both sides get the same thread budget (OpenBLAS threads for numpy, intra-op threads for
onnxruntime; default 1, which is also the most stable on a shared machine). Reports the median of
``--runs`` timed runs after one warm-up, in milliseconds.
"""

from __future__ import annotations

import argparse
import os
import sys
import time


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args(argv)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    if "numpy" in sys.modules:
        print("warning: numpy already imported; BLAS thread count may not apply", file=sys.stderr)

    import numpy as np
    import onnxruntime as ort
    from onnx import TensorProto, helper

    from axc.runtime import float_kernels as fk
    from axc.runtime import int_kernels as ik

    def median_ms(fn):
        fn()
        ts = []
        for _ in range(args.runs):
            t = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t)
        return float(np.median(ts)) * 1e3

    def ort_conv(x, w, b, pads):
        graph = helper.make_graph(
            [helper.make_node("Conv", ["x", "w", "b"], ["y"], pads=pads)], "conv",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, x.shape)],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
            initializer=[helper.make_tensor("w", TensorProto.FLOAT, w.shape, w.ravel()),
                         helper.make_tensor("b", TensorProto.FLOAT, b.shape, b.ravel())])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        model.ir_version = 8
        so = ort.SessionOptions()
        so.intra_op_num_threads = args.threads
        so.inter_op_num_threads = 1
        sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
        return lambda: sess.run(None, {"x": x})

    rng = np.random.default_rng(0)
    layers = [("56x56x64 -> 64, 3x3, pad 1", 56, 64, 64), ("7x7x512 -> 512, 3x3, pad 1", 7, 512, 512)]
    print(f"threads={args.threads} runs={args.runs} (median ms)")
    print(f"{'layer':30s} {'int conv2d':>11s} {'int prepared':>13s} {'np float conv':>14s} "
          f"{'ort float':>10s} {'int/ort':>8s}")
    for name, hw, c, oc in layers:
        x = rng.integers(-128, 128, (hw, hw, c), dtype=np.int8)
        w = rng.integers(-127, 128, (oc, c, 3, 3), dtype=np.int8)
        bias = rng.integers(-1000, 1000, oc).astype(np.int32)
        cw = ik.prepare_conv2d_weights(w)
        t_int = median_ms(lambda: ik.conv2d(x, w, bias, -5, 1, (1, 1, 1, 1)))
        t_prep = median_ms(lambda: ik.conv2d(x, cw, bias, -5, 1, (1, 1, 1, 1)))
        xf = rng.standard_normal((1, c, hw, hw)).astype(np.float32)
        wf = (rng.standard_normal((oc, c, 3, 3)) * 0.05).astype(np.float32)
        bf = rng.standard_normal(oc).astype(np.float32)
        t_fk = median_ms(lambda: fk.conv(xf, wf, bf, pads=[1, 1, 1, 1]))
        t_ort = median_ms(ort_conv(xf, wf, bf, [1, 1, 1, 1]))
        print(f"{name:30s} {t_int:11.2f} {t_prep:13.2f} {t_fk:14.2f} {t_ort:10.2f} {t_int / t_ort:8.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
