"""``convert-quant-to-tile``: the quant graph becomes the unrolled tile schedule of one frame.

Guarantees (docs/architecture.md, "The tile level"):

* ``func.func @main`` of the quant level becomes an argument-less, result-less ``func.func @main``
  of ``tile`` ops (the ONNX I/O names stay in ``axc.input_names`` / ``axc.output_names``).
* Graph inputs: every ``quant.quantize`` of a function argument becomes an ``input`` buffer in the
  io pool holding the quantized HWC frame (the host quantizes with the recorded ``scale`` /
  ``zero_point``); an argument used by host ops directly is an f32 ``input`` buffer (logical shape).
* Graph outputs: a returned ``quant.dequantize`` of ``q`` makes ``q``'s buffer an int8 ``output``
  buffer with the scale / zero point the host dequantizes with; an f32 result of a host segment is
  an f32 ``output`` buffer (logical NCHW, no padding), so results stay bit-identical to the quant
  interpreter.
* Every AIPU op is split into height tiles x output-channel tiles so that its L1 working set (input
  rows with halo + weights + epilogue table + output, each rounded up to 64 bytes) fits ``l1-bytes``
  and an output-channel tile of an MVM convolution fits ``weight-set-cols``. The search starts from
  one height tile and the fewest channel tiles the weight set allows and doubles the height or the
  channel tile count (whichever shrinks the working set more) up to ``max-tiling-attempts`` times;
  an op that still does not fit raises :class:`CompileError` naming the op, the bytes needed and
  the bytes available. ``force-h-tiling`` / ``force-oc-tiling`` (0 = not forced) fix the counts of
  every op (capped by its output rows / channel units; the weight-set minimum still applies).
  ``weight-set-rows`` is not a tiling constraint: a reduction K = C/g * KH * KW above it is several
  weight-set passes inside one MVM op, which the cost model counts.
* Per tile: DMA of the input rows (halo included, clipped to the image) and of the weights /
  table into L1 buffers, the compute op, DMA of the output tile into its buffer at its row /
  channel offsets. Weights and tables are loaded once per channel tile and stay in L1 across its
  height tiles. Concat is free when possible (the producers write into channel offsets of the
  concat buffer), else a DMA; ``quant.reshape`` aliases its input. A ``quant.lut`` table is one
  256-byte constant, loaded into L1 once per channel tile like a weight.
* Host segments: maximal runs of ``quant.dequantize -> onnx ops -> quant.quantize`` become one
  ``tile.host`` whose region holds the onnx ops.
* Tokens: every op waits for the ops that wrote the data it reads (read-after-write only; the
  memory planner adds the write-after-read dependences its address reuse creates).
* Buffers: activations in ``workspace-pool``, constants in ``constant-pool``, I/O in ``io-pool``.
* Linear in the number of tiles; weight bytes are copied at most once (a single channel tile
  shares the quant constant's bytes).

The conversion is a single forward walk (the state it carries, buffers and the writers of every
box, is global), with one lowering method per source op (``_lower_<op>``). Code layout: this module
holds the pass and the ``_lower_<op>`` methods; tile_builder.py the buffers, DMAs and tokens,
tiling_search.py the tiling search, tile_storage_plan.py the output buffers and concat aliases
planned before the walk, tile_host_segments.py the host segments.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects import builtin, func
from xdsl.dialects.builtin import (
    ArrayAttr,
    DenseIntOrFPElementsAttr,
    StringAttr,
    TensorType,
    f32,
    i8,
    i32,
)
from xdsl.ir import Attribute, BlockArgument, Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.utils.exceptions import PassFailedException

from axc.dialects import onnx, quant, tile
from axc.dialects.tile import i64_array, i64_attr
from axc.lowering.tile_builder import (
    ALIGN,
    Lowering,
    Store,
    _hwc,
    _shape,
    aligned,
    axis_window,
    concat_dim,
    dedup,
    dense,
    describe,
    split_even,
    src_name,
)
from axc.lowering.tile_eltwise import EltwiseMixin
from axc.lowering.tile_host_segments import HostSegmentsMixin
from axc.lowering.tile_storage_plan import StoragePlanMixin
from axc.lowering.tiling_search import Geom, search_tiling
from axc.runtime.errors import CompileError
from axc.runtime.hardware import AIPU_V1, PWORD_BYTES
from axc.runtime.quantization import quantize

__all__ = ["ConvertQuantToTilePass", "ALIGN", "aligned", "axis_window", "split_even"]

INPUT_NAMES_ATTR = "axc.input_names"
OUTPUT_NAMES_ATTR = "axc.output_names"


def _numpy(attr: DenseIntOrFPElementsAttr) -> np.ndarray:
    from axc.lowering.onnx_importer import numpy_from_dense

    return numpy_from_dense(attr)


# ---------------------------------------------------------------------------------------------------
# the pass


@dataclass(frozen=True)
class ConvertQuantToTilePass(ModulePass):
    """Lower ``func.func @main`` of the quant level to the tile level (see the module docstring)."""

    name = "convert-quant-to-tile"

    l1_bytes: int = AIPU_V1.l1_budget
    pword: int = PWORD_BYTES
    max_tiling_attempts: int = 8
    force_h_tiling: int = 0
    force_oc_tiling: int = 0
    weight_set_rows: int = AIPU_V1.mvm_rows
    weight_set_cols: int = AIPU_V1.mvm_cols
    io_pool: str = "ddr"
    constant_pool: str = "ddr"
    workspace_pool: str = "l2"

    def apply(self, ctx: Context, op: builtin.ModuleOp) -> None:
        for k in ("io_pool", "constant_pool", "workspace_pool"):
            if getattr(self, k) not in ("ddr", "l2"):
                raise CompileError(
                    f"convert-quant-to-tile: {k.replace('_', '-')} must be \"ddr\" or \"l2\", got \"{getattr(self, k)}\""
                )
        if self.l1_bytes <= 0 or self.weight_set_cols <= 0 or self.weight_set_rows <= 0:
            raise CompileError("convert-quant-to-tile: l1-bytes and weight-set-rows/cols must be positive")
        fn = _main(op)
        new_fn = _Converter(self, fn).run()
        op.body.block.insert_op_before(new_fn, fn)
        op.body.block.erase_op(fn)
        for o in op.walk():
            if o.dialect_name() == "quant":
                raise PassFailedException(
                    f"convert-quant-to-tile: {describe(o)} was not converted (at {o.name} in @main)"
                )


def _main(module: builtin.ModuleOp) -> func.FuncOp:
    for o in module.ops:
        if isinstance(o, func.FuncOp) and o.sym_name.data == "main":
            return o
    raise CompileError("convert-quant-to-tile: the module has no func.func @main")


def _element(v: SSAValue) -> Attribute:
    """The element type of a tensor value (what a host-side buffer of it holds)."""
    t = v.type
    assert isinstance(t, TensorType)
    return t.get_element_type()


class _Converter(StoragePlanMixin, HostSegmentsMixin, EltwiseMixin):
    def __init__(self, opts: ConvertQuantToTilePass, fn: func.FuncOp):
        self.opts = opts
        self.fn = fn
        self.L = Lowering(opts)
        a = fn.attributes.get(INPUT_NAMES_ATTR)
        self.in_names = [s.data for s in a.data] if isinstance(a, ArrayAttr) else [f"arg{i}" for i in range(len(fn.args))]
        a = fn.attributes.get(OUTPUT_NAMES_ATTR)
        n_out = len(fn.function_type.outputs.data)
        self.out_names = [s.data for s in a.data] if isinstance(a, ArrayAttr) else [f"out{i}" for i in range(n_out)]
        self.ops = list(fn.body.block.ops)
        self.index = {o: i for i, o in enumerate(self.ops)}

    # -- main walk ------------------------------------------------------------------------------
    def run(self) -> func.FuncOp:
        L = self.L
        self._plan_outputs()
        self._plan_concat_aliases()
        self._plan_segments()
        for o in self.ops:
            if isinstance(o, onnx.OnnxOp):
                continue  # emitted with their segment
            # emit the segments whose results this op reads
            for v in o.operands:
                p = v.owner
                if isinstance(p, quant.QuantizeOp) and isinstance(p.input.owner, Operation):
                    s = L.seg_of.get(p.input.owner)
                    if s is not None and not s.emitted:
                        self._emit_segment(s)
            if isinstance(o, func.ReturnOp):
                for s in L.segments:
                    if not s.emitted:
                        self._emit_segment(s)
                self._emit_outputs(o)
                continue
            handler = _HANDLERS.get(type(o))
            if handler is None:
                raise PassFailedException(f"convert-quant-to-tile: no tile lowering for {describe(o)}")
            handler(self, o)
        new_fn = func.FuncOp("main", ((), ()))
        new_fn.body.block.add_ops([*L.head, *L.body, func.ReturnOp()])
        for k in (INPUT_NAMES_ATTR, OUTPUT_NAMES_ATTR):
            if k in self.fn.attributes:
                new_fn.attributes[k] = self.fn.attributes[k]
        return new_fn

    # -- I/O ------------------------------------------------------------------------------------
    def _lower_quantize(self, o: quant.QuantizeOp) -> None:
        L = self.L
        src = o.input
        if isinstance(src, BlockArgument):
            u = quant.uniform_of(o.output)
            hwc = _hwc(o.output, o)
            name = self.in_names[src.index]
            buf = L.new_buffer("input", name, (*hwc[:2], L.pw(hwc[2])), i8, self.opts.io_pool,
                               scale=u.s, zero_point=u.zp, shape=_shape(o.output))
            L.store[o.output] = Store(buf, (0, 0, 0), hwc)
        elif isinstance(src.owner, onnx.ConstantOp):
            u = quant.uniform_of(o.output)
            q = quantize(_numpy(src.owner.value), u.s, u.zp)  # type: ignore[arg-type]
            self._constant_activation(o, o.output, q)
        elif not isinstance(src.owner, onnx.OnnxOp):  # a quantized host result is stored by its segment
            raise CompileError(f"convert-quant-to-tile: {describe(o)} quantizes a value that is neither a graph "
                               f"input, a constant nor a host op result")

    def _constant_activation(self, o: Operation, v: SSAValue, q: np.ndarray) -> None:
        L = self.L
        h, w, c = _hwc(v, o)
        hwc = np.zeros((h, w, L.pw(c)), np.int8)
        hwc[:, :, :c] = q.reshape(c, h, w).transpose(1, 2, 0)
        buf = L.constant(f"{src_name(o)}/value", dense(hwc, hwc.shape, i8), src_name(o))
        L.store[v] = Store(buf, (0, 0, 0), (h, w, c))

    def _lower_dequantize(self, o: quant.DequantizeOp) -> None:
        pass  # read by host segments and outputs

    def _lower_constant(self, o: quant.ConstantOp) -> None:
        t = o.output.type
        assert isinstance(t, TensorType)
        if isinstance(t.element_type, quant.UniformType):
            self._constant_activation(o, o.output, _numpy(o.value))
        # weights and biases are sliced by their conv

    def _emit_outputs(self, ret: func.ReturnOp) -> None:
        L = self.L
        for v, name in zip(ret.arguments, self.out_names, strict=True):
            owner = v.owner
            if isinstance(owner, quant.DequantizeOp):
                q = owner.input
                s = L.store[q]
                if s.buf.owner.kind.data == "output" and s.buf.owner.buffer_name.data == name:  # type: ignore[union-attr]
                    continue
                u = quant.uniform_of(q)
                hwc = s.hwc
                buf = L.new_buffer("output", name, (*hwc[:2], L.pw(hwc[2])), i8, self.opts.io_pool,
                                   scale=u.s, zero_point=u.zp, shape=_shape(q))
                self._copy(s, Store(buf, (0, 0, 0), hwc), name)
            elif v in L.f32_store:
                buf = L.f32_store[v]
                if buf.owner.kind.data == "output" and buf.owner.buffer_name.data == name:  # type: ignore[union-attr]
                    continue
                self._copy_f32(buf, self._f32_output(name, v), name)
            elif isinstance(v, BlockArgument):
                self._copy_f32(self._f32_input(v), self._f32_output(name, v), name)
            else:
                raise CompileError(f"convert-quant-to-tile: graph output '{name}' is not produced by a supported op")

    def _copy(self, s: Store, d: Store, name: str) -> None:
        L = self.L
        lo, hi = s.box((0, 0, 0), s.hwc)
        deps = L.read_deps(s.buf, lo, hi)
        L.dma(s.buf, d.buf, lo, d.off, s.hwc, deps, name)

    def _copy_f32(self, src: SSAValue, dst: SSAValue, name: str) -> None:
        L = self.L
        shape = src.type.get_shape()  # type: ignore[union-attr]
        zero = [0] * len(shape)
        L.dma(src, dst, zero, zero, shape, L.read_deps(src, zero, shape), name)

    def _f32_input(self, arg: BlockArgument) -> SSAValue:
        L = self.L
        if arg not in L.f32_inputs:
            shape = _shape(arg)
            L.f32_inputs[arg] = L.new_buffer("input", self.in_names[arg.index], shape, _element(arg),
                                             self.opts.io_pool, shape=shape)
        return L.f32_inputs[arg]

    def _f32_output(self, name: str, v: SSAValue) -> SSAValue:
        shape = _shape(v)
        return self.L.new_buffer("output", name, shape, _element(v), self.opts.io_pool, shape=shape)

    # -- AIPU ops -------------------------------------------------------------------------------
    def _lower_reshape(self, o: quant.ReshapeOp) -> None:
        L = self.L
        src = L.store[o.input]
        if _hwc(o.input, o) != _hwc(o.output, o):
            raise CompileError(f"convert-quant-to-tile: {describe(o)} is not an order-keeping reshape "
                               f"({list(_shape(o.input))} -> {list(_shape(o.output))})")
        L.store[o.output] = src

    def _lower_concat(self, o: quant.ConcatOp) -> None:
        L = self.L
        d = L.activation_store(o.output, src_name(o), o)
        dim = concat_dim(o)
        offset = 0
        for v in o.inputs:
            s = L.store[v]
            ext = s.hwc[dim]
            off = list(d.off)
            off[dim] += offset
            if not (s.buf is d.buf and tuple(s.off) == tuple(off)):
                self._copy(s, Store(d.buf, tuple(off), s.hwc), src_name(o))
            offset += ext

    def _tile_op(self, o: Operation, inputs: Sequence[SSAValue], geom: Geom,
                 make: Callable[..., Operation]) -> None:
        """Tile an op with one output: search the tiling, then emit loads / compute / stores."""
        L = self.L
        src = src_name(o)
        out = o.results[0]
        ho, wo, oc = _hwc(out, o)
        in_stores = [L.store[v] for v in inputs]
        plan = search_tiling(self.opts, o, ho, geom.n_units, geom.min_c_tiles, geom.h_split, geom.c_split,
                             geom.working_set)
        d = L.activation_store(out, src, o)
        for ci, (c0, c1) in enumerate(plan.c_tiles):
            ic0, ic1 = geom.in_channels(c0, c1)
            consts = geom.constants(self, ci, c0, c1)  # [(l1 buffer, token)]
            for (o0, o1) in plan.h_tiles:
                rows = [geom.in_rows(o0, o1) for _ in inputs]
                l1_in = []
                toks = [t for _, t in consts]
                for s, (r0, r1, _, _) in zip(in_stores, rows):
                    b = L.scratch(f"{src}/in", (r1 - r0, s.hwc[1], L.pw(ic1 - ic0)))
                    toks.append(L.load(s, (r0, r1), (ic0, ic1), b, src))
                    l1_in.append(b)
                ob = L.scratch(f"{src}/out", (o1 - o0, wo, L.pw(c1 - c0)))
                op = make(l1_in, [b for b, _ in consts], ob, dedup(toks), (o0, o1), (ic0, ic1), (c0, c1))
                op.properties["src"] = StringAttr(src)
                L.body.append(op)
                L.save(ob, d, (o0, o1), (c0, c1), op.results[0], src)

    def _lower_conv2d(self, o: quant.Conv2dOp) -> None:
        L = self.L
        p = o.conv_params()
        h, w, c = _hwc(o.input, o)
        ho, wo, oc = _hwc(o.output, o)
        wt = o.weight.owner
        bt = o.bias.owner
        if not isinstance(wt, quant.ConstantOp) or not isinstance(bt, quant.ConstantOp):
            raise CompileError(f"convert-quant-to-tile: {describe(o)}: weights and bias must be quant.constant")
        oc_w, cg, kh, kw = _shape(o.weight)
        g = p["group"]
        ocg = oc // g
        depthwise = cg == 1 and g > 1
        sh, sw = p["strides"]
        dh, dw = p["dilations"]
        pt, pl, pb, pr = p["pads"]
        m, s = o.requant_params()
        bias = _numpy(bt.value).astype(np.int32).reshape(oc)
        table = np.stack([bias, np.asarray(m, np.int32).reshape(oc), np.asarray(s, np.int32).reshape(oc)])
        wnp = _numpy(wt.value)
        cols = self.opts.weight_set_cols
        pw = max(1, self.opts.pword)
        # channel tiles are made of units: whole groups, PWORD-aligned where possible
        unit = math.lcm(ocg, pw) if g > 1 else pw
        if not depthwise and unit > cols:
            unit = ocg if g > 1 else cols
        if not depthwise and unit > cols:
            raise CompileError(
                f"convert-quant-to-tile: {describe(o)}: one group has {ocg} output channels, more than "
                f"the {cols} columns of a weight set (weight-set-cols)"
            )
        unit = min(unit, oc)
        n_units = -(-oc // unit)

        def c_split(n: int) -> list[tuple[int, int]]:
            return [(a * unit, min(oc, b * unit)) for a, b in split_even(n_units, n)]

        min_c = 1
        if not depthwise:  # an MVM pass holds at most weight-set-cols output channels
            min_c = min(n_units, max(1, -(-oc // cols)))
            while min_c < n_units and max(b - a for a, b in c_split(min_c)) > cols:
                min_c += 1
        zp_in = quant.uniform_of(o.input).zp
        zp_out = quant.uniform_of(o.output).zp
        lo, hi = o.clamp_bounds()
        src = src_name(o)
        # a single channel tile shares the bytes of the quant constant (no copy)
        shared = wt.value.data if len(wt.value.data.data) == oc_w * cg * kh * kw else None

        class G(Geom):
            def c_split(self, n: int) -> list[tuple[int, int]]:
                return c_split(n)

            def in_channels(self, c0: int, c1: int) -> tuple[int, int]:
                return (c0 // ocg * cg, c1 // ocg * cg) if g > 1 else (0, c)

            def in_rows(self, o0: int, o1: int) -> tuple[int, int, int, int]:
                return axis_window(h, o0, o1, kh, sh, dh, pt)

            def working_set(self, hr: tuple[int, int], cr: tuple[int, int]) -> int:
                r0, r1, _, _ = self.in_rows(*hr)
                ic0, ic1 = self.in_channels(*cr)
                oct_ = cr[1] - cr[0]
                return (aligned((r1 - r0) * w * L.pw(ic1 - ic0)) + aligned(oct_ * cg * kh * kw)
                        + aligned(3 * oct_ * 4) + aligned((hr[1] - hr[0]) * wo * L.pw(oct_)))

            def constants(self, conv: _Converter, ci: int, c0: int, c1: int) -> list[tuple[SSAValue, SSAValue]]:
                whole = c0 == 0 and c1 == oc
                wshape = (c1 - c0, cg, kh, kw)
                wdata = shared if (whole and shared is not None) else wnp[c0:c1]
                wc = L.constant(f"{src}/w{ci}", dense(wdata, wshape, i8), src)
                tc = L.constant(f"{src}/t{ci}", dense(table[:, c0:c1], (3, c1 - c0), i32), src)
                wl = L.scratch(f"{src}/w", wshape)
                tl = L.scratch(f"{src}/t", (3, c1 - c0), i32)
                tw = L.dma(wc, wl, (0, 0, 0, 0), (0, 0, 0, 0), wshape, [], src)
                tt = L.dma(tc, tl, (0, 0), (0, 0), (3, c1 - c0), [], src)
                return [(wl, tw), (tl, tt)]

        geom = G(ho, n_units, min_c)

        def make(ins, consts, ob, deps, hr, icr, cr):
            r0, r1, pad_t, pad_b = axis_window(h, hr[0], hr[1], kh, sh, dh, pt)
            _, _, pad_l, pad_r = axis_window(w, 0, wo, kw, sw, dw, pl)
            if r1 <= r0:
                raise CompileError(f"convert-quant-to-tile: {describe(o)}: a tile reads only padding rows")
            return tile.Conv2dOp.build(
                operands=[ins[0], consts[0], consts[1], ob, deps],
                result_types=[tile.TokenType()],
                properties={
                    "strides": i64_array((sh, sw)),
                    "dilations": i64_array((dh, dw)),
                    "pads": i64_array((pad_t, pad_l, pad_b, pad_r)),
                    "group": i64_attr((cr[1] - cr[0]) // ocg if g > 1 else 1),
                    "in_zp": i64_attr(zp_in),
                    "out_zp": i64_attr(zp_out),
                    "clamp": i64_array((lo, hi)),
                    "channels": i64_array((icr[1] - icr[0], cr[1] - cr[0])),
                },
            )

        self._tile_op(o, [o.input], geom, make)

    def _pool_geom(self, o: quant.MaxPoolOp | quant.AvgPoolOp, keep_ceil: bool) -> tuple[Geom, dict]:
        L = self.L
        p = o.pool_params()
        h, w, c = _hwc(o.input, o)
        ho, wo, _ = _hwc(o.output, o)
        kh, kw = p["kernel"]
        sh, sw = p["strides"]
        dh, dw = p.get("dilations", (1, 1))
        pt, pl, pb, pr = p["pads"]
        unit = min(max(1, self.opts.pword), c)
        n_units = -(-c // unit)
        # the last height tile of a ceil-mode pool that counts padding must hold >= 2 rows when its
        # window overhangs the declared padding (see axis_window / docs)
        overhang_h = keep_ceil and (ho - 1) * sh - pt + dh * (kh - 1) + 1 > h + pb

        def pads_of(hr: tuple[int, int]) -> tuple[int, int, int, int, int, int]:
            r0, r1, a, b = axis_window(h, hr[0], hr[1], kh, sh, dh, pt)
            _, _, l_, r_ = axis_window(w, 0, wo, kw, sw, dw, pl)
            if keep_ceil:
                b, r_ = min(b, pb), min(r_, pr)
            return r0, r1, a, l_, b, r_

        class G(Geom):
            def h_split(self, n: int) -> list[tuple[int, int]]:
                tiles = split_even(ho, n)
                if overhang_h and len(tiles) > 1 and tiles[-1][1] - tiles[-1][0] < 2:
                    a, _ = tiles[-2]
                    tiles[-2:] = [(a, ho - 2), (ho - 2, ho)] if ho - 2 > a else [(a, ho)]
                return tiles

            def c_split(self, n: int) -> list[tuple[int, int]]:
                return [(a * unit, min(c, b * unit)) for a, b in split_even(n_units, n)]

            def in_rows(self, o0: int, o1: int) -> tuple[int, int, int, int]:
                return axis_window(h, o0, o1, kh, sh, dh, pt)

            def working_set(self, hr: tuple[int, int], cr: tuple[int, int]) -> int:
                r0, r1, _, _ = self.in_rows(*hr)
                cp = L.pw(cr[1] - cr[0])
                return aligned((r1 - r0) * w * cp) + aligned((hr[1] - hr[0]) * wo * cp)

        return G(ho, n_units, 1), {"pads_of": pads_of, "kernel": (kh, kw), "strides": (sh, sw), "dilations": (dh, dw)}

    def _lower_max_pool(self, o: quant.MaxPoolOp) -> None:
        geom, g = self._pool_geom(o, keep_ceil=False)

        def make(ins, consts, ob, deps, hr, icr, cr):
            r0, r1, pt_, pl_, pb_, pr_ = g["pads_of"](hr)
            props = {
                "kernel": i64_array(g["kernel"]),
                "strides": i64_array(g["strides"]),
                "pads": i64_array((pt_, pl_, pb_, pr_)),
                "channels": i64_array((cr[1] - cr[0],)),
            }
            if g["dilations"] != (1, 1):
                props["dilations"] = i64_array(g["dilations"])
            return tile.MaxPoolOp.build(operands=[ins[0], ob, deps], result_types=[tile.TokenType()], properties=props)

        self._tile_op(o, [o.input], geom, make)

    def _lower_avg_pool(self, o: quant.AvgPoolOp) -> None:
        p = o.pool_params()
        keep_ceil = p["ceil_mode"] and p["count_include_pad"]
        geom, g = self._pool_geom(o, keep_ceil=keep_ceil)
        mults, shift = o.requant_params()
        zi, zo = quant.uniform_of(o.input).zp, quant.uniform_of(o.output).zp
        lo, hi = o.clamp_bounds()

        def make(ins, consts, ob, deps, hr, icr, cr):
            r0, r1, pt_, pl_, pb_, pr_ = g["pads_of"](hr)
            props: dict[str, Attribute] = {
                "kernel": i64_array(g["kernel"]),
                "strides": i64_array(g["strides"]),
                "pads": i64_array((pt_, pl_, pb_, pr_)),
                "in_zp": i64_attr(zi),
                "out_zp": i64_attr(zo),
                "multipliers": i64_array([int(x) for x in mults]),
                "shift": i64_attr(int(shift)),
                "clamp": i64_array((lo, hi)),
                "channels": i64_array((cr[1] - cr[0],)),
            }
            if g["dilations"] != (1, 1):
                props["dilations"] = i64_array(g["dilations"])
            if keep_ceil:
                props["ceil_mode"] = i64_attr(1)
            if p["count_include_pad"]:
                props["count_include_pad"] = i64_attr(1)
            return tile.AvgPoolOp.build(operands=[ins[0], ob, deps], result_types=[tile.TokenType()], properties=props)

        self._tile_op(o, [o.input], geom, make)

_HANDLERS: dict[type[Operation], Callable[[_Converter, Operation], None]] = {
    quant.QuantizeOp: _Converter._lower_quantize,
    quant.DequantizeOp: _Converter._lower_dequantize,
    quant.ConstantOp: _Converter._lower_constant,
    quant.Conv2dOp: _Converter._lower_conv2d,
    quant.MaxPoolOp: _Converter._lower_max_pool,
    quant.AvgPoolOp: _Converter._lower_avg_pool,
    quant.AddOp: _Converter._lower_add,
    quant.MulOp: _Converter._lower_mul,
    quant.RequantizeOp: _Converter._lower_requantize,
    quant.ClampOp: _Converter._lower_clamp,
    quant.LutOp: _Converter._lower_lut,
    quant.ConcatOp: _Converter._lower_concat,
    quant.ReshapeOp: _Converter._lower_reshape,
}
