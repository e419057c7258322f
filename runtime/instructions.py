"""Decoding AIPU instructions into callables bound to an executor's memories (docs/isa.md semantics).

An :class:`~axc.runtime.executor.Executor` keeps its memories (DDR, L2, one L1 per core) as numpy
byte arrays that live as long as it does, so every operand of an instruction is a fixed view of
them. :func:`decode` builds those views once, plans the kernel (a
:class:`~axc.runtime.conv_kernels.Conv2dPlan` with its scratch buffers, the int64 requantization
buffer) and returns a callable that runs the instruction on whatever the memories hold when it is
called. A frame is then one call per instruction, with no operand decoding and no allocation on the
convolution path.

Weights are read from memory at every call, as the hardware does; their re-layout for the kernels
(:func:`~axc.runtime.conv_kernels.prepare_conv2d_weights`) is cached in a :class:`WeightPool` and
reused while the bytes in memory are equal to the ones it was made from.

Errors: ``ValueError`` / ``IndexError`` from building the views or from a kernel propagate; the
executor turns them into ``ExecutionError`` naming the instruction and its assembly line.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np
from numpy.lib.stride_tricks import as_strided

from . import int_kernels as ik
from .isa import HostBuffer, Instr, Mem, is_logical, numpy_dtype_of, prod
from .quantization import Requantizer, dequantize, quantize

if TYPE_CHECKING:
    from .executor import Executor

__all__ = ["decode", "WeightPool"]

Run = Callable[[], None]


class WeightPool:
    """Prepared convolution weights by memory location, each reused while the memory holds the same
    bytes.

    A location (core, address, shape, group) may hold different weights over a frame (output-channel
    tiles that share one L1 buffer); the pool keeps one prepared copy per distinct content, and each
    caller first checks the entry it used last, so height tiles that share weights cost one
    comparison and no re-layout.
    """

    def __init__(self) -> None:
        self._entries: dict[tuple, list[tuple[bytes, ik.ConvWeights]]] = {}

    def reader(self, key: tuple, w: np.ndarray, group: int) -> Callable[[], ik.ConvWeights]:
        """A function giving the :class:`~axc.runtime.conv_kernels.ConvWeights` of what the view
        ``w`` (int8 [OC, C/group, KH, KW]) holds now; ``key`` names its location."""
        entries = self._entries.setdefault(key, [])
        last: list[tuple[bytes, ik.ConvWeights] | None] = [None]

        def read() -> ik.ConvWeights:
            now = w.tobytes()  # a memcpy and a memcmp: cheaper than np.array_equal's passes
            hit = last[0]
            if hit is not None and hit[0] == now:
                return hit[1]
            for entry in entries:
                if entry[0] == now:
                    last[0] = entry
                    return entry[1]
            entry = (now, ik.prepare_conv2d_weights(w, group))
            entries.append(entry)
            last[0] = entry
            return entry[1]

        return read


def decode(ex: Executor, core: int, ins: Instr) -> Run | None:
    """The callable that runs ``ins`` on ``core`` of ``ex`` (None for ``wait``, which the executor's
    scheduler handles). Raises ``ValueError`` / ``IndexError`` for operands that do not fit."""
    if ins.op == "wait":
        return None
    return _DECODERS[ins.op](ex, core, ins)


def _strided(ex: Executor, core: int, at: Mem, sizes: tuple[int, ...], strides: Sequence[int],
             writeable: bool) -> np.ndarray:
    base = ex.memory(core, at.space)
    need = at.address + sum((n - 1) * s for n, s in zip(sizes, tuple(strides) + (1,), strict=True)) + 1
    if min(sizes, default=1) > 0 and need > base.size:
        raise IndexError(f"box reaches byte {need} of {at.space}, which has {base.size}")
    return as_strided(base[at.address:], shape=sizes, strides=tuple(strides) + (1,), writeable=writeable)


def _dma(ex: Executor, core: int, ins: Instr) -> Run:
    sizes = tuple(ins["sizes"])
    src = _strided(ex, core, ins["from"], sizes, ins["from_strides"], False)
    dst = _strided(ex, core, ins["to"], sizes, ins["to_strides"], True)
    return lambda: np.copyto(dst, src)


def _check_operands(plan: ik.Conv2dPlan, x: np.ndarray, w: np.ndarray, bias: np.ndarray) -> None:
    """Check once that the fixed operand views fit the plan, so every frame can use
    ``run_unchecked``. Raises ``ValueError``."""
    if x.dtype != np.int8 or x.shape != plan.in_shape or w.dtype != np.int8 or w.shape != plan.weight_shape \
            or bias.dtype != np.int32 or bias.shape != (plan.weight_shape[0],):
        raise ValueError(f"operands {x.dtype}{list(x.shape)}, weights {w.dtype}{list(w.shape)}, bias "
                         f"{bias.dtype}{list(bias.shape)} do not fit the convolution {plan.in_shape} -> "
                         f"{plan.out_shape} (weights {list(plan.weight_shape)} group {plan.group})")


def _conv(ex: Executor, core: int, ins: Instr, x: np.ndarray, w: np.ndarray, table: np.ndarray, group: int,
          out: np.ndarray) -> Run:
    """A convolution instruction (``mvm``, or ``dwpu op=dwconv``): int8 ``x`` [H, W, C], weights ``w``
    [OC, C/group, KH, KW], ``table`` int32 [3, OC] (bias, multipliers, shifts) and the int8 view
    ``out`` [Ho, Wo, OC'] that receives the first OC' <= OC channels, requantized."""
    plan = ik.Conv2dPlan(*x.shape, w.shape, group, ins["in_zp"], ins["strides"], ins["pads"], ins["dilations"])
    if out.shape[:2] != plan.out_shape[:2]:
        raise ValueError(f"output buffer is {list(out.shape[:2])} pixels, the convolution gives "
                         f"{list(plan.out_shape[:2])}")
    _check_operands(plan, x, w, table[0])
    weights = ex.weights.reader((core, ins["w"], w.shape, group), w, group)
    oc = out.shape[2]
    rq = Requantizer(out.shape, ins["out_zp"], *ins["clamp"])  # owns its work buffer
    bias, m, s = table[0], table[1, :oc], table[2, :oc]
    if oc == plan.out_shape[2]:
        return lambda: rq(plan.run_unchecked(x, weights(), bias), m, s, out)
    return lambda: rq(plan.run_unchecked(x, weights(), bias)[:, :, :oc], m, s, out)


def _mvm(ex: Executor, core: int, ins: Instr) -> Run:
    oct_, cg, _, _ = ins["w_shape"]
    group, oc = ins["group"], ins["channels"][1]
    x = ex.view(core, ins["in"], ins["in_shape"])[:, :, : cg * group]
    w = ex.view(core, ins["w"], ins["w_shape"])
    table = ex.view(core, ins["table"], (3, oct_), np.int32)
    out = ex.view(core, ins["out"], ins["out_shape"])[:, :, :oc]
    return _conv(ex, core, ins, x, w, table, group, out)


def _dwpu(ex: Executor, core: int, ins: Instr) -> Run:
    c_in, c_out = ins["channels"]
    x = ex.view(core, ins["in"], ins["in_shape"])[:, :, :c_in]
    out = ex.view(core, ins["out"], ins["out_shape"])[:, :, :c_out]
    lo, hi = ins["clamp"]
    kind = ins["op"]
    if kind == "dwconv":
        oc = ins["w_shape"][0]
        w = ex.view(core, ins["w"], ins["w_shape"])[:c_out]
        table = ex.view(core, ins["table"], (3, oc), np.int32)[:, :c_out]
        return _conv(ex, core, ins, x, w, table, c_in, out)
    if kind == "maxpool":
        pool = ik.MaxPoolPlan(*x.shape, ins["kernel"], ins["strides"], ins["pads"], bool(ins["ceil_mode"]),
                              ins["dilations"])
        if out.shape != pool.out_shape:
            raise ValueError(f"output buffer holds {list(out.shape)}, the pooling gives {list(pool.out_shape)}")
        if (lo, hi) == (-128, 127):
            return lambda: pool.run(x, out)
        return lambda: np.clip(pool.run(x, out), lo, hi, out=out)
    args = (ins["in_zp"], ins["kernel"], ins["strides"], ins["pads"], bool(ins["count_include_pad"]),
            bool(ins["ceil_mode"]), ins["multipliers"], ins["shift"], ins["out_zp"], lo, hi, ins["dilations"])
    return lambda: np.copyto(out, ik.avg_pool(x, *args))


def _dpu(ex: Executor, core: int, ins: Instr) -> Run:
    c = ins["channels"]
    lo, hi = ins["clamp"]

    def operand(name: str) -> np.ndarray:
        return ex.view(core, ins[name], ins[name + "_shape"])[:, :, :c]

    out = operand("out")
    kind = ins["op"]
    if kind == "add":
        a, b = operand("a"), operand("b")
        adder = ik.QuantizedAdder(out.shape, *(ins[k] for k in ("a_zp", "a_mult", "b_zp", "b_mult", "shift",
                                                                "out_zp")), lo, hi)
        return lambda: adder(a, b, out)
    if kind == "mul":
        a = operand("a")
        b = ex.view(core, ins["b"], ins["b_shape"])[:, :, :c]
        args = (ins["a_zp"], ins["b_zp"], ins["mult"], ins["shift"], ins["out_zp"], lo, hi)
        return lambda: ik.mul(a, args[0], b, *args[1:], out=out)
    x = operand("in")
    if kind == "lut":
        table = ex.view(core, ins["table"], (256,))
        return lambda: ik.lut(x, table, out)
    if kind == "requantize":
        args = (ins["in_zp"], ins["mult"], ins["shift"], ins["out_zp"], lo, hi)
        return lambda: np.copyto(out, ik.requantize_int8(x, *args))
    return lambda: np.copyto(out, np.clip(x, lo, hi), casting="unsafe")


def _host(ex: Executor, core: int, ins: Instr) -> Run:
    index = ins["segment"]
    seg = ex.host_segments.get(index)
    if seg is None:
        raise ValueError(f"host segment {index} is not loaded (have {sorted(ex.host_segments)})")
    ins_bufs: Sequence[HostBuffer] = ins["inputs"]
    outs: Sequence[HostBuffer] = ins["outputs"]
    quants = {(b.dtype, b.scale, b.zp) for b in [*ins_bufs, *outs]}
    # reshapes / transposes between buffers of one quantization move the int8 values as they are
    # (bit-identical to dequantize -> segment -> quantize, see HostSegment.moves_data_only)
    as_int8 = seg.moves_data_only and len(quants) == 1 and next(iter(quants))[0] == "i8"

    def read(b: HostBuffer) -> np.ndarray:
        x = ex.read_logical(core, b)
        return x if as_int8 or is_logical(b.dtype) else dequantize(x, b.scale, b.zp)

    def write(b: HostBuffer, y: np.ndarray) -> None:
        if y.size != prod(b.shape):
            raise ValueError(f"host segment {index} output has shape {list(y.shape)}, expected {list(b.shape)}")
        y = y.reshape(b.shape)
        if not as_int8:
            y = np.asarray(y, numpy_dtype_of(b.dtype)) if is_logical(b.dtype) else \
                quantize(np.asarray(y, np.float32), b.scale, b.zp)
        ex.write_logical(core, b, y)

    def run() -> None:
        ys = seg.run([read(b) for b in ins_bufs])
        if len(ys) != len(outs):
            raise ValueError(f"host segment {index} returned {len(ys)} outputs, the instruction has "
                             f"{len(outs)} output buffers")
        for b, y in zip(outs, ys, strict=True):
            write(b, np.asarray(y))

    return run


_DECODERS: dict[str, Callable[[Executor, int, Instr], Run]] = {
    "dma": _dma, "mvm": _mvm, "dwpu": _dwpu, "dpu": _dpu, "host": _host,
}
