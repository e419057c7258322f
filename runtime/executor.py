"""The AIPU program executor: runs a parsed program bit-exactly, frame after frame.

Pure numpy (+ lark for the assembly, + onnx to read host segments); no xdsl, so a deployed runtime
does not need the compiler.

Model of the machine (docs/isa.md):

* memories are numpy byte arrays: DDR and L2 shared by the cores, one L1 per core; each is sized to
  the highest address the program touches (not to the whole space);
* ``.data`` blobs are copied from the constants file at start-up; ``.input`` buffers are written with
  the quantized frame (HWC, channels padded) before a frame runs and ``.output`` buffers are read and
  dequantized after it;
* instructions execute in task-list order; ``wait`` blocks its core until the tokens are signalled.
  With several cores the executor interleaves the task lists (a core runs until it blocks on a
  token another core has not signalled yet); if every unfinished core is blocked that is a deadlock
  (:class:`ExecutionError`);
* ``dma`` copies a box of bytes (``as_strided`` views), ``mvm`` / ``dwpu`` / ``dpu`` call the integer
  kernels of :mod:`axc.runtime.int_kernels` on views of L1, ``host`` dequantizes its inputs, runs
  the host segment with the float kernels and quantizes the results into its outputs.

Entry points: :func:`run` (a package and float inputs keyed by ONNX names, frames stacked on the
batch axis) and :class:`Executor` (a program + constants + host segments; ``run`` for float I/O,
``run_quantized`` for int8 I/O).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

from . import int_kernels as ik
from .errors import InputDataError
from .host_segment import HostSegment
from .isa import HostBuffer, IODecl, Instr, Mem, Program, accesses, prod
from .quantization import dequantize, quantize, requantize

if TYPE_CHECKING:
    from .package import Package

__all__ = ["run", "Executor", "ExecutionError", "check_inputs", "to_stored", "from_stored"]


class ExecutionError(RuntimeError):
    """The program cannot run (deadlock, a kernel rejects its operands, a host segment fails)."""


# --------------------------------------------------------------------------------------------------
# layouts: logical (1, C, ...) <-> stored HWC with padded channels


def from_stored(raw: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """The logical tensor (batch 1) held by a stored HWC buffer ``raw`` (see ``isa.stored_shape``)."""
    s = tuple(shape)
    if len(s) == 4 and s[0] == 1:
        return np.ascontiguousarray(raw[:, :, : s[1]].transpose(2, 0, 1))[None]
    if len(s) == 2 and s[0] == 1:
        return np.ascontiguousarray(raw[0, 0, : s[1]])[None]
    if len(s) == 3 and s[0] == 1:
        return np.ascontiguousarray(raw[0, :, : s[1]].T)[None]
    return np.ascontiguousarray(raw[..., : s[-1]]).reshape(s)


def to_stored(x: np.ndarray, out: np.ndarray) -> None:
    """Write a logical tensor ``x`` (batch 1) into the real channels of a stored HWC buffer ``out``."""
    s = x.shape
    if len(s) == 4 and s[0] == 1:
        out[:, :, : s[1]] = x[0].transpose(1, 2, 0)
    elif len(s) == 2 and s[0] == 1:
        out[0, 0, : s[1]] = x[0]
    elif len(s) == 3 and s[0] == 1:
        out[0, :, : s[1]] = x[0].T
    else:
        out[..., : s[-1]] = x.reshape(out.shape[:-1] + (s[-1],))


# --------------------------------------------------------------------------------------------------


def _memory_extents(program: Program) -> dict[str, int]:
    ext = {"ddr": 0, "l2": 0, "l1": 0}

    def see(at: Mem, size: int) -> None:
        ext[at.space] = max(ext[at.space], at.address + size)

    for d in program.data:
        see(d.at, d.size)
    for d in program.io:
        see(d.at, d.nbytes)
    for _, ins in program.instructions():
        for a in accesses(ins):
            see(a.at, a.size)
    return ext


class Executor:
    """Runs one instance of a program. Memories persist between frames (constants are loaded once).

    ``program``: a checked :class:`Program`; ``constants``: the bytes of the constants file;
    ``host_segments``: segment index -> :class:`HostSegment` (or serialized ONNX bytes).
    """

    def __init__(self, program: Program, constants: bytes | np.ndarray,
                 host_segments: Mapping[int, HostSegment | bytes] | None = None):
        self.program = program
        self.constants = np.frombuffer(bytes(constants), np.uint8) if not isinstance(constants, np.ndarray) \
            else constants.view(np.uint8).reshape(-1)
        self.host_segments: dict[int, HostSegment] = {}
        for k, v in (host_segments or {}).items():
            self.host_segments[int(k)] = v if isinstance(v, HostSegment) else \
                HostSegment.from_bytes(v, f"host segment {k}")
        ext = _memory_extents(program)
        # 64-byte slack so unaligned int32 views never run past the end
        self.mem: dict[tuple[str, int], np.ndarray] = {
            ("ddr", 0): np.zeros(ext["ddr"] + 64, np.uint8),
            ("l2", 0): np.zeros(ext["l2"] + 64, np.uint8),
        }
        for core in program.task_lists:
            self.mem[("l1", core)] = np.zeros(ext["l1"] + 64, np.uint8)
        self._weights: dict[tuple, tuple[np.ndarray, ik.ConvWeights]] = {}
        self._load_constants()

    # -- memory --------------------------------------------------------------------------------
    def _array(self, core: int, space: str) -> np.ndarray:
        return self.mem[(space, core if space == "l1" else 0)]

    def view(self, core: int, at: Mem, shape: Sequence[int], dtype: Any = np.int8) -> np.ndarray:
        """A writable view of ``shape`` elements of ``dtype`` at ``at`` (L1 of ``core``)."""
        n = prod(shape) * np.dtype(dtype).itemsize
        return self._array(core, at.space)[at.address: at.address + n].view(dtype).reshape(tuple(shape))

    def _load_constants(self) -> None:
        for d in self.program.data:
            blob = self.constants[d.offset: d.offset + d.size]
            if blob.size != d.size:
                raise ExecutionError(f".data \"{d.name}\" needs bytes [{d.offset}, {d.offset + d.size}) of the "
                                     f"constants, which have {self.constants.size} bytes")
            cores = list(self.program.task_lists) if d.at.space == "l1" else [0]
            for core in cores:
                self._array(core, d.at.space)[d.at.address: d.at.address + d.size] = blob

    # -- frames -----------------------------------------------------------------------------------
    def buffer(self, core: int, b: HostBuffer | IODecl) -> np.ndarray:
        """The stored view of a host / I/O buffer (int8 HWC or f32 logical)."""
        return self.view(core, b.at, b.stored, np.float32 if b.dtype == "f32" else np.int8)

    def read_logical(self, core: int, b: HostBuffer | IODecl) -> np.ndarray:
        """The logical tensor (batch 1) a buffer holds: int8 or float32 as stored."""
        raw = self.buffer(core, b)
        return raw.copy() if b.dtype == "f32" else from_stored(raw, b.shape)

    def write_logical(self, core: int, b: HostBuffer | IODecl, x: np.ndarray) -> None:
        raw = self.buffer(core, b)
        if b.dtype == "f32":
            raw[...] = np.asarray(x, np.float32).reshape(raw.shape)
        else:
            to_stored(np.asarray(x, np.int8).reshape(b.shape), raw)

    def write_input(self, decl: IODecl, x: np.ndarray) -> None:
        """Store a logical input tensor (batch 1; int8, or float32 for an f32 input) into its buffer
        (into every core's L1 if the buffer is in L1)."""
        cores = list(self.program.task_lists) if decl.at.space == "l1" else [0]
        for core in cores:
            self.write_logical(core, decl, x)

    def read_output(self, decl: IODecl) -> np.ndarray:
        return self.read_logical(0, decl)

    def run_quantized(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """One frame with the I/O as stored: ``inputs`` name -> int8 (f32 for an f32 input) logical
        tensor of batch 1; returns the outputs the same way."""
        for d in self.program.inputs:
            self.write_input(d, inputs[d.name])
        self.execute()
        return {d.name: self.read_output(d) for d in self.program.outputs}

    def run(self, inputs: Mapping[str, np.ndarray],
            quant: Mapping[str, tuple[float, int]] | None = None) -> dict[str, np.ndarray]:
        """Float I/O, frames stacked on the batch axis: quantize, run frame by frame, dequantize.

        ``quant`` overrides the (scale, zero point) of an I/O name (the package manifest's values).
        """
        q = dict(quant or {})
        qp = {d.name: q.get(d.name, (d.scale, d.zp)) for d in self.program.io}
        frames = {k: np.asarray(v) for k, v in inputs.items()}
        n = min((frames[d.name].shape[0] // max(d.shape[0], 1) for d in self.program.inputs), default=1)
        outs: dict[str, list[np.ndarray]] = {d.name: [] for d in self.program.outputs}
        for f in range(n):
            qin = {}
            for d in self.program.inputs:
                b = d.shape[0]  # a frame is one batch of the model (1 for almost every model)
                x = np.asarray(frames[d.name][f * b: (f + 1) * b], np.float32)
                qin[d.name] = x if d.dtype == "f32" else quantize(x, *qp[d.name])
            res = self.run_quantized(qin)
            for d in self.program.outputs:
                y = res[d.name]
                outs[d.name].append(y if d.dtype == "f32" else dequantize(y, *qp[d.name]))
        return {k: np.concatenate(v, axis=0) for k, v in outs.items()}

    # -- execution --------------------------------------------------------------------------------
    def execute(self) -> None:
        """Run every task list once (one frame)."""
        lists = self.program.task_lists
        pc = {c: 0 for c in lists}
        signalled: set[int] = set()
        while True:
            progressed = False
            for core, lst in lists.items():
                while pc[core] < len(lst):
                    ins = lst[pc[core]]
                    if ins.op == "wait":
                        if not all(t in signalled for t in ins["tokens"]):
                            break
                    else:
                        self.step(core, ins)
                    if ins.signal is not None:
                        signalled.add(ins.signal)
                    pc[core] += 1
                    progressed = True
            if all(pc[c] == len(lists[c]) for c in lists):
                return
            if not progressed:
                blocked = {c: lists[c][pc[c]] for c in lists if pc[c] < len(lists[c])}
                desc = ", ".join(f"core {c} at line {i.line} waits for {list(i['tokens'])}" for c, i in blocked.items())
                raise ExecutionError(f"deadlock: {desc}")

    def step(self, core: int, ins: Instr) -> None:
        try:
            getattr(self, "_" + ins.op)(core, ins)
        except (ValueError, IndexError) as e:
            where = f" (line {ins.line})" if ins.line else ""
            raise ExecutionError(f"{ins.describe()}{where}: {e}") from None

    def _dma(self, core: int, ins: Instr) -> None:
        sizes = tuple(ins["sizes"])
        src_mem, dst_mem = ins["from"], ins["to"]
        src = as_strided(self._array(core, src_mem.space)[src_mem.address:], shape=sizes,
                         strides=tuple(ins["from_strides"]) + (1,), writeable=False)
        dst = as_strided(self._array(core, dst_mem.space)[dst_mem.address:], shape=sizes,
                         strides=tuple(ins["to_strides"]) + (1,))
        dst[...] = src

    def _conv_weights(self, core: int, ins: Instr, group: int) -> ik.ConvWeights:
        w = self.view(core, ins["w"], ins["w_shape"])
        key = (core, ins["w"], tuple(ins["w_shape"]), group)
        hit = self._weights.get(key)
        if hit is not None and np.array_equal(hit[0], w):
            return hit[1]
        cw = ik.prepare_conv2d_weights(w, group)
        self._weights[key] = (w.copy(), cw)
        return cw

    def _mvm(self, core: int, ins: Instr) -> None:
        oct_, cg, _, _ = ins["w_shape"]
        group = ins["group"]
        oc = ins["channels"][1]
        x = self.view(core, ins["in"], ins["in_shape"])[:, :, : cg * group]
        table = self.view(core, ins["table"], (3, oct_), np.int32)
        acc = ik.conv2d(np.ascontiguousarray(x), self._conv_weights(core, ins, group), table[0], ins["in_zp"],
                        ins["strides"], ins["pads"], ins["dilations"], group)
        lo, hi = ins["clamp"]
        y = requantize(acc[:, :, :oc], table[1, :oc], table[2, :oc], ins["out_zp"], lo, hi)
        self.view(core, ins["out"], ins["out_shape"])[:, :, :oc] = y

    def _dwpu(self, core: int, ins: Instr) -> None:
        c_in, c_out = ins["channels"]
        x = np.ascontiguousarray(self.view(core, ins["in"], ins["in_shape"])[:, :, :c_in])
        lo, hi = ins["clamp"]
        kind = ins["op"]
        if kind == "dwconv":
            oc = ins["w_shape"][0]
            w = self.view(core, ins["w"], ins["w_shape"])[:c_out]
            table = self.view(core, ins["table"], (3, oc), np.int32)
            acc = ik.conv2d(x, np.ascontiguousarray(w), table[0, :c_out], ins["in_zp"], ins["strides"],
                            ins["pads"], ins["dilations"], c_in)
            y = requantize(acc, table[1, :c_out], table[2, :c_out], ins["out_zp"], lo, hi)
        elif kind == "maxpool":
            y = ik.max_pool(x, ins["kernel"], ins["strides"], ins["pads"], bool(ins["ceil_mode"]), ins["dilations"])
            if (lo, hi) != (-128, 127):
                y = np.clip(y, lo, hi).astype(np.int8)
        else:
            y = ik.avg_pool(x, ins["in_zp"], ins["kernel"], ins["strides"], ins["pads"],
                            bool(ins["count_include_pad"]), bool(ins["ceil_mode"]), ins["multipliers"],
                            ins["shift"], ins["out_zp"], lo, hi)
        self.view(core, ins["out"], ins["out_shape"])[:, :, :c_out] = y

    def _dpu(self, core: int, ins: Instr) -> None:
        c = ins["channels"]
        lo, hi = ins["clamp"]
        kind = ins["op"]

        def operand(name: str) -> np.ndarray:
            return self.view(core, ins[name], ins[name + "_shape"])[:, :, :c]

        if kind == "add":
            y = ik.add(operand("a"), ins["a_zp"], ins["a_mult"], operand("b"), ins["b_zp"], ins["b_mult"],
                       ins["shift"], ins["out_zp"], lo, hi)
        elif kind == "requantize":
            y = ik.requantize_int8(operand("in"), ins["in_zp"], ins["mult"], ins["shift"], ins["out_zp"], lo, hi)
        else:
            y = np.clip(operand("in"), lo, hi).astype(np.int8)
        operand("out")[...] = y

    def _host(self, core: int, ins: Instr) -> None:
        seg = self.host_segments.get(ins["segment"])
        if seg is None:
            raise ValueError(f"host segment {ins['segment']} is not loaded (have {sorted(self.host_segments)})")
        xs = [self.read_logical(core, b) if b.dtype == "f32" else
              dequantize(self.read_logical(core, b), b.scale, b.zp) for b in ins["inputs"]]
        ys = seg.run(xs)
        outs: Sequence[HostBuffer] = ins["outputs"]
        if len(ys) != len(outs):
            raise ValueError(f"host segment {ins['segment']} returned {len(ys)} outputs, the instruction "
                             f"has {len(outs)} output buffers")
        for b, y in zip(outs, ys, strict=True):
            y = np.asarray(y, np.float32)
            if y.size != prod(b.shape):
                raise ValueError(f"host segment {ins['segment']} output has shape {list(y.shape)}, "
                                 f"expected {list(b.shape)}")
            y = y.reshape(b.shape)
            self.write_logical(core, b, y if b.dtype == "f32" else quantize(y, b.scale, b.zp))


# --------------------------------------------------------------------------------------------------
# the package entry point


def check_inputs(specs: Sequence[Mapping[str, Any]], inputs: Mapping[str, Any]) -> tuple[dict[str, np.ndarray], int]:
    """Validate user inputs against the manifest's input specs (``name``, ``shape``, ``dtype``).

    Frames are stacked on axis 0: an input of model shape (B, ...) takes (N x B, ...) for N >= 1
    frames (B = 1 for almost every model), with N the same for every input; the other axes must
    match. Returns (arrays by name, N). Raises :class:`InputDataError` naming the key and what was
    expected vs found.
    """
    out: dict[str, np.ndarray] = {}
    counts: dict[str, int] = {}
    for spec in specs:
        name, shape, dtype = spec["name"], tuple(spec["shape"]), np.dtype(spec.get("dtype", "float32"))
        want = "(N, " + ", ".join(map(str, shape[1:])) + ")" if len(shape) > 1 else "(N,)"
        if name not in inputs:
            raise InputDataError(f"missing input \"{name}\": expected an array of shape {want}, got keys "
                                 f"{sorted(inputs)}")
        a = inputs[name]
        if not isinstance(a, np.ndarray):
            raise InputDataError(f"input \"{name}\": expected a numpy array of {dtype}, got {type(a).__name__}")
        if a.dtype != dtype:
            raise InputDataError(f"input \"{name}\": expected dtype {dtype}, got {a.dtype}")
        b = max(shape[0], 1) if shape else 1
        if a.ndim != len(shape) or a.shape[1:] != shape[1:] or a.shape[0] < 1 or a.shape[0] % b:
            raise InputDataError(f"input \"{name}\": expected shape {want}" + (f" with N a multiple of {b}" if b > 1 else "")
                                 + f", got {a.shape}")
        out[name] = a
        counts[name] = a.shape[0] // b
    if len(set(counts.values())) > 1:
        raise InputDataError(f"inputs have different frame counts (axis 0): {counts}")
    return out, next(iter(counts.values()), 1)


def run(package: Package | str | Path, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Run a compiled package on float32 inputs keyed by the ONNX input names.

    Frames are stacked on the batch axis (axis 0) and run one after the other; outputs come back keyed
    by the ONNX output names, stacked the same way (float32, dequantized with the manifest's
    quantization). ``package`` is a :class:`~axc.runtime.package.Package` or a package folder.
    Raises :class:`InputDataError` for missing / misshapen / mistyped inputs and
    :class:`~axc.runtime.errors.PackageError` for a damaged package.
    """
    from .package import Package, load_package

    pkg = package if isinstance(package, Package) else load_package(package)
    arrays, _ = check_inputs(pkg.manifest["inputs"], inputs)
    quant = {s["name"]: (float(s["quantization"]["scale"]), int(s["quantization"]["zero_point"]))
             for s in pkg.manifest["inputs"] + pkg.manifest["outputs"] if s["quantization"] is not None}
    outs = pkg.executor().run(arrays, quant)
    return {s["name"]: outs[s["name"]].astype(np.float32, copy=False) for s in pkg.manifest["outputs"]}
