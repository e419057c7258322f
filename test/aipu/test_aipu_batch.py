"""Batch-x end to end (aipu_cores_used = 4): x task lists that run x frames at once, bit-exact with
the quant interpreter frame by frame (also when the last execution is padded), the assembly round
trip, the package, the cycle model's concurrency and the runtime's input checks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest

from aipukit import DIGITS
from axc.config import CompilerConfig
from axc.dialects import aipu
from axc.lowering.aipu_asm import program_op
from axc.lowering.model_compiler import compile_model
from axc.lowering.model_utils import light_model_path, randomize_light_model
from axc.runtime.asm_parser import parse_asm
from axc.runtime.cycle_model import estimate
from axc.runtime.errors import InputDataError, PackageError
from axc.runtime.executor import run as run_package
from axc.runtime.hardware import AIPU_V1
from axc.runtime.interp_quant import run_quant_module
from axc.runtime.isa import format_program
from axc.runtime.multicore import batch_groups
from axc.runtime.package import MANIFEST, load_package


def _compile(model: Path, out: Path, cores: int, calibration: str | None = None):
    cfg = CompilerConfig(aipu_cores_used=cores, resources_used=1.0 if cores > 1 else 0.25)
    compiled = compile_model(model, out, cfg, calibration)
    return load_package(compiled.package), compiled


@pytest.fixture(scope="module")
def digits(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("batch")
    calib = str(DIGITS / "digits_calib.npz")
    one = _compile(DIGITS / "digits_cnn.onnx", tmp / "b1.pkg", 1, calib)
    four = _compile(DIGITS / "digits_cnn.onnx", tmp / "b4.pkg", 4, calib)
    return one, four


def _frame_by_frame(quant_module, name: str, frames: np.ndarray, out: str) -> np.ndarray:
    return np.concatenate([run_quant_module(quant_module, {name: frames[i:i + 1]})[out] for i in range(len(frames))])


@pytest.mark.parametrize("n", [4, 5])
def test_digits_batch4_bit_exact_frame_by_frame(digits, n: int):
    """4 frames = one execution; 5 frames = two, the second padded with copies of frame 4."""
    (pkg1, _), (pkg4, compiled4) = digits
    x = np.load(DIGITS / "digits_test.npz")["image"][:n].astype(np.float32)
    got = run_package(pkg4, {"image": x})["probabilities"]
    assert got.shape == (n, 10)
    np.testing.assert_array_equal(got, _frame_by_frame(compiled4.quant_module, "image", x, "probabilities"))
    np.testing.assert_array_equal(got, run_package(pkg1, {"image": x})["probabilities"])


def test_digits_batch4_program(digits):
    (pkg1, _), (pkg4, _) = digits
    p = pkg4.program
    assert (p.cores, p.batch, p.instances, p.mode) == (4, 4, 1, "Batch-4")
    assert (pkg1.program.cores, pkg1.program.batch, pkg1.program.mode) == (1, 1, "Batch-1")
    assert [d.frame for d in p.io if d.kind == "input"] == [0, 1, 2, 3]
    # core k = core 0 with per-core addresses moved, tokens of its own, the same constants
    lists = p.task_lists
    assert [len(lists[k]) for k in range(4)] == [len(lists[0])] * 4
    signals = [{i.signal for i in lists[k] if i.signal is not None} for k in range(4)]
    assert all(not (signals[a] & signals[b]) for a in range(4) for b in range(a + 1, 4))
    consts = {(d.at.space, d.at.address) for d in p.data}
    for k in range(1, 4):
        for a, b in zip(lists[0], lists[k], strict=True):
            assert a.op == b.op and a.src == b.src
            if a.op == "dma" and (a["from"].space, a["from"].address) in consts:
                assert a["from"] == b["from"]  # constants are read where they are, by every core
    assert pkg4.manifest["program"]["batch"] == 4 and pkg4.manifest["program"]["mode"] == "Batch-4"
    assert [s["name"] for s in pkg4.manifest["inputs"]] == ["image"]  # the model's I/O, once


def test_digits_batch4_assembly_round_trip(digits):
    (_, _), (pkg4, compiled4) = digits
    from_ir = aipu.program_of(program_op(compiled4.module))
    text = format_program(from_ir)
    assert text == pkg4.program_text
    again = parse_asm(text)
    assert again == from_ir and format_program(again) == text


def test_cycle_model_batch4_has_higher_fps(digits):
    (pkg1, _), (pkg4, _) = digits
    r1, r4 = pkg1.cycle_report(), pkg4.cycle_report()
    assert (r1.mode, r4.mode, r4.frames_per_execution, r4.cores) == ("Batch-1", "Batch-4", 4, 4)
    assert r4.fps > 3 * r1.fps  # four frames per execution, a little slower than one frame alone
    assert r4.total_cycles >= r1.total_cycles
    assert r4.to_dict()["mode"] == "Batch-4" and r4.format().startswith("mode Batch-4")
    assert {layer.name for layer in r4.layers} == {layer.name for layer in r1.layers}  # one frame's layers


def test_cycle_model_shared_ddr_slows_only_several_cores(digits):
    """One DDR transfer at a time: four cores queue for the DDR, one core's cycles do not depend on
    the shared-interface figures (a core never has more transfers in flight than the slots)."""
    (pkg1, _), (pkg4, _) = digits
    narrow = AIPU_V1.with_(ddr_bytes_per_cycle=AIPU_V1.dma_ddr_bytes_per_cycle)
    wide = AIPU_V1.with_(ddr_bytes_per_cycle=10**6, l2_bytes_per_cycle=10**6)
    assert estimate(pkg4.program, narrow).total_cycles > estimate(pkg4.program).total_cycles
    assert estimate(pkg1.program, wide).total_cycles == estimate(pkg1.program).total_cycles
    assert estimate(pkg4.program, wide).total_cycles <= estimate(pkg4.program).total_cycles


def test_run_quantized_needs_batch_frames(digits):
    (_, _), (pkg4, _) = digits
    ex = pkg4.executor()
    with pytest.raises(InputDataError, match=r'input "image": a 4-frame execution takes shape \(4, 1, 8, 8\)'):
        ex.run_quantized({"image": np.zeros((3, 1, 8, 8), np.int8)})
    out = ex.run_quantized({"image": np.zeros((4, 1, 8, 8), np.int8)})
    assert out["probabilities"].shape == (4, 10)
    with pytest.raises(InputDataError, match="no frames"):
        ex.run({"image": np.zeros((0, 1, 8, 8), np.float32)})


def test_manifest_batch_must_match_the_program(digits, tmp_path: Path):
    import json
    import shutil

    (_, _), (pkg4, _) = digits
    dest = tmp_path / "p.pkg"
    shutil.copytree(pkg4.path, dest)
    m = json.loads((dest / MANIFEST).read_text())
    m["program"]["batch"] = 2
    (dest / MANIFEST).write_text(json.dumps(m))
    with pytest.raises(PackageError, match="program batch 2 does not match the program's batch 4"):
        load_package(dest)


def test_batch_groups_pad_with_the_last_frame():
    assert batch_groups(4, 4) == [([0, 1, 2, 3], 4)]
    assert batch_groups(5, 4) == [([0, 1, 2, 3], 4), ([4, 4, 4, 4], 1)]
    assert batch_groups(3, 1) == [([0], 1), ([1], 1), ([2], 1)]
    with pytest.raises(ValueError, match="batch must be >= 1, got 0"):
        batch_groups(3, 0)


def test_light_model_batch4_bit_exact_frame_by_frame(tmp_path: Path):
    """SqueezeNet (concatenation, max pooling, a host Softmax): 5 frames on Batch-4."""
    path = tmp_path / "squeezenet.onnx"
    onnx.save(randomize_light_model(light_model_path("squeezenet"), seed=0), path)
    pkg, compiled = _compile(path, tmp_path / "sq.pkg", 4)
    assert pkg.program.batch == 4
    spec, out = pkg.manifest["inputs"][0], pkg.manifest["outputs"][0]["name"]
    frames = np.random.default_rng(7).random((5, *spec["shape"][1:]), dtype=np.float32)
    got = run_package(pkg, {spec["name"]: frames})[out]
    np.testing.assert_array_equal(got, _frame_by_frame(compiled.quant_module, spec["name"], frames, out))
