"""Helpers of the aipu tests: hand-written assembly with a constants file, and the digits model
compiled down to the tile level."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from axc.runtime.asm_parser import parse_asm
from axc.runtime.executor import Executor
from axc.runtime.isa import Program

ROOT = Path(__file__).resolve().parents[2]
DIGITS = ROOT / "models" / "digits"

HEADER = ".program cores={cores} frequency=800000000 instances={instances} l1_size=3670016 l2_size=28114944 ddr_size=1040187392"


class Asm:
    """Builds an assembly text and its constants file.

    ``data(name, at, array)`` appends a blob (64-byte aligned in the constants file); ``io(...)``
    declares an input / output; ``core(n)`` starts a task list; ``__call__(line)`` adds an
    instruction line.
    """

    def __init__(self, cores: int = 1, instances: int = 1):
        self.head = [HEADER.format(cores=cores, instances=instances)]
        self.lines: list[str] = []
        self.constants = bytearray()

    def data(self, name: str, at: str, array: np.ndarray) -> None:
        raw = np.ascontiguousarray(array).tobytes()
        off = -(-len(self.constants) // 64) * 64
        self.constants.extend(b"\0" * (off - len(self.constants)))
        self.constants.extend(raw)
        dtype = {np.dtype(np.int8): "i8", np.dtype(np.int32): "i32"}[array.dtype]
        shape = ",".join(map(str, array.shape))
        self.head.append(f'.data name="{name}" at={at} offset={off} size={len(raw)} dtype={dtype} shape=[{shape}]')

    def io(self, kind: str, name: str, at: str, shape, stored, scale: float = 1.0, zp: int = 0,
           dtype: str = "i8") -> None:
        s = ",".join(map(str, shape))
        st = ",".join(map(str, stored))
        self.head.append(f'.{kind} name="{name}" at={at} dtype={dtype} shape=[{s}] stored=[{st}] '
                         f"scale={scale!r} zp={zp}")

    def core(self, n: int = 0) -> None:
        self.lines.append(f".core {n}")

    def __call__(self, line: str) -> None:
        self.lines.append("  " + line)

    @property
    def text(self) -> str:
        return "\n".join(self.head + self.lines) + "\n"

    def program(self) -> Program:
        return parse_asm(self.text)

    def executor(self, host_segments=None) -> Executor:
        return Executor(self.program(), bytes(self.constants), host_segments)


def table(bias: np.ndarray, mult: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """An int32 [3, OC] epilogue table."""
    return np.stack([np.asarray(bias, np.int32), np.asarray(mult, np.int32), np.asarray(shift, np.int32)])


def compile_digits_tile(buffer_promotion: bool = False):
    """The digits CNN at the tile level, planned (module, quant-level module, calibration-free
    seeded frames are not used: the shipped calibration set is)."""
    from axc.lowering.compile_pipeline import make_context, run_stages, Stage
    from axc.lowering.onnx_importer import import_onnx

    ctx = make_context()
    module = import_onnx(DIGITS / "digits_cnn.onnx")
    graph = ("onnx-fold-constants,onnx-remove-identity,onnx-sum-to-add,onnx-fold-batchnorm,"
             "onnx-fold-channel-affine,onnx-rewrite-dense-to-conv2d,onnx-fold-constants")
    cal = f'onnx-calibrate{{calibration-data="{DIGITS / "digits_calib.npz"}" frames=8 seed=0}}'
    stages = [Stage(s, "onnx") for s in graph.split(",")] + [Stage(cal, "onnx"), Stage("convert-onnx-to-quant", "quant")]
    run_stages(ctx, module, stages)
    quant = module.clone()
    run_stages(ctx, module, [Stage("convert-quant-to-tile", "tile"),
                             Stage(f"tile-plan-memory{{buffer-promotion={'true' if buffer_promotion else 'false'}}}",
                                   "tile")])
    return ctx, module, quant
