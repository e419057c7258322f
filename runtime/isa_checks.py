"""Semantic checks of AIPU programs (:mod:`axc.runtime.isa`): operands, shapes, memory ranges,
tokens, races within a core and the batch (:func:`axc.runtime.multicore.check_batch`).

Pure Python (no xdsl). The dialect verifiers and the assembly reader call :func:`check_program` /
:func:`check_instr` / :func:`check_hostbuf`; every failure is an :class:`~axc.runtime.isa.AsmError`
with an expected-vs-found message (and the assembly line when known).
"""

from __future__ import annotations

import math

from .int_kernels import output_size
from .isa import (
    INT8_MAX,
    INT8_MIN,
    ISA,
    SPACES,
    AsmError,
    HostBuffer,
    IODecl,
    Instr,
    Mem,
    Program,
    RangeTracker,
    accesses,
    channels_of,
    default_memory,
    dma_engine,
    is_logical,
    LOGICAL_DTYPES,
    stored_shape,
)
from .multicore import check_batch

__all__ = ["check_instr", "check_program", "check_hostbuf", "check_sync", "unit_of"]


def _err(ins: Instr, msg: str) -> AsmError:
    return AsmError(f"{ins.describe()} {msg}", ins.line)


def _check_mem(ins: Instr | None, what: str, at: Mem, size: int, memory: dict[str, int], line: int = 0) -> None:
    def fail(msg: str) -> AsmError:
        return _err(ins, msg) if ins is not None else AsmError(msg, line)

    if at.space not in SPACES:
        raise fail(f"{what}: memory space must be one of {list(SPACES)}, got '{at.space}'")
    if at.address < 0:
        raise fail(f"{what}: address must be >= 0, got {at.address}")
    limit = memory.get(at.space, 0)
    if at.address + size > limit:
        raise fail(f"{what}: {size} bytes at {at} must end within the {at.space} size {limit} "
                   f"(0x{limit:x}), got end 0x{at.address + size:x}")


def _int8(ins: Instr, name: str) -> None:
    v = ins[name]
    if not INT8_MIN <= v <= INT8_MAX:
        raise _err(ins, f"{name} must be in [-128, 127], got {v}")


def _clamp(ins: Instr) -> None:
    lo, hi = ins["clamp"]
    if not INT8_MIN <= lo <= hi <= INT8_MAX:
        raise _err(ins, f"clamp must satisfy -128 <= lo <= hi <= 127, got [{lo}, {hi}]")


def _window(ins: Instr, kernel: tuple[int, int], ceil_mode: bool) -> None:
    h, w, _ = ins["in_shape"]
    (sh, sw), (dh, dw), (pt, pl, pb, pr) = ins["strides"], ins["dilations"], ins["pads"]
    if min(sh, sw, dh, dw) < 1 or min(kernel) < 1:
        raise _err(ins, f"kernel, strides and dilations must be >= 1, got kernel {list(kernel)}, "
                        f"strides [{sh}, {sw}], dilations [{dh}, {dw}]")
    if min(pt, pl, pb, pr) < 0:
        raise _err(ins, f"pads must be >= 0, got {list(ins['pads'])}")
    try:
        ho = output_size(h, kernel[0], sh, pt, pb, dh, ceil_mode)
        wo = output_size(w, kernel[1], sw, pl, pr, dw, ceil_mode)
    except ValueError as e:
        raise _err(ins, f"window does not fit: {e}") from None
    oh, ow, _ = ins["out_shape"]
    if (oh, ow) != (ho, wo):
        raise _err(ins, f"out_shape must be [{ho}, {wo}, _] for in_shape {list(ins['in_shape'])} and "
                        f"kernel {list(kernel)}, got {list(ins['out_shape'])}")


def check_instr(ins: Instr, memory: dict[str, int] | None = None) -> None:
    """Semantic checks of one instruction (operands present, shapes consistent, memory in range).

    Raises :class:`AsmError` naming the instruction, what was expected and what was found.
    """
    memory = default_memory() if memory is None else memory
    spec = ISA.get(ins.op)
    if spec is None:
        raise AsmError(f"unknown instruction '{ins.op}', expected one of {sorted(ISA)}", ins.line)
    for o in spec.values():
        v = ins.args.get(o.name)
        if v is None:
            if o.required:
                raise _err(ins, f"needs operand '{o.name}'")
            continue
        if o.kind == "ints" and o.lengths and len(v) not in o.lengths:
            raise _err(ins, f"{o.name} must have {' or '.join(map(str, o.lengths))} values, got {len(v)}")
        if o.kind == "word" and v not in o.words:
            raise _err(ins, f"{o.name} must be one of {list(o.words)}, got '{v}'")
    if ins.signal is not None and ins.signal < 0:
        raise _err(ins, f"signal must be a token id >= 0, got {ins.signal}")
    getattr(_Checks, "check_" + ins.op)(ins)
    for acc in accesses(ins):
        _check_mem(ins, acc.role, acc.at, acc.size, memory)


class _Checks:
    @staticmethod
    def check_dma(ins: Instr) -> None:
        sizes = ins["sizes"]
        for name in ("from_strides", "to_strides"):
            if len(ins[name]) != len(sizes) - 1:
                raise _err(ins, f"{name} must have {len(sizes) - 1} values (one per outer dim of sizes "
                                f"{list(sizes)}), got {len(ins[name])}")
            if any(s < 0 for s in ins[name]):
                raise _err(ins, f"{name} must be >= 0, got {list(ins[name])}")
        if any(s < 1 for s in sizes):
            raise _err(ins, f"sizes must be >= 1, got {list(sizes)}")
        if ins["channel"] not in (0, 1):
            raise _err(ins, f"channel must be 0 or 1, got {ins['channel']}")

    @staticmethod
    def check_mvm(ins: Instr) -> None:
        for role in ("in", "w", "table", "out"):
            if ins[role].space != "l1":
                raise _err(ins, f"{role} must be in l1, got {ins[role].space}")
        oct_, cg, kh, kw = ins["w_shape"]
        group = ins["group"]
        c_real, oc_real = ins["channels"]
        if min(oct_, cg, kh, kw) < 1:
            raise _err(ins, f"w_shape must be positive, got {list(ins['w_shape'])}")
        if group < 1 or oct_ % group:
            raise _err(ins, f"w_shape[0] ({oct_}) must be a multiple of group ({group})")
        if cg * group > ins["in_shape"][2]:
            raise _err(ins, f"in_shape[2] must be >= C/group x group = {cg * group}, got {ins['in_shape'][2]}")
        if not 1 <= c_real <= cg * group:
            raise _err(ins, f"channels[0] must be in [1, {cg * group}], got {c_real}")
        if not 1 <= oc_real <= min(oct_, ins["out_shape"][2]):
            raise _err(ins, f"channels[1] must be in [1, {min(oct_, ins['out_shape'][2])}] (w_shape[0] "
                            f"and out_shape[2]), got {oc_real}")
        _int8(ins, "in_zp")
        _int8(ins, "out_zp")
        _clamp(ins)
        _window(ins, (kh, kw), False)

    @staticmethod
    def check_dwpu(ins: Instr) -> None:
        for role in ("in", "out", "w", "table"):
            if ins.get(role) is not None and ins[role].space != "l1":
                raise _err(ins, f"{role} must be in l1, got {ins[role].space}")
        c_in, c_out = ins["channels"]
        kind = ins["op"]
        if not 1 <= c_in <= ins["in_shape"][2]:
            raise _err(ins, f"channels[0] must be in [1, {ins['in_shape'][2]}], got {c_in}")
        if not 1 <= c_out <= ins["out_shape"][2]:
            raise _err(ins, f"channels[1] must be in [1, {ins['out_shape'][2]}], got {c_out}")
        if kind == "dwconv":
            for name in ("w", "w_shape", "table"):
                if ins.get(name) is None:
                    raise _err(ins, f"op=dwconv needs operand '{name}'")
            oc, one, kh, kw = ins["w_shape"]
            if one != 1 or oc < c_out or (kh, kw) != tuple(ins["kernel"]):
                raise _err(ins, f"w_shape must be [>={c_out}, 1, {ins['kernel'][0]}, {ins['kernel'][1]}], "
                                f"got {list(ins['w_shape'])}")
            if c_out % c_in:
                raise _err(ins, f"channels[1] ({c_out}) must be a multiple of channels[0] ({c_in})")
            if ins["ceil_mode"]:
                raise _err(ins, "op=dwconv must have ceil_mode=0")
        else:
            if c_in != c_out:
                raise _err(ins, f"op={kind} needs channels[0] == channels[1], got {list(ins['channels'])}")
            if kind == "avgpool":
                if ins.get("multipliers") is None:
                    raise _err(ins, "op=avgpool needs operand 'multipliers'")
                if any(not 0 <= m < 2**31 for m in ins["multipliers"]):
                    raise _err(ins, "multipliers must be in [0, 2^31)")
                if not 0 <= ins["shift"] <= 62:
                    raise _err(ins, f"shift must be in [0, 62], got {ins['shift']}")
        _int8(ins, "in_zp")
        _int8(ins, "out_zp")
        _clamp(ins)
        _window(ins, tuple(ins["kernel"]), bool(ins["ceil_mode"]))

    @staticmethod
    def check_dpu(ins: Instr) -> None:
        kind = ins["op"]
        need = ("a", "b") if kind in ("add", "mul") else ("in",)
        for name in need:
            for n in (name, name + "_shape"):
                if ins.get(n) is None:
                    raise _err(ins, f"op={kind} needs operand '{n}'")
        for name in ("a", "b", "in"):
            if name not in need and ins.get(name) is not None:
                raise _err(ins, f"op={kind} takes no operand '{name}'")
        if (kind == "lut") != (ins.get("table") is not None):
            raise _err(ins, "op=lut needs operand 'table'" if kind == "lut" else f"op={kind} takes no operand 'table'")
        for name in ("a", "b", "in", "out", "table"):
            if ins.get(name) is not None and ins[name].space != "l1":
                raise _err(ins, f"{name} must be in l1, got {ins[name].space}")
        hw = tuple(ins["out_shape"][:2])
        for name in need:
            if tuple(ins[name + "_shape"][:2]) != hw and not (kind == "mul" and name == "b"
                                                               and tuple(ins["b_shape"][:2]) == (1, 1)):
                raise _err(ins, f"{name}_shape must be [{hw[0]}, {hw[1]}, _] (the H x W of out_shape), "
                                f"got {list(ins[name + '_shape'])}")
        cmax = min(ins[n + "_shape"][2] for n in (*need, "out"))
        if not 1 <= ins["channels"] <= cmax:
            raise _err(ins, f"channels must be in [1, {cmax}] (the stored channels), got {ins['channels']}")
        for name in ("a_zp", "b_zp", "in_zp", "out_zp"):
            _int8(ins, name)
        for name in ("a_mult", "b_mult", "mult"):
            if not 0 <= ins[name] < 2**31:
                raise _err(ins, f"{name} must be in [0, 2^31), got {ins[name]}")
        if not 0 <= ins["shift"] <= 62:
            raise _err(ins, f"shift must be in [0, 62], got {ins['shift']}")
        _clamp(ins)

    @staticmethod
    def check_wait(ins: Instr) -> None:
        if not ins["tokens"]:
            raise _err(ins, "must wait for at least one token")
        if any(t < 0 for t in ins["tokens"]):
            raise _err(ins, f"tokens must be >= 0, got {list(ins['tokens'])}")

    @staticmethod
    def check_host(ins: Instr) -> None:
        if ins["segment"] < 0:
            raise _err(ins, f"segment must be >= 0, got {ins['segment']}")
        for which in ("inputs", "outputs"):
            for i, b in enumerate(ins[which]):
                check_hostbuf(b, f"{ins.describe()} {which}[{i}]", ins.line)


def check_hostbuf(b: HostBuffer | IODecl, what: str, line: int = 0) -> None:
    """dtype i8: a valid quantization and a stored HWC shape that holds the logical shape (channels
    padded); dtype f32: stored == shape (``[]`` for a 0-d tensor, one element)."""
    if b.dtype != "i8" and not is_logical(b.dtype):
        raise AsmError(f"{what}: dtype must be i8 or one of {', '.join(LOGICAL_DTYPES)}, got {b.dtype}", line)
    if not b.shape and not is_logical(b.dtype):
        raise AsmError(f"{what}: a 0-d (scalar) buffer must hold its tensor (f32, i64, ...), got {b.dtype}", line)
    if b.shape and min(b.shape) < 1:
        raise AsmError(f"{what}: shape must be positive, got {list(b.shape)}", line)
    if is_logical(b.dtype):
        if tuple(b.stored) != tuple(b.shape):
            raise AsmError(f"{what}: an {b.dtype} buffer is stored in its logical shape {list(b.shape)}, got "
                           f"stored {list(b.stored)}", line)
        return
    if not b.scale > 0 or not math.isfinite(b.scale):
        raise AsmError(f"{what}: scale must be > 0, got {b.scale}", line)
    if not INT8_MIN <= b.zp <= INT8_MAX:
        raise AsmError(f"{what}: zp must be in [-128, 127], got {b.zp}", line)
    cs = b.stored[-1] if b.stored else 0
    want = stored_shape(b.shape, cs)
    if tuple(b.stored) != want or cs < channels_of(b.shape):
        raise AsmError(f"{what}: stored shape must be {list(stored_shape(b.shape, channels_of(b.shape)))} "
                       f"(HWC, channels may be padded) for logical shape {list(b.shape)}, got {list(b.stored)}",
                       line)


def check_program(p: Program) -> None:
    """Whole-program checks: header, every instruction, data and I/O in range, token discipline,
    the batch (:func:`axc.runtime.multicore.check_batch`: every frame declares the same I/O in
    bytes of its own; cores share no written L2 / DDR bytes unless cross-core tokens order them).

    Tokens: a token id is signalled by at most one instruction of the program; a ``wait`` may only
    name a token signalled earlier in its own task list, or by another core's task list (the
    sequencer of a core is in order: waiting for a later signal of the same core deadlocks).
    """
    if p.cores < 1:
        raise AsmError(f"cores must be >= 1, got {p.cores}")
    if not 1 <= p.frequency <= 10**10:
        raise AsmError(f"frequency must be a positive number of Hz, got {p.frequency}")
    if p.instances < 1:
        raise AsmError(f"instances must be >= 1, got {p.instances}")
    if not 1 <= p.batch <= p.cores:
        raise AsmError(f"batch must be in [1, cores = {p.cores}] (one frame per core), got {p.batch}")
    for s in SPACES:
        if p.memory.get(s, -1) < 0:
            raise AsmError(f"memory size of {s} must be >= 0, got {p.memory.get(s)}")
    if sorted(p.task_lists) != list(range(p.cores)):
        raise AsmError(f"task lists must be for cores {list(range(p.cores))}, got {sorted(p.task_lists)}")
    spans: list[tuple[str, int, int, str, int]] = []
    for d in p.data:
        _check_mem(None, f".data \"{d.name}\"", d.at, d.size, p.memory, d.line)
        if d.offset < 0 or d.size < 0:
            raise AsmError(f".data \"{d.name}\": offset and size must be >= 0, got {d.offset}, {d.size}", d.line)
        spans.append((d.at.space, d.at.address, d.at.address + d.size, d.name, d.line))
    spans.sort()
    for (s0, _, e0, n0, _), (s1, b1, _, n1, l1) in zip(spans, spans[1:]):
        if s0 == s1 and b1 < e0:
            raise AsmError(f".data \"{n1}\" overlaps .data \"{n0}\" in {s0} (starts at 0x{b1:x}, "
                           f"expected >= 0x{e0:x})", l1)
    names: dict[tuple, IODecl] = {}
    for d in p.io:
        frame = f" of frame {d.frame}" if d.frame else ""
        if (d.frame, d.kind, d.name, d.dtype) in names:
            raise AsmError(f".{d.kind} \"{d.name}\" ({d.dtype}){frame} is declared twice", d.line)
        first = names.get((d.frame, d.kind, d.name))
        if first is not None and (first.shape != d.shape or d.kind == "output"):
            raise AsmError(f".{d.kind} \"{d.name}\"{frame} is declared twice (an input may have one i8 and one "
                           f"f32 buffer of the same shape)", d.line)
        names[(d.frame, d.kind, d.name)] = d
        names[(d.frame, d.kind, d.name, d.dtype)] = d
        check_hostbuf(d, f".{d.kind} \"{d.name}\"", d.line)
        _check_mem(None, f".{d.kind} \"{d.name}\"", d.at, d.nbytes, p.memory, d.line)
    where: dict[int, tuple[int, int]] = {}  # token -> (core, index in its task list)
    for core, lst in sorted(p.task_lists.items()):
        for i, ins in enumerate(lst):
            check_instr(ins, p.memory)
            if ins.signal is None:
                continue
            if ins.signal in where:
                c0, i0 = where[ins.signal]
                raise AsmError(f"{ins.describe()} signals token {ins.signal}, expected a fresh id: already "
                               f"signalled by {p.task_lists[c0][i0].describe()} (line {p.task_lists[c0][i0].line})",
                               ins.line)
            where[ins.signal] = (core, i)
    for core, lst in p.task_lists.items():
        for i, ins in enumerate(lst):
            if ins.op != "wait":
                continue
            for t in ins["tokens"]:
                w = where.get(t)
                if w is None:
                    raise AsmError(f"'wait' waits for token {t}, which no instruction signals", ins.line)
                if w[0] == core and w[1] > i:
                    raise AsmError(f"'wait' waits for token {t} before it is signalled: expected the "
                                   f"signal before line {ins.line or i}, found it at line "
                                   f"{lst[w[1]].line or w[1]}", ins.line)
    check_sync(p)
    check_batch(p)


def unit_of(ins: Instr) -> str:
    """The in-order unit (queue) of one core an instruction runs on."""
    if ins.op == "dma":
        return f"dma.{dma_engine(ins)}.ch{ins['channel']}"
    return ins.op


def _where(core: int, ins: Instr, pos: int) -> str:
    return f"line {ins.line}" if ins.line else f"instruction {pos} of core {core}"


def _conflict(ins: Instr, other: Instr) -> str:
    """``writes l1:0x100..0x140 that 'mvm' reads``: the first overlap of two instructions."""
    for a in accesses(ins):
        for b in accesses(other):
            if a.at.space == b.at.space and (a.write or b.write):
                lo, hi = max(a.at.address, b.at.address), min(a.at.address + a.size, b.at.address + b.size)
                if lo < hi:
                    verb = "writes" if a.write else "reads"
                    other_verb = "writes" if b.write else "reads"
                    return f"{verb} {a.at.space}:0x{lo:x}..0x{hi:x} that {other.describe()} {other_verb}"
    return f"conflicts with {other.describe()}"


def check_sync(p: Program) -> None:
    """Every pair of instructions of a core that touch the same bytes (one of them writing) must be
    ordered: the later one starts only after the earlier one ends.

    Ordering comes from the in-order units (an instruction starts after the previous one of its
    unit ends) and from waits (everything issued after a ``wait`` starts after the waited
    instructions end), transitively. Tracked per core (L1 is per core; cross-core accesses to
    DDR / L2 must be ordered by cross-core tokens and are not checked). The end of a task list is
    an implicit fence (the frame is over when every unit is idle). Raises :class:`AsmError` naming
    both instructions.
    """
    for core, lst in p.task_lists.items():
        seq: dict[str, int] = {}  # unit -> highest instruction number known complete at issue
        last_done: dict[str, dict[str, int]] = {}
        count: dict[str, int] = {}
        done_of: dict[int, dict[str, int]] = {}
        who: list[tuple[str, int, Instr, int]] = []
        tracker = RangeTracker()
        for pos, ins in enumerate(lst):
            if ins.op == "wait":
                for t in ins["tokens"]:
                    for u, n in done_of.get(t, {}).items():
                        seq[u] = max(seq.get(u, -1), n)
                continue
            u = unit_of(ins)
            n = count.get(u, 0)
            count[u] = n + 1
            start = dict(seq)
            for v, m in last_done.get(u, {}).items():
                start[v] = max(start.get(v, -1), m)
            reads, writes = [], []
            for a in accesses(ins):
                (writes if a.write else reads).append((a.at.space, a.at.address, a.at.address + a.size))
            for other in sorted(tracker.depend(len(who), reads, writes)):
                ou, on, oins, opos = who[other]
                if start.get(ou, -1) < on:
                    there, here = _where(core, oins, opos), _where(core, ins, pos)
                    raise AsmError(f"race: {ins.describe()} {_conflict(ins, oins)} ({there}) with nothing "
                                   f"ordering them: expected a wait for the token of {there} before {here}",
                                   ins.line)
            who.append((u, n, ins, pos))
            done = dict(start)
            done[u] = n
            last_done[u] = done
            if ins.signal is not None:
                done_of[ins.signal] = done
