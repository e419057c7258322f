"""The compiled package: a folder the runtime loads without the compiler.

Layout::

    PKG/
      manifest.json        format, compiler version, inputs / outputs (ONNX names, shapes, dtypes,
                           quantization), the configuration used, the program header (cores,
                           instances, batch, mode "Batch-1" / "Batch-x", frequency), sha256 + size
                           of every file
      program.aipu.s       the AIPU program (assembly text, runtime/asm.lark)
      constants.bin        every .data blob, addressed by offset from the assembly
      host/segment_N.onnx  host segments (ONNX models run on the CPU with the float kernels)

:func:`save_package` writes into a temporary sibling folder and renames it into place (an existing
package at the path is replaced only once the new one is complete; nothing is left behind on
failure). :func:`load_package` validates everything and raises :class:`PackageError` with a
one-line message naming the file and the problem.

Pure Python + numpy + lark (+ onnx for host segments); no xdsl.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from .errors import PackageError
from .isa import AsmError, IODecl, Program, is_logical, numpy_dtype_of

__all__ = [
    "PackageContents", "Package", "save_package", "load_package", "io_specs", "compiler_version",
    "FORMAT", "FORMAT_VERSION", "MANIFEST", "PROGRAM_FILE", "CONSTANTS_FILE",
]

FORMAT = "axc-package"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
PROGRAM_FILE = "program.aipu.s"
CONSTANTS_FILE = "constants.bin"
HOST_DIR = "host"
_REQUIRED = ("format", "format_version", "compiler_version", "inputs", "outputs", "configuration",
             "program", "constants", "host_segments", "files")
_IO_KEYS = ("name", "shape", "dtype", "quantization")


def compiler_version() -> str:
    """The installed axc version (``0+unknown`` when not installed)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("axc")
    except PackageNotFoundError:
        return "0+unknown"


def host_file(segment: int) -> str:
    return f"{HOST_DIR}/segment_{segment}.onnx"


def io_specs(program: Program) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Manifest entries for the program's ``.input`` / ``.output`` declarations: one per ONNX name
    (a name may have an int8 and an f32 buffer; the quantization is the int8 one's, or null)."""
    def specs(decls: list[IODecl]) -> list[dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for d in decls:
            dtype = str(numpy_dtype_of(d.dtype)) if is_logical(d.dtype) else "float32"
            spec = out.setdefault(d.name, {"name": d.name, "shape": list(d.shape), "dtype": dtype,
                                           "quantization": None})
            if d.dtype == "i8":
                spec["quantization"] = {"dtype": "int8", "scale": d.scale, "zero_point": d.zp}
        return list(out.values())

    return specs(program.inputs), specs(program.outputs)


@dataclass
class PackageContents:
    """Everything a package holds, before it is written.

    ``inputs`` / ``outputs`` default to :func:`io_specs` of the program; ``configuration`` is the
    compiler configuration used (any JSON-serializable dict).
    """

    program: str
    constants: bytes
    host_segments: dict[int, bytes] = field(default_factory=dict)
    configuration: dict[str, Any] = field(default_factory=dict)
    inputs: list[dict[str, Any]] | None = None
    outputs: list[dict[str, Any]] | None = None
    compiler_version: str = field(default_factory=compiler_version)
    source: dict[str, Any] | None = None  # the compiled model: {"file": ..., "sha256": ...}
    placement: dict[str, Any] | None = None  # which ops run where (lowering/onnx_place.py summary)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _write(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def save_package(path: str | os.PathLike[str], contents: PackageContents) -> Path:
    """Write a package folder at ``path`` atomically and return its path.

    The program is parsed and checked first (a package that would not load is never written). The
    files go to a temporary sibling folder which is renamed to ``path``; an existing package at
    ``path`` is replaced. On any failure the temporary folder is removed and a previous package is
    left untouched. Raises :class:`PackageError` (invalid contents, ``path`` is a file or a folder
    that is not a package) or ``OSError``.
    """
    from .asm_parser import parse_asm

    dest = Path(path)
    try:
        program = parse_asm(contents.program)
    except AsmError as e:
        raise PackageError(f"{dest}: refusing to write an invalid program: {PROGRAM_FILE}: {e}") from None
    if len(contents.constants) < program.constants_size:
        raise PackageError(f"{dest}: refusing to write: {CONSTANTS_FILE} has {len(contents.constants)} bytes, "
                           f"the program's .data needs {program.constants_size}")
    used = _host_segments_used(program)
    missing = sorted(used - set(contents.host_segments))
    if missing:
        raise PackageError(f"{dest}: refusing to write: no ONNX model for host segment {missing[0]}")
    if dest.exists() and (not dest.is_dir() or (any(dest.iterdir()) and not (dest / MANIFEST).is_file())):
        raise PackageError(f"{dest}: exists and is not a package folder; not replacing it")
    inputs, outputs = io_specs(program)
    try:
        configuration = json.loads(json.dumps(contents.configuration))
    except (TypeError, ValueError) as e:
        raise PackageError(f"{dest}: the configuration is not JSON-serializable: {e}") from None

    files: dict[str, bytes] = {PROGRAM_FILE: contents.program.encode(), CONSTANTS_FILE: bytes(contents.constants)}
    for seg in sorted(contents.host_segments):
        files[host_file(seg)] = bytes(contents.host_segments[seg])
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "compiler": "axc",
        "compiler_version": contents.compiler_version,
        "inputs": contents.inputs if contents.inputs is not None else inputs,
        "outputs": contents.outputs if contents.outputs is not None else outputs,
        "configuration": configuration,
        "source_model": contents.source,
        "placement": contents.placement,
        "program": {"file": PROGRAM_FILE, "cores": program.cores, "instances": program.instances,
                    "batch": program.batch, "mode": program.mode, "frequency": program.frequency},
        "constants": CONSTANTS_FILE,
        "host_segments": [host_file(s) for s in sorted(contents.host_segments)],
        "files": {name: {"sha256": _sha256(data), "bytes": len(data)} for name, data in files.items()},
    }

    dest.parent.mkdir(parents=True, exist_ok=True)
    tag = uuid.uuid4().hex[:8]
    tmp = dest.parent / f".{dest.name}.tmp-{tag}"
    old = dest.parent / f".{dest.name}.old-{tag}"
    try:
        tmp.mkdir()
        for name, data in files.items():
            p = tmp / name
            p.parent.mkdir(parents=True, exist_ok=True)
            _write(p, data)
        _write(tmp / MANIFEST, (json.dumps(manifest, indent=2, sort_keys=False) + "\n").encode())
        if dest.exists():
            os.replace(dest, old)
        try:
            os.replace(tmp, dest)
        except BaseException:
            if old.exists() and not dest.exists():
                os.replace(old, dest)
            raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(old, ignore_errors=True)
    return dest


def _host_segments_used(program: Program) -> set[int]:
    return {ins["segment"] for _, ins in program.instructions() if ins.op == "host"}


class Package:
    """A loaded, validated package (see :func:`load_package`).

    Attributes: ``path``, ``manifest`` (dict), ``program_text``, ``program`` (:class:`Program`),
    ``constants`` (bytes), ``host_segments`` (segment -> ONNX bytes). :meth:`executor` builds (once)
    the :class:`~axc.runtime.executor.Executor`; :meth:`cycle_report` runs the cycle model.
    """

    def __init__(self, path: Path, manifest: dict[str, Any], program_text: str, program: Program,
                 constants: bytes, host_segments: dict[int, bytes], segments: dict[int, Any]):
        self.path = path
        self.manifest = manifest
        self.program_text = program_text
        self.program = program
        self.constants = constants
        self.host_segments = host_segments
        self._segments = segments
        self._executor = None

    @property
    def inputs(self) -> list[dict[str, Any]]:
        return self.manifest["inputs"]

    @property
    def outputs(self) -> list[dict[str, Any]]:
        return self.manifest["outputs"]

    @property
    def placement(self) -> dict[str, Any] | None:
        """Which ops run on the AIPU and which on the host (op counts, MACs, host op types), as
        recorded by the compiler; None for packages written before placement was recorded."""
        return self.manifest.get("placement")

    @property
    def configuration(self) -> dict[str, Any]:
        return self.manifest["configuration"]

    def executor(self):
        from .executor import Executor

        if self._executor is None:
            self._executor = Executor(self.program, self.constants, self._segments)
        return self._executor

    def cycle_report(self, hw=None):
        """:func:`axc.runtime.cycle_model.estimate` of the program."""
        from .cycle_model import estimate

        return estimate(self.program, hw)


def _fail(where: str, msg: str) -> PackageError:
    return PackageError(f"{where}: {msg}")


def _check_manifest(m: Any, where: str) -> None:
    if not isinstance(m, dict):
        raise _fail(where, f"expected a JSON object, got {type(m).__name__}")
    for k in _REQUIRED:
        if k not in m:
            raise _fail(where, f"missing key '{k}'")
    if m["format"] != FORMAT:
        raise _fail(where, f"format must be '{FORMAT}', got {m['format']!r}")
    if m["format_version"] != FORMAT_VERSION:
        raise _fail(where, f"format_version {m['format_version']!r} is not supported (expected {FORMAT_VERSION})")
    if not isinstance(m["configuration"], dict):
        raise _fail(where, "'configuration' must be an object")
    if not isinstance(m["files"], dict):
        raise _fail(where, "'files' must be an object of file -> {sha256, bytes}")
    if not isinstance(m["program"], dict) or m["program"].get("file") != PROGRAM_FILE:
        raise _fail(where, f"'program' must be an object with file '{PROGRAM_FILE}'")
    if m["constants"] != CONSTANTS_FILE:
        raise _fail(where, f"'constants' must be '{CONSTANTS_FILE}', got {m['constants']!r}")
    if not isinstance(m["host_segments"], list):
        raise _fail(where, "'host_segments' must be a list of files")
    for kind in ("inputs", "outputs"):
        if not isinstance(m[kind], list):
            raise _fail(where, f"'{kind}' must be a list")
        for i, spec in enumerate(m[kind]):
            if not isinstance(spec, dict):
                raise _fail(where, f"{kind}[{i}] must be an object")
            for k in _IO_KEYS:
                if k not in spec:
                    raise _fail(where, f"{kind}[{i}] is missing key '{k}'")
            q = spec["quantization"]
            if q is not None and (not isinstance(q, dict) or "scale" not in q or "zero_point" not in q):
                raise _fail(where, f"{kind}[{i}] ('{spec['name']}') quantization needs 'scale' and 'zero_point' "
                                   f"(or null for a float32 tensor)")
    for name, info in m["files"].items():
        p = PurePosixPath(name)
        if p.is_absolute() or ".." in p.parts or not name:
            raise _fail(where, f"file name {name!r} must be a relative path inside the package")
        if not isinstance(info, dict) or "sha256" not in info or "bytes" not in info:
            raise _fail(where, f"files[{name!r}] needs 'sha256' and 'bytes'")
    for name in [PROGRAM_FILE, CONSTANTS_FILE, *m["host_segments"]]:
        if name not in m["files"]:
            raise _fail(where, f"'files' has no entry for {name}")


def load_package(path: str | os.PathLike[str]) -> Package:
    """Load and validate a package folder.

    Checks: the folder and every file exist; manifest.json is JSON with every required key; the
    size and sha256 of every listed file; the assembly parses and passes the ISA checks (errors give
    the line); the constants cover every ``.data``; every host segment the program calls is an
    ONNX model of supported ops with matching input / output counts; the manifest's inputs and
    outputs agree with the program's ``.input`` / ``.output``. Raises :class:`PackageError`.
    """
    from .asm_parser import parse_asm
    from .host_segment import HostSegment

    root = Path(path)
    if not root.exists():
        raise PackageError(f"{root}: no such package folder")
    if not root.is_dir():
        raise PackageError(f"{root}: not a package folder (a file)")
    mpath = root / MANIFEST
    if not mpath.is_file():
        raise _fail(str(mpath), "missing file (not a compiled package?)")
    try:
        manifest = json.loads(mpath.read_text())
    except json.JSONDecodeError as e:
        raise _fail(str(mpath), f"invalid JSON at line {e.lineno}: {e.msg}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise _fail(str(mpath), f"unreadable: {e}") from None
    _check_manifest(manifest, str(mpath))

    data: dict[str, bytes] = {}
    for name, info in manifest["files"].items():
        fp = root / name
        if not fp.is_file():
            raise _fail(str(fp), "missing file")
        blob = fp.read_bytes()
        if len(blob) != info["bytes"]:
            raise _fail(str(fp), f"size mismatch: manifest says {info['bytes']} bytes, found {len(blob)}")
        digest = _sha256(blob)
        if digest != info["sha256"]:
            raise _fail(str(fp), f"hash mismatch: manifest sha256 {str(info['sha256'])[:12]}..., "
                                 f"file {digest[:12]}...")
        data[name] = blob

    ppath = root / PROGRAM_FILE
    try:
        text = data[PROGRAM_FILE].decode()
    except UnicodeDecodeError as e:
        raise _fail(str(ppath), f"not UTF-8 text: {e}") from None
    try:
        program = parse_asm(text)
    except AsmError as e:
        raise _fail(str(ppath), str(e)) from None

    constants = data[CONSTANTS_FILE]
    if len(constants) < program.constants_size:
        raise _fail(str(root / CONSTANTS_FILE), f"{len(constants)} bytes, the program's .data needs "
                                                f"{program.constants_size}")

    host: dict[int, bytes] = {}
    segments: dict[int, Any] = {}
    calls = {ins["segment"]: ins for _, ins in program.instructions() if ins.op == "host"}
    for seg, ins in sorted(calls.items()):
        name = host_file(seg)
        fp = root / name
        if name not in data:
            raise _fail(str(fp), f"missing file (host segment {seg} is called at {PROGRAM_FILE} line {ins.line})")
        try:
            s = HostSegment.from_bytes(data[name], name)
        except ValueError as e:
            raise _fail(str(fp), str(e)) from None
        except Exception as e:  # protobuf DecodeError and friends
            raise _fail(str(fp), f"not a valid ONNX model: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}") from None
        if len(s.inputs) != len(ins["inputs"]) or len(s.outputs) != len(ins["outputs"]):
            raise _fail(str(fp), f"expected {len(ins['inputs'])} inputs and {len(ins['outputs'])} outputs "
                                 f"(the host instruction at line {ins.line}), got {len(s.inputs)} and {len(s.outputs)}")
        host[seg] = data[name]
        segments[seg] = s

    _check_io(manifest, program, str(mpath))
    batch = manifest["program"].get("batch", 1)  # packages written before Batch-x have no batch: Batch-1
    if batch != program.batch:
        raise _fail(str(mpath), f"program batch {batch!r} does not match the program's batch {program.batch} "
                                f"({PROGRAM_FILE})")
    return Package(root, manifest, text, program, constants, host, segments)


def _check_io(manifest: dict[str, Any], program: Program, where: str) -> None:
    ins, outs = io_specs(program)
    for kind, want in (("inputs", ins), ("outputs", outs)):
        specs = manifest[kind]
        names = [s["name"] for s in specs]
        if names != [w["name"] for w in want]:
            raise _fail(where, f"{kind} {names} do not match the program's .{kind[:-1]} {[w['name'] for w in want]}")
        for s, w in zip(specs, want, strict=True):
            name = w["name"]
            if list(s["shape"]) != w["shape"]:
                raise _fail(where, f"{kind[:-1]} \"{name}\" shape {s['shape']} does not match the program's {w['shape']}")
            if s["dtype"] != w["dtype"]:
                raise _fail(where, f"{kind[:-1]} \"{name}\" dtype must be {w['dtype']} (the program's), got {s['dtype']!r}")
            q, wq = s["quantization"], w["quantization"]
            if (q is None) != (wq is None) or (q is not None and (
                    float(q["scale"]) != wq["scale"] or int(q["zero_point"]) != wq["zero_point"])):
                def show(x: Any) -> str:
                    return "none (float32)" if x is None else f"scale {x['scale']}, zero point {x['zero_point']}"
                raise _fail(where, f"{kind[:-1]} \"{name}\" quantization ({show(q)}) does not match the "
                                   f"program's ({show(wq)})")
