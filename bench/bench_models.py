"""Benchmark: every light-zoo model (seeded random weights) and the digits CNN, end to end.

Per model, measured in one run on this machine:
  compile s        import + graph passes + calibration (8 random frames) + quant + tile + aipu + package
  run ms/frame     the AIPU simulator (runtime/executor.py), median over --frames frames, after one
                   untimed warm-up frame (which decodes the program and prepares the weights)
  ort ms/frame     onnxruntime float on the original model, median over the same frames, after one
                   untimed warm-up frame; each side runs all its frames in its own loop
  ratio            run / ort
  SQNR dB          AIPU output vs onnxruntime float output, 10 log10(|ref|^2 / |ref - out|^2)
  bit-exact        quant interpreter output == AIPU output, every frame, warm-up included (yes / no)
  cycles, fps      cycle-model estimate per frame, frames per second at 800 MHz (1 core)
  MVM util         useful MACs / (MVM busy cycles x 32,768)

Usage: ``python bench/bench_models.py [--models resnet50,squeezenet] [--frames 3]``. The light models'
weights are all 0.02 in the zoo; ``randomize_light_model`` replaces them with seeded random weights
(inputs uniform [0, 1), the distribution calibration also uses).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort

from axc.config import CompilerConfig
from axc.lowering.model_compiler import compile_model
from axc.lowering.model_utils import light_model_path, randomize_light_model
from axc.runtime.executor import run as run_package
from axc.runtime.interp_quant import run_quant_module
from axc.runtime.package import load_package

LIGHT = ["bvlc_alexnet", "densenet121", "inception_v1", "inception_v2", "resnet50", "shufflenet",
         "squeezenet", "vgg19", "zfnet512"]
DIGITS = Path(__file__).resolve().parents[1] / "models" / "digits" / "digits_cnn.onnx"


def sqnr_db(ref: np.ndarray, out: np.ndarray) -> float:
    """Signal-to-quantization-noise ratio of ``out`` against ``ref`` in dB."""
    noise = float(np.sum((ref.astype(np.float64) - out) ** 2))
    return float("inf") if noise == 0 else 10 * np.log10(float(np.sum(ref.astype(np.float64) ** 2)) / noise)


def bench_model(name: str, model: onnx.ModelProto, frames: int, calib: str | None, workdir: Path) -> dict:
    """Compile ``model``, run it, and measure the columns of the table (see the module docstring)."""
    path = workdir / f"{name}.onnx"
    onnx.save(model, path)
    t0 = time.perf_counter()
    compiled = compile_model(path, workdir / f"{name}.pkg", CompilerConfig(), calib)
    t_compile = time.perf_counter() - t0
    quant_module = compiled.quant_module

    pkg = load_package(compiled.package)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    inp = sess.get_inputs()[0]
    out_name = sess.get_outputs()[0].name
    shape = [d if isinstance(d, int) else 1 for d in inp.shape]
    rng = np.random.default_rng(123)
    xs = [rng.random(shape, dtype=np.float32) for _ in range(frames + 1)]  # xs[0]: untimed warm-up
    # each side timed in its own loop, so neither pays for the other's idle threads (OpenBLAS and
    # onnxruntime both spin their pools for a while after a call)
    t_ort, refs = [], []
    for i, x in enumerate(xs):
        t0 = time.perf_counter()
        refs.append(sess.run(None, {inp.name: x})[0])
        if i:
            t_ort.append(time.perf_counter() - t0)
    t_run, outs = [], []
    for i, x in enumerate(xs):
        t0 = time.perf_counter()
        outs.append(run_package(pkg, {inp.name: x})[out_name])
        if i:
            t_run.append(time.perf_counter() - t0)
    exact = all(np.array_equal(run_quant_module(quant_module, {inp.name: x})[out_name], out)
                for x, out in zip(xs, outs, strict=True))
    sqnrs = [sqnr_db(ref, out) for ref, out in zip(refs[1:], outs[1:], strict=True)]
    rep = pkg.cycle_report()
    return {
        "model": name,
        "compile_s": t_compile,
        "run_s": float(np.median(t_run)),
        "ort_s": float(np.median(t_ort)),
        "sqnr_db": float(np.median(sqnrs)),
        "bit_exact": exact,
        "cycles": rep.to_dict().get("cycles_per_frame"),
        "fps": rep.fps,
        "mvm_util": rep.mvm_utilisation,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default=",".join(LIGHT + ["digits"]))
    parser.add_argument("--frames", type=int, default=3)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.models.split(","):
            if name == "digits":
                model, calib = onnx.load(DIGITS), str(DIGITS.parent / "digits_calib.npz")
            else:
                model, calib = randomize_light_model(light_model_path(name), seed=0), None
            r = bench_model(name, model, args.frames, calib, Path(tmp))
            rows.append(r)
            print(f"{name}: done in {r['compile_s']:.1f} s compile", flush=True)
    print()
    print("| model | compile s | run ms/frame | ort ms/frame | run/ort | SQNR dB | quant==aipu | cycles/frame | fps @800MHz | MVM util |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['model']} | {r['compile_s']:.1f} | {1e3 * r['run_s']:.3g} | {1e3 * r['ort_s']:.3g} | {r['run_s'] / r['ort_s']:.1f}x "
              f"| {r['sqnr_db']:.1f} | {'yes' if r['bit_exact'] else 'NO'} | {r['cycles']:,} | {r['fps']:,.0f} | {100 * r['mvm_util']:.1f}% |")


if __name__ == "__main__":
    main()
