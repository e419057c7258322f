"""The README's main job: compile the digits CNN for the AIPU, run it on the held-out digits.

Steps (each through the user-facing command-line tools):
  1. ``ax-compile digits_cnn.onnx -o <out>/digits.pkg --calibration-data digits_calib.npz``
  2. ``ax-run <out>/digits.pkg --inputs digits_test.npz --outputs <out>/digits_out.npz --profile``
  3. float accuracy from onnxruntime on the original model, int8 accuracy from the AIPU outputs,
     and the estimated frames per second from the runtime's cycle model.

Usage: ``python models/digits/main_job.py [--out-dir out]``; exits non-zero if a step fails.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent


def _run(cmd: list[str]) -> None:
    print("$ " + " ".join(cmd), flush=True)
    proc = subprocess.run(cmd)
    if proc.returncode != 0:
        sys.exit(f"main_job: step failed with status {proc.returncode}: {' '.join(cmd)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out-dir", default="out", help="where the package and outputs go (default out/)")
    args = parser.parse_args()
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model, calib, test = HERE / "digits_cnn.onnx", HERE / "digits_calib.npz", HERE / "digits_test.npz"
    pkg, outputs, profile = out / "digits.pkg", out / "digits_out.npz", out / "digits_profile.json"

    t0 = time.perf_counter()
    _run([str(BIN / "ax-compile"), str(model), "-o", str(pkg), "--calibration-data", str(calib)])
    t_compile = time.perf_counter() - t0
    data = np.load(test)
    inputs = out / "digits_inputs.npz"
    np.savez(inputs, image=data["image"])
    t0 = time.perf_counter()
    _run([str(BIN / "ax-run"), str(pkg), "--inputs", str(inputs), "--outputs", str(outputs),
          "--profile", "--profile-json", str(profile)])
    t_run = time.perf_counter() - t0

    import onnxruntime as ort

    sess = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    labels = data["label"]
    float_pred = np.array([np.argmax(sess.run(None, {"image": x[None]})[0]) for x in data["image"]])
    int8_pred = np.argmax(np.load(outputs)["probabilities"], axis=1)
    prof = json.loads(profile.read_text())
    float_acc = float(np.mean(float_pred == labels))
    int8_acc = float(np.mean(int8_pred == labels))
    print()
    print(f"held-out digits:        {len(labels)} images")
    print(f"float accuracy (ORT):   {100 * float_acc:.2f} %")
    print(f"int8 accuracy (AIPU):   {100 * int8_acc:.2f} %   (loss {100 * (float_acc - int8_acc):+.2f} points)")
    print(f"top-1 agreement:        {100 * float(np.mean(float_pred == int8_pred)):.2f} %")
    print(f"estimated AIPU cycles:  {prof['cycles_per_frame']:,} per frame")
    print(f"estimated AIPU fps:     {prof['fps']:,.0f} at {prof['frequency_hz'] / 1e6:.0f} MHz")
    print(f"compile {t_compile:.1f} s, run {t_run:.1f} s for {len(labels)} frames on the host simulator")
    return 0


if __name__ == "__main__":
    sys.exit(main())
