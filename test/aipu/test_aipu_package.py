"""Package save / load: round trip, atomic writes, every damaged-package case, input validation."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from onnx import TensorProto, helper

from aipukit import Asm
from axc.runtime import package as pkgmod
from axc.runtime.errors import InputDataError, PackageError
from axc.runtime.executor import run
from axc.runtime.package import PackageContents, load_package, save_package


def _softmax() -> bytes:
    x = helper.make_tensor_value_info("in_0", TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info("out_0", TensorProto.FLOAT, [1, 4])
    g = helper.make_graph([helper.make_node("Softmax", ["in_0"], ["out_0"], axis=1)], "s", [x], [y])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString()


def contents() -> PackageContents:
    a = Asm()
    a.data("bias", "l2:0x400", np.arange(4, dtype=np.int8))
    a.io("input", "x", "l2:0x0", [1, 4], [1, 1, 64], 0.5, 0)
    a.io("output", "y", "l2:0x100", [1, 4], [1, 1, 64], 0.25, 0)
    a.io("output", "p", "l2:0x200", [1, 4], [1, 4], dtype="f32")
    a.core()
    a("dma from=l2:0x0 to=l1:0x0 sizes=[64] signal=0")
    a("dma from=l2:0x400 to=l1:0x100 sizes=[4] channel=1 signal=1")
    a("wait tokens=[0,1]")
    a("dpu op=add a=l1:0x0 a_shape=[1,1,64] b=l1:0x100 b_shape=[1,1,64] out=l1:0x200 out_shape=[1,1,64] "
      'channels=4 a_mult=1073741824 b_mult=1073741824 shift=29 signal=2 src="add"')
    a("wait tokens=[2]")
    a("dma from=l1:0x200 to=l2:0x100 sizes=[64] channel=1 signal=3")
    a("wait tokens=[3]")
    a("host segment=0 inputs=[{at=l2:0x100 dtype=i8 shape=[1,4] stored=[1,1,64] scale=0.25 zp=0}] "
      'outputs=[{at=l2:0x200 dtype=f32 shape=[1,4] stored=[1,4] scale=1.0 zp=0}] src="softmax"')
    return PackageContents(program=a.text, constants=bytes(a.constants), host_segments={0: _softmax()},
                           configuration={"frequency": 800000000, "aipu_cores_used": 1})


@pytest.fixture()
def pkg(tmp_path: Path) -> Path:
    return save_package(tmp_path / "m.pkg", contents())


def test_round_trip_and_run(pkg: Path):
    p = load_package(pkg)
    m = p.manifest
    assert m["format"] == "axc-package" and m["compiler_version"]
    assert m["configuration"] == {"frequency": 800000000, "aipu_cores_used": 1}
    assert [i["name"] for i in m["inputs"]] == ["x"]
    assert m["inputs"][0]["quantization"] == {"dtype": "int8", "scale": 0.5, "zero_point": 0}
    assert [(o["name"], o["quantization"]) for o in m["outputs"]][1] == ("p", None)
    assert sorted(m["files"]) == ["constants.bin", "host/segment_0.onnx", "program.aipu.s"]
    x = np.array([[1.0, -2.0, 3.5, 0.0], [0.5, 0.5, 0.5, 0.5]], np.float32)
    out = run(p, {"x": x})
    # y = (x/0.5 + bias) * 0.5 requantized to scale 0.25: ((2x + b) * 2^30 >> 29) * 0.25
    q = np.round(x / 0.5).astype(np.int64) + np.arange(4)
    np.testing.assert_array_equal(out["y"], np.clip(q * 2, -128, 127).astype(np.float32) * 0.25)
    e = np.exp(out["y"] - out["y"].max(axis=1, keepdims=True))
    np.testing.assert_allclose(out["p"], e / e.sum(axis=1, keepdims=True), rtol=1e-6)
    assert out["p"].dtype == np.float32 and out["p"].shape == (2, 4)
    assert run(pkg, {"x": x})["y"].tolist() == out["y"].tolist()  # a path works too
    report = p.cycle_report()
    assert report.total_cycles > 0 and [h.src for h in report.host_segments] == ["softmax"]


def test_input_validation(pkg: Path):
    p = load_package(pkg)
    with pytest.raises(InputDataError, match='missing input "x": expected an array of shape \\(N, 4\\)'):
        run(p, {"y": np.zeros((1, 4), np.float32)})
    with pytest.raises(InputDataError, match='input "x": expected shape \\(N, 4\\), got \\(1, 5\\)'):
        run(p, {"x": np.zeros((1, 5), np.float32)})
    with pytest.raises(InputDataError, match='input "x": expected dtype float32, got float64'):
        run(p, {"x": np.zeros((1, 4))})
    with pytest.raises(InputDataError, match='input "x": expected shape \\(N, 4\\), got \\(0, 4\\)'):
        run(p, {"x": np.zeros((0, 4), np.float32)})


def test_replace_existing_package(pkg: Path):
    c = contents()
    c.configuration = {"v": 2}
    save_package(pkg, c)
    assert load_package(pkg).configuration == {"v": 2}
    assert [q.name for q in pkg.parent.iterdir()] == ["m.pkg"]


def test_failure_mid_write_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    real = pkgmod._write
    calls = []

    def flaky(path: Path, data: bytes) -> None:
        calls.append(path.name)
        if len(calls) == 2:
            raise OSError("disk full")
        real(path, data)

    monkeypatch.setattr(pkgmod, "_write", flaky)
    with pytest.raises(OSError, match="disk full"):
        save_package(tmp_path / "new.pkg", contents())
    assert list(tmp_path.iterdir()) == []
    # an existing package is left untouched by a failed replacement
    monkeypatch.setattr(pkgmod, "_write", real)
    old = save_package(tmp_path / "old.pkg", contents())
    before = {f.name: f.read_bytes() for f in old.iterdir() if f.is_file()}
    calls.clear()
    monkeypatch.setattr(pkgmod, "_write", flaky)
    with pytest.raises(OSError):
        save_package(old, contents())
    assert [q.name for q in tmp_path.iterdir()] == ["old.pkg"]
    assert {f.name: f.read_bytes() for f in old.iterdir() if f.is_file()} == before


def test_refuses_to_write_invalid_contents(tmp_path: Path):
    c = contents()
    c.program = c.program.replace("channels=4", "channels=400")
    with pytest.raises(PackageError, match="refusing to write an invalid program: program.aipu.s: line 10: .dpu. \\(add\\) channels must be in \\[1, 64\\]"):
        save_package(tmp_path / "bad.pkg", c)
    c = contents()
    c.host_segments = {}
    with pytest.raises(PackageError, match="no ONNX model for host segment 0"):
        save_package(tmp_path / "bad.pkg", c)
    (tmp_path / "file").write_text("x")
    with pytest.raises(PackageError, match="exists and is not a package folder"):
        save_package(tmp_path / "file", contents())
    assert sorted(q.name for q in tmp_path.iterdir()) == ["file"]


# -- damaged packages ---------------------------------------------------------------------------


def _rehash(pkg: Path, name: str) -> None:
    """Update the manifest's hash of ``name`` (to reach the checks behind the hash check)."""
    m = json.loads((pkg / "manifest.json").read_text())
    data = (pkg / name).read_bytes()
    m["files"][name] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    (pkg / "manifest.json").write_text(json.dumps(m))


def _edit_manifest(pkg: Path, fn) -> None:
    m = json.loads((pkg / "manifest.json").read_text())
    fn(m)
    (pkg / "manifest.json").write_text(json.dumps(m))


def _damage(kind: str, pkg: Path) -> None:
    if kind == "no folder":
        for f in sorted(pkg.rglob("*"), reverse=True):
            f.unlink() if f.is_file() else f.rmdir()
        pkg.rmdir()
    elif kind == "no manifest":
        (pkg / "manifest.json").unlink()
    elif kind == "bad json":
        (pkg / "manifest.json").write_text('{"format": "axc-package",\n "inputs": [}')
    elif kind == "missing key":
        _edit_manifest(pkg, lambda m: m.pop("outputs"))
    elif kind == "missing io key":
        _edit_manifest(pkg, lambda m: m["inputs"][0].pop("shape"))
    elif kind == "wrong format":
        _edit_manifest(pkg, lambda m: m.update(format_version=99))
    elif kind == "missing constants":
        (pkg / "constants.bin").unlink()
    elif kind == "hash mismatch":
        data = bytearray((pkg / "constants.bin").read_bytes())
        data[-1] ^= 1
        (pkg / "constants.bin").write_bytes(bytes(data))
    elif kind == "size mismatch":
        with open(pkg / "program.aipu.s", "a") as f:
            f.write("; more\n")
    elif kind == "bad assembly":
        text = (pkg / "program.aipu.s").read_text().replace("sizes=[4] channel=1", "sizes=[4 channel=1")
        (pkg / "program.aipu.s").write_text(text)
        _rehash(pkg, "program.aipu.s")
    elif kind == "short constants":
        (pkg / "constants.bin").write_bytes(b"\0")
        _rehash(pkg, "constants.bin")
    elif kind == "missing host segment":
        (pkg / "host" / "segment_0.onnx").unlink()
    elif kind == "corrupt host segment":
        (pkg / "host" / "segment_0.onnx").write_bytes(b"\x08\x01garbage\xff\xff")
        _rehash(pkg, "host/segment_0.onnx")
    elif kind == "io mismatch":
        _edit_manifest(pkg, lambda m: m["inputs"][0]["quantization"].update(scale=0.3))
    elif kind == "path escape":
        _edit_manifest(pkg, lambda m: m["files"].update({"../x": {"sha256": "0", "bytes": 0}}))
    else:
        raise AssertionError(kind)


DAMAGES = {
    "no folder": r"m\.pkg: no such package folder",
    "no manifest": r"manifest\.json: missing file",
    "bad json": r"manifest\.json: invalid JSON at line 2",
    "missing key": r"manifest\.json: missing key 'outputs'",
    "missing io key": r"manifest\.json: inputs\[0\] is missing key 'shape'",
    "wrong format": r"manifest\.json: format_version 99 is not supported",
    "missing constants": r"constants\.bin: missing file",
    "hash mismatch": r"constants\.bin: hash mismatch",
    "size mismatch": r"program\.aipu\.s: size mismatch: manifest says \d+ bytes, found \d+",
    "bad assembly": r"program\.aipu\.s: line 8: syntax error at column 42: unexpected 'channel', expected ',' or '\]'",
    "short constants": r"constants\.bin: 1 bytes, the program's \.data needs 4",
    "missing host segment": r"host/segment_0\.onnx: missing file",
    "corrupt host segment": r"host/segment_0\.onnx: not a valid ONNX model",
    "io mismatch": r'manifest\.json: input "x" quantization \(scale 0\.3, zero point 0\) does not match the program',
    "path escape": r"manifest\.json: file name '\.\./x' must be a relative path inside the package",
}


@pytest.mark.parametrize("kind", list(DAMAGES))
def test_damaged_package(pkg: Path, kind: str):
    _damage(kind, pkg)
    with pytest.raises(PackageError, match=DAMAGES[kind]) as e:
        load_package(pkg)
    assert "\n" not in str(e.value)


def test_the_runtime_needs_neither_xdsl_nor_onnxruntime(pkg: Path):
    """Loading, running and profiling a package imports numpy, lark and onnx only."""
    import subprocess
    import sys

    code = (
        "import sys, numpy as np\n"
        "from axc.runtime.package import load_package\n"
        "from axc.runtime.executor import run\n"
        "from axc.runtime.cycle_model import estimate\n"
        f"p = load_package({str(pkg)!r})\n"
        "run(p, {'x': np.zeros((2, 4), np.float32)})\n"
        "estimate(p.program)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('xdsl', 'onnxruntime'))\n"
        "print(bad)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
