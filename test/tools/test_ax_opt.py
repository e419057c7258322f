"""ax-opt: MLIR-style --pass-pipeline, one-line errors, and the xdsl.universe entry point."""

import subprocess
import sys
from pathlib import Path

import pytest

from axc.tools.ax_opt import PipelineSyntaxError, pipeline_to_passes, translate_args

BIN = Path(sys.executable).parent


def test_pipeline_translation() -> None:
    assert pipeline_to_passes("builtin.module(a,b{x=1 y=2})") == "a,b{x=1 y=2}"
    assert translate_args(["f.mlir", "--pass-pipeline=builtin.module(a)"]) == ["f.mlir", "-p", "a"]
    assert translate_args(["--pass-pipeline", "builtin.module(a,b)"]) == ["-p", "a,b"]


@pytest.mark.parametrize("bad", ["func.func(a)", "builtin.module(a", "a,b"])
def test_bad_pipeline_is_rejected(bad: str) -> None:
    with pytest.raises(PipelineSyntaxError):
        pipeline_to_passes(bad)


def test_multiverse_loads_without_clashes() -> None:
    """Our universe merges with xDSL's and every other installed one (a clash breaks xdsl-opt)."""
    from xdsl.universe import Universe

    multi = Universe.get_multiverse()
    for name in ("onnx", "quant", "tile", "aipu"):
        assert name in multi.all_dialects
    assert "convert-onnx-to-quant" in multi.all_passes
    assert multi.all_dialects["onnx"]().name == "onnx"
    assert multi.all_dialects["quant"]().name == "quant"


def test_xdsl_opt_sees_our_dialects(tmp_path: Path) -> None:
    src = tmp_path / "a.mlir"
    src.write_text(
        "func.func @f(%x: tensor<2xf32>) -> tensor<2xf32> {\n"
        "  %y = onnx.Relu %x : (tensor<2xf32>) -> tensor<2xf32>\n"
        "  func.return %y : tensor<2xf32>\n}\n"
    )
    out = subprocess.run([str(BIN / "xdsl-opt"), str(src)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "onnx.Relu" in out.stdout


def test_ax_opt_errors_are_one_line(tmp_path: Path) -> None:
    src = tmp_path / "bad.mlir"
    src.write_text("func.func @f() {\n  %y = onnx.Nope : () -> tensor<2xf32>\n}\n")
    out = subprocess.run([str(BIN / "ax-opt"), str(src)], capture_output=True, text=True)
    assert out.returncode == 1
    assert out.stderr.startswith("ax-opt: error:")
    assert "Traceback" not in out.stderr
    out = subprocess.run(
        [str(BIN / "ax-opt"), str(src), "--pass-pipeline=func.func(x)"], capture_output=True, text=True
    )
    assert out.returncode == 1 and "builtin.module" in out.stderr and "Traceback" not in out.stderr
