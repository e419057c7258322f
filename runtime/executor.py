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
* every instruction is decoded once, when the executor is built, into a callable over fixed views
  of the memories (:mod:`axc.runtime.instructions`: ``dma`` copies a box of bytes, ``mvm`` /
  ``dwpu`` / ``dpu`` run planned integer kernels, ``host`` runs its segment with the float kernels
  between dequantized inputs and quantized outputs).

Entry points: :func:`run` (a package and float inputs keyed by ONNX names, frames stacked on the
batch axis) and :class:`Executor` (a program + constants + host segments; ``run`` for float I/O,
``run_quantized`` for int8 I/O).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import AxcError, InputDataError
from .host_segment import HostSegment
from .instructions import Run, WeightPool, decode
from .isa import HostBuffer, IODecl, Instr, Mem, Program, accesses, is_logical, numpy_dtype_of, prod
from .multicore import batch_groups
from .quantization import dequantize, quantize

if TYPE_CHECKING:
    from .package import Package

__all__ = ["run", "Executor", "ExecutionError", "check_inputs", "frame_rows", "to_stored", "from_stored"]


class ExecutionError(AxcError, RuntimeError):
    """The program cannot run (deadlock, a kernel rejects its operands, a host segment fails)."""


# --------------------------------------------------------------------------------------------------
# layouts: logical (1, C, ...) <-> stored HWC with padded channels; frames stacked on axis 0


def frame_rows(shape: Sequence[int]) -> int:
    """Rows of axis 0 that one frame of a model tensor of ``shape`` takes when frames are stacked:
    its batch B (1 for almost every model). A 0-d tensor has no batch axis: its frames are stacked
    on a new axis, one row each (N frames of a scalar = shape (N,))."""
    return max(int(shape[0]), 1) if len(shape) else 1


def _rows_of(x: np.ndarray) -> np.ndarray:
    """A frame's tensor as rows of the stacked array (a 0-d tensor becomes one row)."""
    return x.reshape(1) if x.ndim == 0 else x


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
        self.weights = WeightPool()
        self._load_constants()
        # every instruction decoded once into (callable, tokens to wait for, token to signal, instr)
        self._tasks: dict[int, list[tuple[Run | None, frozenset[int] | None, int | None, Instr]]] = {}
        for core, lst in program.task_lists.items():
            tasks = self._tasks[core] = []
            for ins in lst:
                try:
                    run = decode(self, core, ins)
                except (ValueError, IndexError) as e:
                    raise _instruction_error(ins, e) from None
                wait = frozenset(ins["tokens"]) if ins.op == "wait" else None
                tasks.append((run, wait, ins.signal, ins))

    # -- memory --------------------------------------------------------------------------------
    def memory(self, core: int, space: str) -> np.ndarray:
        """The byte array of memory ``space`` ("ddr", "l2", "l1") as ``core`` sees it."""
        return self.mem[(space, core if space == "l1" else 0)]

    def view(self, core: int, at: Mem, shape: Sequence[int], dtype: Any = np.int8) -> np.ndarray:
        """A writable view of ``shape`` elements of ``dtype`` at ``at`` (L1 of ``core``)."""
        n = prod(shape) * np.dtype(dtype).itemsize
        return self.memory(core, at.space)[at.address: at.address + n].view(dtype).reshape(tuple(shape))

    def _load_constants(self) -> None:
        for d in self.program.data:
            blob = self.constants[d.offset: d.offset + d.size]
            if blob.size != d.size:
                raise ExecutionError(f".data \"{d.name}\" needs bytes [{d.offset}, {d.offset + d.size}) of the "
                                     f"constants, which have {self.constants.size} bytes")
            cores = list(self.program.task_lists) if d.at.space == "l1" else [0]
            for core in cores:
                self.memory(core, d.at.space)[d.at.address: d.at.address + d.size] = blob

    # -- frames -----------------------------------------------------------------------------------
    def buffer(self, core: int, b: HostBuffer | IODecl) -> np.ndarray:
        """The stored view of a host / I/O buffer (int8 HWC or f32 logical)."""
        return self.view(core, b.at, b.stored, numpy_dtype_of(b.dtype))

    def read_logical(self, core: int, b: HostBuffer | IODecl) -> np.ndarray:
        """The logical tensor (batch 1) a buffer holds: int8 or float32 as stored."""
        raw = self.buffer(core, b)
        return raw.copy() if is_logical(b.dtype) else from_stored(raw, b.shape)

    def write_logical(self, core: int, b: HostBuffer | IODecl, x: np.ndarray) -> None:
        raw = self.buffer(core, b)
        if is_logical(b.dtype):
            raw[...] = np.asarray(x, raw.dtype).reshape(raw.shape)
        else:
            to_stored(np.asarray(x, np.int8).reshape(b.shape), raw)

    def write_input(self, decl: IODecl, x: np.ndarray) -> None:
        """Store a logical input tensor (one frame of the model, batch B = ``decl.shape[0]``; int8,
        or float32 for an f32 input) into its buffer, the buffer of frame ``decl.frame`` (into every
        core's L1 if the buffer is in L1)."""
        cores = list(self.program.task_lists) if decl.at.space == "l1" else [0]
        for core in cores:
            self.write_logical(core, decl, x)

    def read_output(self, decl: IODecl) -> np.ndarray:
        """The logical tensor (one frame) held by an output buffer (that of frame ``decl.frame``)."""
        return self.read_logical(0, decl)

    def run_quantized(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """One execution with the I/O as stored: ``inputs`` name -> int8 (f32 for an f32 input)
        logical tensors of the program's ``batch`` frames stacked on axis 0 (Batch-1: one frame,
        shape (B, ...) with B the model's batch, usually 1; Batch-x: (x * B, ...), frame k on core
        k; a 0-d tensor: (x,), see :func:`frame_rows`); returns the outputs stacked the same way. Raises :class:`InputDataError` for an array
        that does not hold ``batch`` frames."""
        batch = self.program.batch
        for d in self.program.io:
            if d.kind == "input":
                self.write_input(d, _frame(inputs[d.name], d, batch))
        self.execute()
        if batch == 1:
            return {d.name: _rows_of(self.read_output(d)) for d in self.program.outputs}
        frames = {(d.name, d.frame): d for d in self.program.io if d.kind == "output"}
        return {d.name: np.concatenate([_rows_of(self.read_output(frames[(d.name, k)])) for k in range(batch)])
                for d in self.program.outputs}

    def run(self, inputs: Mapping[str, np.ndarray],
            quant: Mapping[str, tuple[float, int]] | None = None) -> dict[str, np.ndarray]:
        """Float I/O, frames stacked on the batch axis: quantize, run, dequantize.

        A frame is one batch of the model (B rows of axis 0, B = 1 for almost every model). Frames
        run in executions of the program's ``batch`` frames (Batch-1: one by one; Batch-x: x at a
        time, frame k of a group on core k); a last group of fewer than x frames is padded by
        repeating its last real frame, and only the real frames' outputs are returned
        (:func:`axc.runtime.multicore.batch_groups`). ``quant`` overrides the (scale, zero point)
        of an I/O name (the package manifest's values).
        """
        q = dict(quant or {})
        qp = {d.name: q.get(d.name, (d.scale, d.zp)) for d in self.program.io}
        frames = {k: np.asarray(v) for k, v in inputs.items()}
        n = min((len(frames[d.name]) // frame_rows(d.shape) for d in self.program.inputs), default=1)
        if n < 1:
            raise InputDataError("no frames: every input needs at least one frame on axis 0")
        # quantize every frame at once and dequantize every output at once (both are elementwise,
        # so this equals doing it frame by frame); per execution only views are handed over
        qin_all: dict[str, np.ndarray] = {}
        for d in self.program.inputs:
            x = np.asarray(frames[d.name][: n * frame_rows(d.shape)],
                           numpy_dtype_of(d.dtype) if is_logical(d.dtype) else np.float32)
            qin_all[d.name] = x if is_logical(d.dtype) else quantize(x, *qp[d.name])
        outs: dict[str, list[np.ndarray]] = {d.name: [] for d in self.program.outputs}
        for group, real in batch_groups(n, self.program.batch):
            qin = {}
            for d in self.program.inputs:
                b = frame_rows(d.shape)  # a frame is one batch of the model (1 for almost every model)
                a = qin_all[d.name]
                qin[d.name] = a[group[0] * b: (group[0] + 1) * b] if len(group) == 1 else \
                    np.concatenate([a[f * b: (f + 1) * b] for f in group])
            res = self.run_quantized(qin)
            for d in self.program.outputs:
                # a copy: an output read may be a view of memory the next execution overwrites
                outs[d.name].append(res[d.name][: real * frame_rows(d.shape)].copy())
        deq = {d.name: d for d in self.program.outputs}

        def stacked(k: str, parts: list[np.ndarray]) -> np.ndarray:
            y = np.concatenate(parts, axis=0)
            return y.reshape(()) if n == 1 and not deq[k].shape else y  # one frame of a 0-d output is 0-d

        return {k: (y if is_logical(deq[k].dtype) else dequantize(y, *qp[k]))
                for k, y in ((k, stacked(k, v)) for k, v in outs.items())}

    # -- execution --------------------------------------------------------------------------------
    def execute(self) -> None:
        """Run every task list once (one frame). Raises :class:`ExecutionError` for a deadlock or an
        instruction whose kernel rejects what the memories hold."""
        lists = self._tasks
        pc = {c: 0 for c in lists}
        signalled: set[int] = set()
        while True:
            progressed = False
            for core, tasks in lists.items():
                n, i = len(tasks), pc[core]
                while i < n:
                    run, wait, signal, ins = tasks[i]
                    if wait is not None and not wait <= signalled:
                        break
                    if run is not None:
                        try:
                            run()
                        except (ValueError, IndexError) as e:
                            raise _instruction_error(ins, e) from None
                    if signal is not None:
                        signalled.add(signal)
                    i += 1
                    progressed = True
                pc[core] = i
            if all(pc[c] == len(lists[c]) for c in lists):
                return
            if not progressed:
                blocked = {c: lists[c][pc[c]][3] for c in lists if pc[c] < len(lists[c])}
                desc = ", ".join(f"core {c} at line {i.line} waits for {list(i['tokens'])}"
                                 for c, i in blocked.items())
                raise ExecutionError(f"deadlock: {desc}")


def _frame(x: np.ndarray, d: IODecl, batch: int) -> np.ndarray:
    """Frame ``d.frame`` of ``batch`` frames stacked on axis 0 (Batch-1: ``x`` as given)."""
    if batch == 1:
        return x
    x = np.asarray(x)
    b = frame_rows(d.shape)
    if x.ndim != max(len(d.shape), 1) or x.shape[0] != batch * b or tuple(x.shape[1:]) != tuple(d.shape[1:]):
        want = (batch * b, *d.shape[1:])
        raise InputDataError(f"input \"{d.name}\": a {batch}-frame execution takes shape {want} (frames "
                             f"stacked on axis 0), got {x.shape}")
    return x[d.frame * b: (d.frame + 1) * b]


def _instruction_error(ins: Instr, e: Exception) -> ExecutionError:
    where = f" (line {ins.line})" if ins.line else ""
    return ExecutionError(f"{ins.describe()}{where}: {e}")


# --------------------------------------------------------------------------------------------------
# the package entry point


def check_inputs(specs: Sequence[Mapping[str, Any]], inputs: Mapping[str, Any]) -> tuple[dict[str, np.ndarray], int]:
    """Validate user inputs against the manifest's input specs (``name``, ``shape``, ``dtype``).

    Frames are stacked on axis 0: an input of model shape (B, ...) takes (N x B, ...) for N >= 1
    frames (B = 1 for almost every model), with N the same for every input; the other axes must
    match. A 0-d (scalar) input takes (N,), one value per frame (:func:`frame_rows`), or a 0-d array
    for one frame. Returns (arrays by name, N). Raises :class:`InputDataError` naming the key and what was
    expected vs found.
    """
    out: dict[str, np.ndarray] = {}
    counts: dict[str, int] = {}
    for spec in specs:
        name, shape, dtype = spec["name"], tuple(spec["shape"]), np.dtype(spec.get("dtype", "float32"))
        want = "(N, " + ", ".join(map(str, shape[1:])) + ")" if len(shape) > 1 else "(N,)" if shape else "(N,) or ()"
        if name not in inputs:
            raise InputDataError(f"missing input \"{name}\": expected an array of shape {want}, got keys "
                                 f"{sorted(inputs)}")
        a = inputs[name]
        if not isinstance(a, np.ndarray):
            raise InputDataError(f"input \"{name}\": expected a numpy array of {dtype}, got {type(a).__name__}")
        if a.dtype != dtype:
            raise InputDataError(f"input \"{name}\": expected dtype {dtype}, got {a.dtype}")
        if not shape and a.ndim == 0:
            a = a.reshape(1)  # one frame of a scalar input
        b = frame_rows(shape)
        if a.ndim != max(len(shape), 1) or a.shape[1:] != shape[1:] or a.shape[0] < 1 or a.shape[0] % b:
            raise InputDataError(f"input \"{name}\": expected shape {want}" + (f" with N a multiple of {b}" if b > 1 else "")
                                 + f", got {a.shape}")
        out[name] = a
        counts[name] = a.shape[0] // b
    if len(set(counts.values())) > 1:
        raise InputDataError(f"inputs have different frame counts (axis 0): {counts}")
    return out, next(iter(counts.values()), 1)


def run(package: Package | str | Path, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Run a compiled package on float32 inputs keyed by the ONNX input names.

    Frames are stacked on the batch axis (axis 0; a 0-d tensor's frames on a new axis 0, shape (N,))
    and run one after the other; outputs come back keyed by the ONNX output names, stacked the same way (float32, dequantized with the manifest's
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
