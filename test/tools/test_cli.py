"""ax-compile / ax-run end to end through their command lines: good input and every bad input.

Contract: exit status 0 on success; on bad input status 1 with one line ``<tool>: error: ...`` on
stderr, no traceback, and no output left behind.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]
DIGITS = ROOT / "models" / "digits"


def tool(name: str, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / name), *map(str, args)], capture_output=True, text=True)


def assert_one_line_error(proc: subprocess.CompletedProcess[str], tool_name: str, *needles: str) -> None:
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith(f"{tool_name}: error:")]
    assert len(errors) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    for n in needles:
        assert n in errors[0], errors[0]


@pytest.fixture(scope="module")
def digits_pkg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pkg = tmp_path_factory.mktemp("pkg") / "digits.pkg"
    proc = tool("ax-compile", DIGITS / "digits_cnn.onnx", "-o", pkg, "--calibration-data", DIGITS / "digits_calib.npz")
    assert proc.returncode == 0, proc.stderr
    return pkg


def test_compile_and_run_digits(digits_pkg: Path, tmp_path: Path) -> None:
    data = np.load(DIGITS / "digits_test.npz")
    inputs = tmp_path / "in.npz"
    np.savez(inputs, image=data["image"][:40])
    out = tmp_path / "out.npz"
    proc = tool("ax-run", digits_pkg, "--inputs", inputs, "--outputs", out, "--profile", "--profile-json", tmp_path / "p.json")
    assert proc.returncode == 0, proc.stderr
    assert "cycles/frame" in proc.stdout and "MVM utilisation" in proc.stdout and "conv1" in proc.stdout
    probs = np.load(out)["probabilities"]
    assert probs.shape == (40, 10) and probs.dtype == np.float32
    accuracy = float(np.mean(np.argmax(probs, axis=1) == data["label"][:40]))
    assert accuracy >= 0.95
    prof = json.loads((tmp_path / "p.json").read_text())
    assert prof["cycles_per_frame"] > 0 and prof["fps"] > 0


def test_random_calibration_is_announced(tmp_path: Path) -> None:
    proc = tool("ax-compile", DIGITS / "digits_cnn.onnx", "-o", tmp_path / "p.pkg")
    assert proc.returncode == 0, proc.stderr
    assert "seeded random frames" in proc.stderr


@pytest.mark.parametrize("cores", [1, 4])
def test_print_pipeline_reproduces_emit_aipu(tmp_path: Path, cores: int) -> None:
    """ax-opt with the printed pipeline on --emit onnx IR gives exactly --emit aipu (Batch-1, Batch-4)."""
    model, calib = DIGITS / "digits_cnn.onnx", DIGITS / "digits_calib.npz"
    mode = ("--set", f"aipu_cores_used={cores}")
    pipeline = tool("ax-compile", model, "--print-pipeline", "--calibration-data", calib, *mode).stdout.strip()
    assert pipeline.startswith("builtin.module(") and "convert-tile-to-aipu" in pipeline
    assert f"max-memplan-attempts=5 cores={cores}}}" in pipeline and f"convert-tile-to-aipu{{cores={cores} " in pipeline
    assert tool("ax-compile", model, "--emit", "onnx", "-o", tmp_path / "m.onnx.mlir").returncode == 0
    emitted = tool("ax-compile", model, "--emit", "aipu", "-o", tmp_path / "m.aipu.mlir", "--calibration-data", calib, *mode)
    assert emitted.returncode == 0, emitted.stderr
    by_hand = tool("ax-opt", tmp_path / "m.onnx.mlir", f"--pass-pipeline={pipeline}")
    assert by_hand.returncode == 0, by_hand.stderr
    assert by_hand.stdout.strip() == (tmp_path / "m.aipu.mlir").read_text().strip()
    assert f"aipu.program cores = {cores}," in by_hand.stdout


def test_batch4_package_runs_and_profiles(tmp_path: Path) -> None:
    pkg = tmp_path / "b4.pkg"
    proc = tool("ax-compile", DIGITS / "digits_cnn.onnx", "-o", pkg, "--calibration-data", DIGITS / "digits_calib.npz",
                "--set", "aipu_cores_used=4")
    assert proc.returncode == 0, proc.stderr
    assert json.loads((pkg / "manifest.json").read_text())["program"]["mode"] == "Batch-4"
    data = np.load(DIGITS / "digits_test.npz")
    np.savez(tmp_path / "in.npz", image=data["image"][:7])
    run = tool("ax-run", pkg, "--inputs", tmp_path / "in.npz", "--outputs", tmp_path / "out.npz", "--profile")
    assert run.returncode == 0, run.stderr
    assert "mode Batch-4 (4 frames per execution on 4 cores)" in run.stdout
    assert np.load(tmp_path / "out.npz")["probabilities"].shape == (7, 10)


def test_batch4_activations_that_do_not_fit_four_times(tmp_path: Path) -> None:
    """Digits fits Batch-1 in a quarter of the memory capped to 4 KiB of L2 and 64 KiB of DDR: its
    activations stay in L2 and 46,656 bytes of DDR hold constants and I/O. Four cores' copies of the
    activations overflow L2 into DDR, where 42,496 bytes of constants + 4 x 8,256 do not fit."""
    caps = ("--set", "resources_used=0.25", "--set", "l2_constraint=4096", "--set", "ddr_constraint=65536",
            "--calibration-frames", "1")
    one = tool("ax-compile", DIGITS / "digits_cnn.onnx", "-o", tmp_path / "b1.pkg", *caps)
    assert one.returncode == 0, one.stderr
    four = tool("ax-compile", DIGITS / "digits_cnn.onnx", "-o", tmp_path / "b4.pkg", *caps, "--set", "aipu_cores_used=4")
    assert_one_line_error(four, "ax-compile", "tile-plan-memory", "ddr", "4 cores", "65536 bytes available")
    assert not (tmp_path / "b4.pkg").exists()


def test_cores_out_of_range_is_a_config_error(tmp_path: Path) -> None:
    proc = tool("ax-compile", DIGITS / "digits_cnn.onnx", "--print-pipeline", "--set", "aipu_cores_used=5")
    assert_one_line_error(proc, "ax-compile", "aipu_cores_used", "5")


@pytest.mark.parametrize("level,marker", [("onnx", "onnx.Conv"), ("quant", "quant.conv2d"), ("tile", "tile.dma"), ("aipu", "aipu.mvm")])
def test_emit_levels(tmp_path: Path, level: str, marker: str) -> None:
    out = tmp_path / f"m.{level}.mlir"
    proc = tool("ax-compile", DIGITS / "digits_cnn.onnx", "--emit", level, "-o", out, "--calibration-frames", "2")
    assert proc.returncode == 0, proc.stderr
    assert marker in out.read_text()


def test_config_reaches_the_pipeline() -> None:
    proc = tool("ax-compile", DIGITS / "digits_cnn.onnx", "--print-pipeline", "--set", "resources_used=0.25",
                "--set", "apply_pword_padding=false", "--set", "quantization_scheme=\"per_tensor_min_max\"")
    assert proc.returncode == 0, proc.stderr
    assert "pword=1" in proc.stdout and 'scheme="per_tensor_min_max"' in proc.stdout
    assert "l2-bytes=7028736" in proc.stdout  # (32 MiB - 1,245,184 - 4 x 1 MiB) x 0.25


# ---- bad input -------------------------------------------------------------------------------

def test_missing_model(tmp_path: Path) -> None:
    proc = tool("ax-compile", tmp_path / "nope.onnx", "-o", tmp_path / "p.pkg")
    assert_one_line_error(proc, "ax-compile", "nope.onnx")
    assert not (tmp_path / "p.pkg").exists()


def test_not_onnx(tmp_path: Path) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_text("this is not a model")
    proc = tool("ax-compile", bad, "-o", tmp_path / "p.pkg")
    assert_one_line_error(proc, "ax-compile", "bad.onnx")
    assert not (tmp_path / "p.pkg").exists()


def test_truncated_model(tmp_path: Path) -> None:
    data = (DIGITS / "digits_cnn.onnx").read_bytes()
    bad = tmp_path / "trunc.onnx"
    bad.write_bytes(data[: len(data) // 2])
    proc = tool("ax-compile", bad, "-o", tmp_path / "p.pkg")
    assert_one_line_error(proc, "ax-compile", "trunc.onnx")
    assert not (tmp_path / "p.pkg").exists()


def _symbolic_model(path: Path) -> None:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 8, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3, 8, 8])
    g = helper.make_graph([helper.make_node("Relu", ["x"], ["y"], name="r")], "g", [x], [y])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), path)


def test_symbolic_dimension_needs_input_shape(tmp_path: Path) -> None:
    m = tmp_path / "sym.onnx"
    _symbolic_model(m)
    proc = tool("ax-compile", m, "-o", tmp_path / "p.pkg")
    assert_one_line_error(proc, "ax-compile", "--input-shape", "x")
    assert not (tmp_path / "p.pkg").exists()
    ok = tool("ax-compile", m, "--input-shape", "x=1x3x8x8", "--emit", "onnx", "-o", tmp_path / "s.mlir")
    assert ok.returncode == 0, ok.stderr
    assert "tensor<1x3x8x8xf32>" in (tmp_path / "s.mlir").read_text()


def test_unsupported_ops_listed_together(tmp_path: Path) -> None:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 8, 8])
    nodes = [helper.make_node("Sig", ["x"], ["a"], name="s1", domain="com.example"),
             helper.make_node("Tan", ["a"], ["b"], name="t1", domain="com.example"),
             helper.make_node("Sig", ["b"], ["y"], name="s2", domain="com.example")]
    m = tmp_path / "unsup.onnx"
    onnx.save(helper.make_model(helper.make_graph(nodes, "g", [x], [y]), opset_imports=[
        helper.make_opsetid("", 17), helper.make_opsetid("com.example", 1)]), m)
    proc = tool("ax-compile", m, "-o", tmp_path / "p.pkg")
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.splitlines()[-3:] == [
        "ax-compile: error: unsupported ONNX ops:",
        "  com.example.Sig: 2 nodes (s1, s2)",
        "  com.example.Tan: 1 node (t1)",
    ]
    assert not (tmp_path / "p.pkg").exists()


def test_bad_config_writes_nothing(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("resources_used = 0.3\n")
    proc = tool("ax-compile", DIGITS / "digits_cnn.onnx", "-o", tmp_path / "p.pkg", "--config", cfg)
    assert_one_line_error(proc, "ax-compile", "resources_used")
    assert not (tmp_path / "p.pkg").exists()


def test_model_that_does_not_fit_leaves_no_package(tmp_path: Path) -> None:
    proc = tool("ax-compile", DIGITS / "digits_cnn.onnx", "-o", tmp_path / "p.pkg", "--set", "l1_constraint=2048",
                "--calibration-frames", "1")
    assert_one_line_error(proc, "ax-compile", "bytes")
    assert not (tmp_path / "p.pkg").exists()
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize(
    "arrays,needles",
    [
        ({"wrong": np.zeros((1, 1, 8, 8), np.float32)}, ["image"]),
        ({"image": np.zeros((1, 1, 9, 8), np.float32)}, ["image", "shape"]),
        ({"image": np.zeros((1, 1, 8, 8), np.int32)}, ["image", "dtype"]),
    ],
)
def test_bad_inputs(digits_pkg: Path, tmp_path: Path, arrays: dict, needles: list[str]) -> None:
    inputs = tmp_path / "in.npz"
    np.savez(inputs, **arrays)
    out = tmp_path / "out.npz"
    proc = tool("ax-run", digits_pkg, "--inputs", inputs, "--outputs", out)
    assert_one_line_error(proc, "ax-run", *needles)
    assert not out.exists()


def test_inputs_not_npz(digits_pkg: Path, tmp_path: Path) -> None:
    bad = tmp_path / "in.npz"
    bad.write_text("garbage")
    proc = tool("ax-run", digits_pkg, "--inputs", bad, "--outputs", tmp_path / "o.npz")
    assert_one_line_error(proc, "ax-run", "in.npz")


@pytest.mark.parametrize("damage", ["missing_manifest", "corrupt_asm", "truncated_constants", "missing_pkg"])
def test_damaged_package(digits_pkg: Path, tmp_path: Path, damage: str) -> None:
    pkg = tmp_path / "d.pkg"
    shutil.copytree(digits_pkg, pkg)
    if damage == "missing_manifest":
        (pkg / "manifest.json").unlink()
    elif damage == "corrupt_asm":
        asm = next(pkg.glob("*.s"))
        asm.write_text(asm.read_text().replace("mvm", "mvx", 1))
    elif damage == "truncated_constants":
        const = next(pkg.glob("*.bin"))
        const.write_bytes(const.read_bytes()[:10])
    else:
        shutil.rmtree(pkg)
    inputs = tmp_path / "in.npz"
    np.savez(inputs, image=np.zeros((1, 1, 8, 8), np.float32))
    proc = tool("ax-run", pkg, "--inputs", inputs, "--outputs", tmp_path / "o.npz")
    assert_one_line_error(proc, "ax-run")
    assert not (tmp_path / "o.npz").exists()


def test_compile_names_what_it_accepts_but_does_not_act_on(tmp_path: Path) -> None:
    """A property axc does not implement and a value it does not implement are named on stderr; the
    L1 pool is homed in L2 (the printed pipeline says so) and the compile still succeeds."""
    args = ("--set", "tiling_depth=2", "--set", "constant_memory_pool=global.l1",
            "--calibration-data", DIGITS / "digits_calib.npz")
    proc = tool("ax-compile", DIGITS / "digits_cnn.onnx", "--emit", "quant", "-o", tmp_path / "q.mlir", *args)
    assert proc.returncode == 0, proc.stderr
    note = next(line for line in proc.stderr.splitlines() if "not acted on" in line)
    assert "tiling_depth" in note and "constant_memory_pool = global.l1" in note
    pipeline = tool("ax-compile", DIGITS / "digits_cnn.onnx", "--print-pipeline", *args).stdout
    assert 'constant-pool="l2"' in pipeline
