"""Cycle model of the AIPU: a list schedule of the instruction stream with the hardware figures.

Pure Python (no xdsl). :func:`estimate` takes a parsed :class:`~axc.runtime.isa.Program` and a
:class:`~axc.runtime.hardware.Hardware` and returns a :class:`CycleReport` for one execution (one
frame in Batch-1, ``batch`` frames in Batch-x).

The machine (docs/isa.md, "Cycle cost"):

* each core's sequencer issues one task-list entry every ``instruction_issue_cycles``; a ``wait``
  stops the issue until its tokens are signalled;
* an issued instruction goes to its unit's queue and starts when the unit is free:
  units per core are ``mvm``, ``dwpu``, ``dpu``, ``dma.core.ch0/1`` (core DMA, an L1 end) and, shared
  by the chip, ``dma.system.ch0/1`` (DDR <-> L2); units run concurrently, so a DMA overlaps compute
  wherever the waits allow it; an instruction signals its token when it ends;
* durations (``hw`` = the figures of runtime/hardware.py):

  - ``dma``: ``dma_setup_cycles + ceil(bytes / bw)``, bw = ``dma_ddr_bytes_per_cycle`` if an end is in
    DDR, else ``dma_l2_bytes_per_cycle``;
  - ``mvm``: per group, K = C/group x KH x KW rows and OCt/group columns are cut into weight sets of at
    most ``mvm_rows`` x ``mvm_cols``; every set is loaded (rows x cols bytes /
    ``weight_load_bytes_per_cycle``) and then every output pixel streams through it
    (``mvm_cycles_per_vector`` cycles). A single-set layer whose weights are still in the array (same
    address and shape as the previous ``mvm`` of the core, not overwritten by a DMA since) skips the
    load;
  - ``dwpu``: output pixels x PWORDs of output channels x KH x KW x 64 / ``dwpu_bytes_per_cycle``
    (dilations do not change it: a dilated window reads the same KH x KW taps);
  - ``dpu``: pixels x PWORDs x 64 / ``dpu_bytes_per_cycle``;
  - ``host`` / ``wait``: 0 AIPU cycles (host segments are listed separately).

Several cores (a Batch-x program's x task lists, and the ``instances`` Batch-1 copies of a program,
each simulated on cores of its own) run concurrently: the simulation always advances the core whose
sequencer is earliest, so shared resources are claimed in time order. Shared between the cores:

* the system DMA channels ``dma.system.ch0/1`` (one pair per chip);
* the DDR interface and the L2: each carries at most ``ddr_bytes_per_cycle /
  dma_ddr_bytes_per_cycle`` (resp. ``l2_bytes_per_cycle / dma_l2_bytes_per_cycle``) DMA transfers at
  a time (4 with the AIPU v1 figures); a DMA with an end in DDR (L2) starts only when the DDR (L2)
  has a free slot for its whole duration, otherwise it waits for the earliest one. One core has at
  most 4 DMA queues, so a single core never waits for a slot (Batch-1 cycles do not depend on it);
* not shared: each core's MVM / DWPU / DPU, core DMA channels and L1.

The execution time is the end of the last instruction on any core; ``fps = instances x batch x
frequency / cycles`` (Batch-1: one frame per execution; Batch-x: x frames, one per core).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from .hardware import AIPU_V1, PWORD_BYTES, Hardware
from .isa import Instr, Program, accesses, dma_bytes, dma_engine, pwords

__all__ = ["estimate", "CycleReport", "LayerCycles", "HostCall", "instruction_cycles"]


@dataclass
class LayerCycles:
    """Cycles of one layer (instructions with the same ``src``)."""

    name: str
    compute_cycles: int = 0  # busy cycles on mvm + dwpu + dpu
    dma_cycles: int = 0  # busy cycles on the DMA channels
    mvm_cycles: int = 0
    weight_load_cycles: int = 0  # part of mvm_cycles spent loading weight sets
    macs: int = 0  # useful multiply-accumulates (real channels)
    start: int = 0  # first start of an instruction of the layer
    end: int = 0  # last end
    instructions: int = 0
    compute_start: int | None = None  # first start of a compute instruction (the report's order)

    @property
    def span(self) -> int:
        return self.end - self.start

    def utilisation(self, hw: Hardware = AIPU_V1) -> float:
        """Useful MACs / (MVM busy cycles x MACs per cycle); 0 without MVM work."""
        return self.macs / (self.mvm_cycles * hw.macs_per_cycle) if self.mvm_cycles else 0.0


@dataclass
class HostCall:
    """A host segment call: it costs no AIPU cycles but stalls its core's dependants."""

    segment: int
    src: str
    core: int
    at: int  # cycle at which it runs (its inputs are ready)


@dataclass
class CycleReport:
    """What :func:`estimate` returns (one execution: ``batch`` frames, one per core).

    ``total_cycles`` is the time of one execution (each frame's latency); ``units`` the busy cycles
    of every unit of every simulated core; ``layers``, ``host_segments``, ``macs`` and
    ``mvm_cycles`` are those of one frame (the cores that run frame 0 of instance 0: the other
    cores run the same program on the other frames).
    """

    total_cycles: int
    frequency: int
    instances: int
    units: dict[str, int]  # busy cycles per unit ("core0.mvm", "core0.dma.core.ch0", "dma.system.ch1", ...)
    layers: list[LayerCycles]
    host_segments: list[HostCall]
    macs: int
    mvm_cycles: int
    hw: Hardware = field(default=AIPU_V1, repr=False)
    batch: int = 1  # frames per execution of one instance (Batch-x: x)
    cores: int = 1  # simulated cores: the program's cores x instances

    @property
    def mode(self) -> str:
        """``Batch-1`` or ``Batch-x``."""
        return f"Batch-{self.batch}"

    @property
    def frames_per_execution(self) -> int:
        return self.instances * self.batch

    @property
    def latency_s(self) -> float:
        return self.total_cycles / self.frequency

    @property
    def fps(self) -> float:
        """Frames per second of all instances together: instances x batch frames per execution."""
        return self.frames_per_execution * self.frequency / self.total_cycles if self.total_cycles else math.inf

    @property
    def mvm_utilisation(self) -> float:
        """Useful MACs / (MVM busy cycles x 32,768) of one frame."""
        return self.macs / (self.mvm_cycles * self.hw.macs_per_cycle) if self.mvm_cycles else 0.0

    @property
    def peak_fraction(self) -> float:
        """Useful MACs of the execution / (cycles x 32,768 x cores): the share of the peak achieved."""
        total = self.total_cycles * self.hw.macs_per_cycle * self.cores
        return self.macs * self.frames_per_execution / total if self.total_cycles else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "batch": self.batch,
            "cores": self.cores,
            "cycles_per_frame": self.total_cycles,  # latency: every frame takes one execution
            "cycles_per_execution": self.total_cycles,
            "frames_per_execution": self.frames_per_execution,
            "frequency_hz": self.frequency,
            "instances": self.instances,
            "fps": self.fps,
            "latency_ms": 1e3 * self.latency_s,
            "macs": self.macs,
            "mvm_utilisation": self.mvm_utilisation,
            "units": dict(self.units),
            "layers": [dict(asdict(layer), span=layer.span, utilisation=layer.utilisation(self.hw))
                       for layer in self.layers],
            "host_segments": [asdict(h) for h in self.host_segments],
        }

    def format(self) -> str:
        """A human-readable table (what ``ax-run --profile`` prints)."""
        frames = self.frames_per_execution
        runs = f"{self.instances} instance(s)" if self.batch == 1 else \
            f"{self.batch} frames per execution on {self.batch} cores"
        lines = [
            f"mode {self.mode} ({runs})",
            f"{'cycles/frame' if self.batch == 1 else 'cycles/execution'} {self.total_cycles:,}  latency {1e3 * self.latency_s:.3f} ms at "
            f"{self.frequency / 1e6:g} MHz  fps {self.fps:,.1f} ({frames} frame(s) per {self.total_cycles:,} "
            f"cycles)  MVM utilisation {100 * self.mvm_utilisation:.1f}%",
            f"{'layer':<32} {'compute':>12} {'dma':>12} {'mvm':>12} {'util':>7} {'span':>12}",
        ]
        for layer in self.layers:
            lines.append(f"{layer.name[:32]:<32} {layer.compute_cycles:>12,} {layer.dma_cycles:>12,} "
                         f"{layer.mvm_cycles:>12,} {100 * layer.utilisation(self.hw):>6.1f}% {layer.span:>12,}")
        for h in self.host_segments:
            lines.append(f"host segment {h.segment} ({h.src or '-'}) on core {h.core} at cycle {h.at:,}: 0 AIPU cycles")
        return "\n".join(lines)


def _ceil(a: int, b: int) -> int:
    return -(-a // b)


def mvm_cost(ins: Instr, hw: Hardware) -> tuple[int, int, int]:
    """(weight-load cycles, streaming cycles, useful MACs) of an ``mvm``."""
    oct_, cg, kh, kw = ins["w_shape"]
    group = ins["group"]
    k, ocg = cg * kh * kw, oct_ // group
    rows = [min(hw.mvm_rows, k - i) for i in range(0, k, hw.mvm_rows)]
    cols = [min(hw.mvm_cols, ocg - j) for j in range(0, ocg, hw.mvm_cols)]
    load = group * sum(_ceil(r * c, hw.weight_load_bytes_per_cycle) for r in rows for c in cols)
    ho, wo, _ = ins["out_shape"]
    stream = ho * wo * group * len(rows) * len(cols) * hw.mvm_cycles_per_vector
    c_real, oc_real = ins["channels"]
    macs = ho * wo * oc_real * _ceil(c_real, group) * kh * kw
    return load, stream, macs


def instruction_cycles(ins: Instr, hw: Hardware = AIPU_V1) -> int:
    """Duration of one instruction on its unit (the weight load of an ``mvm`` included)."""
    op = ins.op
    if op == "dma":
        bw = hw.dma_ddr_bytes_per_cycle if "ddr" in (ins["from"].space, ins["to"].space) else hw.dma_l2_bytes_per_cycle
        return hw.dma_setup_cycles + _ceil(dma_bytes(ins), bw)
    if op == "mvm":
        load, stream, _ = mvm_cost(ins, hw)
        return load + stream
    if op == "dwpu":
        ho, wo, _ = ins["out_shape"]
        kh, kw = ins["kernel"]
        return _ceil(ho * wo * pwords(ins["channels"][1]) * PWORD_BYTES * kh * kw, hw.dwpu_bytes_per_cycle)
    if op == "dpu":
        h, w, _ = ins["out_shape"]
        return _ceil(h * w * pwords(ins["channels"]) * PWORD_BYTES, hw.dpu_bytes_per_cycle)
    return 0


def _unit(core: int, ins: Instr) -> str:
    if ins.op == "dma":
        engine = dma_engine(ins)
        name = f"dma.{engine}.ch{ins['channel']}"
        return name if engine == "system" else f"core{core}.{name}"
    return f"core{core}.{ins.op}"


#: DMA queues of one core that can use the DDR / L2 at once: core DMA and system DMA, 2 channels each
_DMA_QUEUES_PER_CORE = 4


class _Link:
    """A shared interface (the DDR, the L2) that carries at most ``capacity`` DMA transfers at a
    time: reservations are (start, end) cycles; :meth:`earliest` finds the first start with a free
    slot for a whole transfer."""

    def __init__(self, capacity: int):
        self.capacity = max(1, capacity)
        self.spans: list[tuple[int, int]] = []

    def earliest(self, t: int, dur: int) -> int:
        """The first cycle >= ``t`` from which fewer than ``capacity`` reservations overlap every
        cycle of [t, t + dur). Only a reservation's end can make a later start possible, and the
        earliest end among those overlapping the window is the first candidate that can."""
        while True:
            over = [(a, b) for a, b in self.spans if a < t + dur and b > t]
            if len(over) < self.capacity or _peak(over, t, t + dur) < self.capacity:
                return t
            t = min(b for _, b in over)

    def reserve(self, t: int, dur: int) -> None:
        self.spans.append((t, t + dur))

    def prune(self, horizon: int) -> None:
        """Forget reservations that end by ``horizon`` (no later transfer starts before it)."""
        self.spans = [s for s in self.spans if s[1] > horizon]


def _peak(spans: list[tuple[int, int]], lo: int, hi: int) -> int:
    """The most spans covering one cycle of [lo, hi)."""
    events = sorted([(max(a, lo), 1) for a, _ in spans] + [(min(b, hi), -1) for _, b in spans],
                    key=lambda e: (e[0], e[1]))
    peak = cur = 0
    for _, d in events:
        cur += d
        peak = max(peak, cur)
    return peak


def _links_of(ins: Instr) -> list[str]:
    return sorted({ins["from"].space, ins["to"].space} & {"ddr", "l2"})


def _simulated_lists(program: Program) -> dict[int, list[Instr]]:
    """The task lists to simulate: the program's cores, and a copy of them (tokens renumbered) on
    cores of its own for every further Batch-1 instance."""
    lists = {c: list(program.task_lists[c]) for c in sorted(program.task_lists)}
    if program.instances == 1:
        return lists
    tokens = [ins.signal for _, ins in program.instructions() if ins.signal is not None]
    step = max(tokens, default=-1) + 1
    for i in range(1, program.instances):
        for c, lst in program.task_lists.items():
            copy = []
            for ins in lst:
                args = dict(ins.args)
                if ins.signal is not None:
                    args["signal"] = ins.signal + i * step
                if ins.op == "wait":
                    args["tokens"] = tuple(t + i * step for t in ins["tokens"])
                copy.append(Instr(ins.op, args, ins.line))
            lists[i * program.cores + c] = copy
    return lists


def estimate(program: Program, hw: Hardware | None = None) -> CycleReport:
    """Estimate the cycles of one execution of ``program`` (see the module docstring for the model).

    ``hw`` defaults to AIPU v1; the program's ``frequency``, ``instances`` and ``batch`` are used
    for fps. Raises ``ValueError`` if the task lists deadlock (a wait on a token that is never
    signalled).
    """
    hw = hw or AIPU_V1
    issue = hw.instruction_issue_cycles
    lists = _simulated_lists(program)
    reported = {0} if program.batch > 1 else set(range(program.cores))  # the cores of frame 0
    links = {"ddr": _Link(hw.ddr_bytes_per_cycle // hw.dma_ddr_bytes_per_cycle),
             "l2": _Link(hw.l2_bytes_per_cycle // hw.dma_l2_bytes_per_cycle)}
    contended = len(lists) > 1 or any(k.capacity < _DMA_QUEUES_PER_CORE for k in links.values())
    pc = {c: 0 for c in lists}
    seq = {c: 0 for c in lists}  # next issue cycle per core
    unit_free: dict[str, int] = {}
    busy: dict[str, int] = {}
    done: dict[int, int] = {}  # token -> cycle it is signalled
    resident: dict[int, tuple[Any, tuple[int, ...], int, int] | None] = {c: None for c in lists}
    layers: dict[str, LayerCycles] = {}
    hosts: list[HostCall] = []
    total_macs = total_mvm = 0
    end_all = 0
    steps = 0

    def ready(core: int) -> bool:
        ins = lists[core][pc[core]]
        return ins.op != "wait" or all(tok in done for tok in ins["tokens"])

    while True:
        live = [c for c in lists if pc[c] < len(lists[c])]
        if not live:
            break
        runnable = [c for c in live if ready(c)]
        if not runnable:
            raise ValueError("the task lists deadlock: " + ", ".join(
                f"core {c} waits for {list(lists[c][pc[c]]['tokens'])}" for c in live))
        core = min(runnable, key=lambda c: (seq[c], c))  # the earliest sequencer goes next
        ins = lists[core][pc[core]]
        pc[core] += 1
        t = seq[core]
        if ins.op == "wait":
            seq[core] = max(t, *(done[tok] for tok in ins["tokens"])) + issue
            continue
        seq[core] = t + issue
        unit = _unit(core, ins)
        start = max(t + issue, unit_free.get(unit, 0))
        dur = instruction_cycles(ins, hw)
        if ins.op == "dma" and contended:
            shared = [links[s] for s in _links_of(ins)]
            while shared:  # the first start with a free slot on every link the transfer uses
                moved = max(k.earliest(start, dur) for k in shared)
                if moved == start:
                    break
                start = moved
            for k in shared:
                k.reserve(start, dur)
            steps += 1
            if steps % 64 == 0:  # every later transfer starts after some live sequencer's next issue
                horizon = min(seq[c] for c in live)
                for k in links.values():
                    k.prune(horizon)
        macs = load = 0
        if ins.op == "mvm":
            load, stream, macs = mvm_cost(ins, hw)
            key = (ins["w"], tuple(ins["w_shape"]))
            single = load and stream == ins["out_shape"][0] * ins["out_shape"][1] * hw.mvm_cycles_per_vector
            r = resident[core]
            if single and r is not None and r[:2] == key:
                dur -= load
                load = 0
            resident[core] = (*key, ins["w"].address, ins["w"].address + prod_w(ins)) if single else None
        elif ins.op == "dma" and ins["to"].space == "l1" and resident[core] is not None:
            r = resident[core]
            to = [a for a in accesses(ins) if a.write][0]
            if to.at.address < r[3] and r[2] < to.at.address + to.size:
                resident[core] = None
        end = start + dur
        if ins.op != "host":
            unit_free[unit] = end
            busy[unit] = busy.get(unit, 0) + dur
        if ins.signal is not None:
            done[ins.signal] = end
        end_all = max(end_all, end)
        if core not in reported:
            continue
        if ins.op == "host":
            hosts.append(HostCall(ins["segment"], ins.src, core, start))
        name = ins.src or f"<{ins.op}>"
        layer = layers.get(name)
        if layer is None:
            layer = layers[name] = LayerCycles(name, start=start, end=end)
        layer.start, layer.end = min(layer.start, start), max(layer.end, end)
        layer.instructions += 1
        if ins.op == "dma":
            layer.dma_cycles += dur
        elif ins.op in ("mvm", "dwpu", "dpu", "host"):
            layer.compute_cycles += dur
            if layer.compute_start is None:
                layer.compute_start = start
        if ins.op == "mvm":
            layer.mvm_cycles += dur
            layer.weight_load_cycles += load
            layer.macs += macs
            total_macs += macs
            total_mvm += dur
    end_all = max([end_all, *seq.values()])
    return CycleReport(total_cycles=end_all, frequency=program.frequency, instances=program.instances,
                       units=busy, host_segments=hosts, macs=total_macs,
                       layers=sorted(layers.values(), key=lambda x: (x.start if x.compute_start is None
                                                                      else x.compute_start)),
                       mvm_cycles=total_mvm, hw=hw, batch=program.batch, cores=len(lists))


def prod_w(ins: Instr) -> int:
    oct_, cg, kh, kw = ins["w_shape"]
    return oct_ * cg * kh * kw
