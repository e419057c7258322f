"""Batch-x: one program, x cores, x frames per execution (pure Python, no xdsl).

The configuration reference's Batch-x mode (``aipu_cores_used = x``): the x cores share the L2 /
DDR budget and always run together, core k on frame k. ``tile-plan-memory{cores=x}`` lays each of
L2 and DDR out as::

    [shared constants][core 0's activations and I/O][core 1's] ... [core x-1's]
    0                 shared                        shared + stride

and ``convert-tile-to-aipu{cores=x}`` emits core k's task list as core 0's with every address at or
above ``shared`` moved by ``k * stride`` (:class:`CoreLayout`), its own tokens and its own I/O
declarations (``frame = k``). L1 is private to each core, so L1 addresses never move.

This module holds what the compiler and the runtime share about that layout:

* :class:`CoreLayout`: the per-space shared prefix and per-core stride, and the relocation of an
  instruction / an I/O declaration to core k;
* :func:`check_batch`: the program checks of a batch (called by ``isa_checks.check_program``): every frame
  declares the same I/O in bytes of its own, and cores do not touch each other's L2 / DDR bytes
  unless cross-core tokens order them;
* :func:`batch_groups`: how the runtime cuts N frames into executions of ``batch`` frames (the last
  group is padded by repeating its last real frame; the padding's outputs are dropped).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from .isa import ISA, AsmError, Instr, IODecl, Mem, Program, accesses

__all__ = ["CoreLayout", "SHARED_SPACES", "check_batch", "batch_groups"]

#: the spaces the cores share (L1 is private to each core)
SHARED_SPACES = ("l2", "ddr")


@dataclass(frozen=True)
class CoreLayout:
    """Where each core's copy of the per-core buffers lives in the shared spaces.

    ``shared[space]``: bytes at the start of the space holding what every core shares (the
    constants); ``stride[space]``: bytes of one core's region, which starts at
    ``shared + k * stride`` for core k. Both are multiples of 64 (the PWORD).
    """

    cores: int = 1
    shared: dict[str, int] = field(default_factory=dict)
    stride: dict[str, int] = field(default_factory=dict)

    def per_core(self, at: Mem) -> bool:
        """Whether ``at`` is in a per-core region (moves with the core) rather than shared / L1."""
        return at.space in SHARED_SPACES and at.address >= self.shared.get(at.space, 0)

    def shift(self, at: Mem, core: int) -> Mem:
        """Core ``core``'s copy of core 0's address ``at``."""
        if core == 0 or not self.per_core(at):
            return at
        return Mem(at.space, at.address + core * self.stride.get(at.space, 0))

    def relocate(self, ins: Instr, core: int) -> Instr:
        """Core ``core``'s copy of core 0's instruction: every per-core address moved (tokens are
        the caller's business)."""
        if core == 0:
            return ins
        args: dict[str, Any] = {}
        for key, v in ins.args.items():
            kind = ISA[ins.op][key].kind
            if kind == "mem":
                v = self.shift(v, core)
            elif kind == "hostbufs":
                v = tuple(replace(b, at=self.shift(b.at, core)) for b in v)
            args[key] = v
        return Instr(ins.op, args, ins.line)

    def relocate_io(self, d: IODecl, core: int) -> IODecl:
        """Frame ``core``'s copy of frame 0's I/O declaration ``d``."""
        return replace(d, at=self.shift(d.at, core), frame=core)


# --------------------------------------------------------------------------------------------------
# checks


def _io_text(d: IODecl) -> str:
    return (f".{d.kind} \"{d.name}\" ({d.dtype}, shape {list(d.shape)}, stored {list(d.stored)}, "
            f"scale {d.scale!r}, zp {d.zp})")


def _signature(d: IODecl) -> tuple:
    return (d.kind, d.name, d.dtype, tuple(d.shape), tuple(d.stored), d.scale, d.zp)


def _check_frames(p: Program) -> None:
    frames: dict[int, list[IODecl]] = {}
    for d in p.io:
        if not 0 <= d.frame < p.batch:
            raise AsmError(f".{d.kind} \"{d.name}\": frame must be in [0, {p.batch}) (batch {p.batch}), "
                           f"got {d.frame}", d.line)
        frames.setdefault(d.frame, []).append(d)
    ref = {_signature(d): d for d in frames.get(0, [])}
    for k in range(1, p.batch):
        got = {_signature(d): d for d in frames.get(k, [])}
        for sig, d in ref.items():
            if sig not in got:
                raise AsmError(f"frame {k} must declare {_io_text(d)} like frame 0, found no such declaration")
        for sig, d in got.items():
            if sig not in ref:
                raise AsmError(f"frame {k} declares {_io_text(d)}, which frame 0 does not", d.line)
    for i, a in enumerate(p.io):
        for b in p.io[i + 1:]:
            if a.frame != b.frame and a.at.space == b.at.space and \
                    a.at.address < b.at.address + b.nbytes and b.at.address < a.at.address + a.nbytes:
                raise AsmError(f".{b.kind} \"{b.name}\" of frame {b.frame} at {b.at} overlaps .{a.kind} "
                               f"\"{a.name}\" of frame {a.frame} at {a.at}: every frame needs buffers of its own",
                               b.line)


def _merged(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(spans):
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def _first_overlap(a: Sequence[tuple[int, int]], b: Sequence[tuple[int, int]]) -> tuple[int, int] | None:
    i = j = 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if lo < hi:
            return lo, hi
        if a[i][1] <= b[j][1]:
            i += 1
        else:
            j += 1
    return None


def _cross_core_waits(p: Program) -> bool:
    owner = {ins.signal: core for core, ins in p.instructions() if ins.signal is not None}
    return any(owner.get(t, core) != core for core, ins in p.instructions() if ins.op == "wait"
               for t in ins["tokens"])


def _check_cores_disjoint(p: Program) -> None:
    """Without cross-core tokens, the L2 / DDR bytes a core writes are touched by no other core."""
    if len(p.task_lists) < 2 or _cross_core_waits(p):
        return
    writes: dict[int, dict[str, list[tuple[int, int]]]] = {}
    touches: dict[int, dict[str, list[tuple[int, int]]]] = {}
    for core, lst in p.task_lists.items():
        w: dict[str, list[tuple[int, int]]] = {s: [] for s in SHARED_SPACES}
        t: dict[str, list[tuple[int, int]]] = {s: [] for s in SHARED_SPACES}
        for ins in lst:
            for a in accesses(ins):
                if a.at.space in SHARED_SPACES:
                    span = (a.at.address, a.at.address + a.size)
                    t[a.at.space].append(span)
                    if a.write:
                        w[a.at.space].append(span)
        writes[core] = {s: _merged(v) for s, v in w.items()}
        touches[core] = {s: _merged(v) for s, v in t.items()}
    for i in sorted(p.task_lists):
        for j in sorted(p.task_lists):
            if i == j:
                continue
            for s in SHARED_SPACES:
                hit = _first_overlap(writes[i][s], touches[j][s])
                if hit is None:
                    continue
                ins = next(x for x in p.task_lists[i] for a in accesses(x)
                           if a.write and a.at.space == s and a.at.address < hit[1] and hit[0] < a.at.address + a.size)
                raise AsmError(f"race between cores: {ins.describe()} of core {i} writes {s}:0x{hit[0]:x}..0x{hit[1]:x} "
                               f"that core {j} also accesses, with no cross-core token ordering them: expected "
                               f"bytes of its own per core", ins.line)


def check_batch(p: Program) -> None:
    """The checks of a batch (part of ``isa_checks.check_program``); raises :class:`AsmError`.

    * every I/O declaration's ``frame`` is in [0, batch), and every frame declares the same I/O as
      frame 0 (name, dtype, shapes, quantization) in bytes no other frame uses;
    * without cross-core tokens, no core touches the L2 / DDR bytes another core writes (the
      x task lists of a Batch-x program share only read-only constants).
    """
    _check_frames(p)
    _check_cores_disjoint(p)


# --------------------------------------------------------------------------------------------------
# the runtime's frame groups


def batch_groups(frames: int, batch: int) -> list[tuple[list[int], int]]:
    """Cut ``frames`` frames (>= 1) into executions of ``batch`` frames.

    Returns (frame index per core, number of real frames) per execution, in order. The last group
    of fewer than ``batch`` frames is padded by repeating its last real frame (a valid input for
    every model, so the padding cores compute something harmless); the padding's outputs are
    dropped. ``batch_groups(5, 4) == [([0, 1, 2, 3], 4), ([4, 4, 4, 4], 1)]``.
    """
    if batch < 1:
        raise ValueError(f"batch must be >= 1, got {batch}")
    out = []
    for g in range(0, frames, batch):
        real = min(batch, frames - g)
        out.append(([g + min(k, real - 1) for k in range(batch)], real))
    return out

