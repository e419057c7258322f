"""The tile-level interpreter: runs the unrolled schedule on byte memories, bit-equal to quant.

Memories are numpy ``uint8`` arrays, one per memory space, sized from the planned offsets
(``tile-plan-memory``); a buffer without an ``offset`` (a module not planned yet) gets a private
array. Every ``tile.alloc`` / ``tile.constant`` evaluates to a numpy view of its bytes with the
memref's shape and element type (HWC for activations), so overlapping buffers really share bytes
and a wrong memory plan shows up as wrong results. ``tile.dma`` is a box copy; compute ops call the
integer kernels of :mod:`axc.runtime.int_kernels` on the real channels of their L1 tiles;
``tile.host`` dequantizes its int8 inputs, runs its region with the onnx impls and quantizes into
its outputs. Ops run in program order (tokens are not needed for a sequential run).

:func:`run_tile_module` takes and returns arrays keyed by ONNX names in NCHW, like
:func:`axc.runtime.interp_quant.run_quant_module`: the host-side quantization of the inputs and
dequantization of the int8 outputs use the scale / zero point recorded on the I/O buffers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from xdsl.dialects import builtin, func
from xdsl.dialects.builtin import DenseIntOrFPElementsAttr, IntegerType, MemRefType, f32
from xdsl.interpreter import (
    Interpreter,
    InterpreterFunctions,
    ReturnedValues,
    impl,
    impl_terminator,
    register_impls,
)
from xdsl.interpreters.func import FuncFunctions
from xdsl.ir import Operation

from axc.dialects import tile
from axc.runtime import int_kernels as ik
from axc.runtime.errors import InputDataError
from axc.runtime.interp_onnx import OnnxFunctions
from axc.runtime.quantization import dequantize, quantize, requantize

__all__ = ["TileFunctions", "TileState", "TileRunner", "run_tile_module", "buffer_dtype"]


def buffer_dtype(t: MemRefType) -> np.dtype:
    el = t.element_type
    if el == f32:
        return np.dtype(np.float32)
    if isinstance(el, IntegerType):
        return np.dtype({8: np.int8, 32: np.int32, 64: np.int64}[el.width.data])
    raise ValueError(f"unsupported buffer element type {el}")


def _nbytes(t: MemRefType) -> int:
    return int(np.prod(t.get_shape(), dtype=np.int64)) * buffer_dtype(t).itemsize


def _offset(op: tile.AllocOp | tile.ConstantOp) -> int | None:
    return op.offset.value.data if op.offset is not None else None


class TileState:
    """The memories of one run: a byte array per space, and the view of every buffer."""

    def __init__(self, fn: func.FuncOp):
        self.views: dict[Operation, np.ndarray] = {}
        buffers = [o for o in fn.body.block.ops if isinstance(o, tile.AllocOp | tile.ConstantOp)]
        sizes: dict[str, int] = {}
        for o in buffers:
            off = _offset(o)
            if off is not None:
                t = o.result.type
                assert isinstance(t, MemRefType)
                sizes[o.space] = max(sizes.get(o.space, 0), off + _nbytes(t))
        self.spaces = {s: np.zeros(n, np.uint8) for s, n in sizes.items()}
        for o in buffers:
            t = o.result.type
            assert isinstance(t, MemRefType)
            dt, shape, off = buffer_dtype(t), tuple(t.get_shape()), _offset(o)
            if off is None:
                view = np.zeros(shape, dt)
            else:
                view = self.spaces[o.space][off : off + _nbytes(t)].view(dt).reshape(shape)
            self.views[o] = view
        self.constants = [o for o in buffers if isinstance(o, tile.ConstantOp)]
        self.load_constants()

    def load_constants(self) -> None:
        from axc.lowering.onnx_importer import numpy_from_dense

        for o in self.constants:
            assert isinstance(o.value, DenseIntOrFPElementsAttr)
            self.views[o][...] = numpy_from_dense(o.value)


def _state(interpreter: Interpreter) -> TileState:
    return interpreter.get_data(TileFunctions, "state", lambda: None)  # set by TileRunner


def _box(offsets, sizes) -> tuple[slice, ...]:
    return tuple(slice(int(o), int(o) + int(s)) for o, s in zip(offsets, sizes))


def hwc_to_logical(buf: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Real channels of an HWC buffer as the logical NCHW (or (1, C)) array."""
    c = shape[1]
    x = buf[:, :, :c].transpose(2, 0, 1)
    return np.ascontiguousarray(x).reshape(shape)


def logical_to_hwc(x: np.ndarray, buf: np.ndarray) -> None:
    """Store a logical (1, C, H, W) or (1, C) array into the real channels of an HWC buffer."""
    h, w = buf.shape[0], buf.shape[1]
    c = x.shape[1]
    buf[:, :, :c] = x.reshape(c, h, w).transpose(1, 2, 0)


@register_impls
class TileFunctions(InterpreterFunctions):
    """Impls of every ``tile`` op on the numpy views of a :class:`TileState`."""

    @impl(tile.AllocOp)
    def run_alloc(self, interpreter: Interpreter, op: tile.AllocOp, args: tuple[Any, ...]):
        return (_state(interpreter).views[op],)

    @impl(tile.ConstantOp)
    def run_constant(self, interpreter: Interpreter, op: tile.ConstantOp, args: tuple[Any, ...]):
        return (_state(interpreter).views[op],)

    @impl(tile.DmaOp)
    def run_dma(self, interpreter: Interpreter, op: tile.DmaOp, args: tuple[Any, ...]):
        src, dst = args[0], args[1]
        sizes = op.prop_ints("sizes")
        dst[_box(op.prop_ints("dst_offsets"), sizes)] = src[_box(op.prop_ints("src_offsets"), sizes)]
        return (None,)

    @impl(tile.Conv2dOp)
    def run_conv2d(self, interpreter: Interpreter, op: tile.Conv2dOp, args: tuple[Any, ...]):
        x, w, table, out = args[0], args[1], args[2], args[3]
        c, oc = op.prop_ints("channels")
        lo, hi = op.clamp_bounds()
        acc = ik.conv2d(np.ascontiguousarray(x[:, :, :c]), np.ascontiguousarray(w), table[0].astype(np.int32),
                        op.prop_int("in_zp"), op.prop_ints("strides"), op.prop_ints("pads"),
                        op.prop_ints("dilations"), op.prop_int("group"))
        out[:, :, :oc] = requantize(acc, table[1].astype(np.int64), table[2].astype(np.int64),
                                    op.prop_int("out_zp"), lo, hi)
        return (None,)

    @impl(tile.MaxPoolOp)
    def run_max_pool(self, interpreter: Interpreter, op: tile.MaxPoolOp, args: tuple[Any, ...]):
        x, out = args[0], args[1]
        (c,) = op.prop_ints("channels")
        out[:, :, :c] = ik.max_pool(np.ascontiguousarray(x[:, :, :c]), op.prop_ints("kernel"),
                                    op.prop_ints("strides", (1, 1)), op.prop_ints("pads", (0, 0, 0, 0)),
                                    bool(op.prop_int("ceil_mode")), op.prop_ints("dilations", (1, 1)))
        return (None,)

    @impl(tile.AvgPoolOp)
    def run_avg_pool(self, interpreter: Interpreter, op: tile.AvgPoolOp, args: tuple[Any, ...]):
        x, out = args[0], args[1]
        (c,) = op.prop_ints("channels")
        lo, hi = op.clamp_bounds()
        out[:, :, :c] = ik.avg_pool(
            np.ascontiguousarray(x[:, :, :c]), op.prop_int("in_zp"), op.prop_ints("kernel"),
            op.prop_ints("strides", (1, 1)), op.prop_ints("pads", (0, 0, 0, 0)),
            bool(op.prop_int("count_include_pad")), bool(op.prop_int("ceil_mode")),
            np.asarray(op.prop_ints("multipliers"), np.int64), op.prop_int("shift"), op.prop_int("out_zp"), lo, hi,
            op.prop_ints("dilations", (1, 1)),
        )
        return (None,)

    @impl(tile.AddOp)
    def run_add(self, interpreter: Interpreter, op: tile.AddOp, args: tuple[Any, ...]):
        a, b, out = args[0], args[1], args[2]
        (c,) = op.prop_ints("channels")
        lo, hi = op.clamp_bounds()
        out[:, :, :c] = ik.add(a[:, :, :c], op.prop_int("a_zp"), op.prop_int("a_mult"), b[:, :, :c],
                               op.prop_int("b_zp"), op.prop_int("b_mult"), op.prop_int("shift"),
                               op.prop_int("out_zp"), lo, hi)
        return (None,)

    @impl(tile.MulOp)
    def run_mul(self, interpreter: Interpreter, op: tile.MulOp, args: tuple[Any, ...]):
        a, b, out = args[0], args[1], args[2]
        (c,) = op.prop_ints("channels")
        lo, hi = op.clamp_bounds()
        ik.mul(a[:, :, :c], op.prop_int("a_zp"), b[:, :, :c], op.prop_int("b_zp"), op.prop_int("mult"),
               op.prop_int("shift"), op.prop_int("out_zp"), lo, hi, out=out[:, :, :c])
        return (None,)

    @impl(tile.RequantizeOp)
    def run_requantize(self, interpreter: Interpreter, op: tile.RequantizeOp, args: tuple[Any, ...]):
        x, out = args[0], args[1]
        (c,) = op.prop_ints("channels")
        lo, hi = op.clamp_bounds()
        out[:, :, :c] = ik.requantize_int8(x[:, :, :c], op.prop_int("in_zp"), op.prop_int("mult"),
                                           op.prop_int("shift"), op.prop_int("out_zp"), lo, hi)
        return (None,)

    @impl(tile.ClampOp)
    def run_clamp(self, interpreter: Interpreter, op: tile.ClampOp, args: tuple[Any, ...]):
        x, out = args[0], args[1]
        (c,) = op.prop_ints("channels")
        lo, hi = op.clamp_bounds()
        out[:, :, :c] = np.clip(x[:, :, :c], lo, hi)
        return (None,)

    @impl(tile.LutOp)
    def run_lut(self, interpreter: Interpreter, op: tile.LutOp, args: tuple[Any, ...]):
        x, table, out = args[0], args[1], args[2]
        (c,) = op.prop_ints("channels")
        ik.lut(x[:, :, :c], table, out[:, :, :c])
        return (None,)

    @impl(tile.HostOp)
    def run_host(self, interpreter: Interpreter, op: tile.HostOp, args: tuple[Any, ...]):
        n_in = len(op.inputs)
        params = op.buffer_params()
        bufs = args[: n_in + len(op.outputs)]
        values = []
        for buf, (scale, zp, shape) in zip(bufs[:n_in], params[:n_in]):
            if buf.dtype == np.float32:
                values.append(buf.copy())
            else:
                values.append(dequantize(hwc_to_logical(buf, shape), scale, zp))
        results = interpreter.run_ssacfg_region(op.body, tuple(values), "tile.host")
        for buf, (scale, zp, shape), y in zip(bufs[n_in:], params[n_in:], results):
            y = np.asarray(y, np.float32).reshape(shape)
            if buf.dtype == np.float32:
                buf[...] = y
            else:
                logical_to_hwc(quantize(y, scale, zp), buf)
        return (None,)

    @impl_terminator(tile.YieldOp)
    def run_yield(self, interpreter: Interpreter, op: tile.YieldOp, args: tuple[Any, ...]):
        return ReturnedValues(args), ()


class TileRunner:
    """A tile-level interpreter bound to ``module``'s ``@main`` (memories kept across frames)."""

    def __init__(self, module: builtin.ModuleOp):
        self.module = module
        self.fn = next(
            o for o in module.ops if isinstance(o, func.FuncOp) and o.sym_name.data == "main"
        )
        allocs = [o for o in self.fn.body.block.ops if isinstance(o, tile.AllocOp)]
        self.inputs = [o for o in allocs if o.kind.data == "input"]
        self.outputs = [o for o in allocs if o.kind.data == "output"]
        names = self.fn.attributes.get("axc.output_names")
        order = [s.data for s in names.data] if isinstance(names, builtin.ArrayAttr) else []
        self.outputs.sort(key=lambda o: order.index(o.buffer_name.data) if o.buffer_name.data in order else len(order))
        names = self.fn.attributes.get("axc.input_names")
        self.input_names = (
            [s.data for s in names.data] if isinstance(names, builtin.ArrayAttr)
            else list(dict.fromkeys(o.buffer_name.data for o in self.inputs))
        )
        self.state = TileState(self.fn)
        self.interpreter = Interpreter(module)
        self.interpreter.register_implementations(FuncFunctions())
        self.interpreter.register_implementations(OnnxFunctions())
        self.interpreter.register_implementations(TileFunctions())
        self.interpreter.get_data(TileFunctions, "state", lambda: self.state)

    def _frames(self, inputs: Mapping[str, np.ndarray]) -> tuple[int, dict[str, np.ndarray]]:
        missing = [n for n in self.input_names if n not in inputs]
        if missing:
            raise InputDataError(
                f"missing input(s) {', '.join(repr(n) for n in missing)}; "
                f"the model inputs are {', '.join(repr(n) for n in self.input_names)}"
            )
        counts = {}
        arrays = {}
        for o in self.inputs:
            name = o.buffer_name.data
            shape = tuple(o.prop_ints("shape"))
            x = np.asarray(inputs[name])
            if x.dtype.kind not in "fiu":
                raise InputDataError(f"input '{name}' has dtype {x.dtype}, expected float32")
            x = x.astype(np.float32, copy=False)
            if x.ndim != len(shape) or x.shape[1:] != shape[1:] or x.shape[0] % shape[0] or x.shape[0] == 0:
                raise InputDataError(
                    f"input '{name}' has shape {'x'.join(map(str, x.shape))}, expected "
                    f"{'x'.join(map(str, shape))} (or frames of it stacked on axis 0)"
                )
            counts[name] = x.shape[0] // shape[0]
            arrays[name] = x
        if len(set(counts.values())) > 1:
            raise InputDataError("inputs hold different numbers of frames: "
                                 + ", ".join(f"'{n}': {c}" for n, c in counts.items()))
        return (next(iter(counts.values())) if counts else 1), arrays

    def run_frame(self, arrays: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        views = self.state.views
        for o in self.inputs:
            x = arrays[o.buffer_name.data]
            buf = views[o]
            if buf.dtype == np.float32:
                buf[...] = x.reshape(buf.shape)
            else:
                assert o.scale is not None and o.zero_point is not None
                logical_to_hwc(quantize(x, o.scale.value.data, o.zero_point.value.data), buf)
        self.interpreter.call_op(self.fn, ())
        outs = []
        for o in self.outputs:
            buf = views[o]
            shape = tuple(o.prop_ints("shape"))
            if buf.dtype == np.float32:
                outs.append(buf.reshape(shape).copy())
            else:
                assert o.scale is not None and o.zero_point is not None
                outs.append(dequantize(hwc_to_logical(buf, shape), o.scale.value.data, o.zero_point.value.data))
        return outs

    def run(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        k, arrays = self._frames(inputs)
        results = []
        for i in range(k):
            frame = {}
            for o in self.inputs:
                n = tuple(o.prop_ints("shape"))[0]
                frame[o.buffer_name.data] = arrays[o.buffer_name.data][i * n : (i + 1) * n]
            results.append(self.run_frame(frame))
        outs = results[0] if k == 1 else [np.concatenate(p, axis=0) for p in zip(*results)]
        return {o.buffer_name.data: y for o, y in zip(self.outputs, outs)}


def run_tile_module(module: builtin.ModuleOp, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Interpret a tile-level module on ``inputs`` keyed by ONNX input names (NCHW, frames stacked on
    axis 0); returns the outputs keyed by ONNX output names (f32), like ``run_quant_module``."""
    return TileRunner(module).run(inputs)
