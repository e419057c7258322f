"""Helpers of the tile tests: a small builder of quant-level IR (as text), the conversion/planning
drivers, and a checker that the tokens order every pair of ops touching the same bytes."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from xdsl.dialects import builtin, func
from xdsl.dialects.builtin import MemRefType
from xdsl.parser import Parser

from axc.dialects import tile
from axc.lowering.compile_pipeline import make_context
from axc.runtime.int_kernels import output_size
from axc.runtime.interp_tile import buffer_dtype

CTX = make_context()


def parse(text: str) -> builtin.ModuleOp:
    m = Parser(CTX, text).parse_module()
    m.verify()
    return m


def _u(scale: float, zp: int) -> str:
    return f"!quant.uniform<i8:f32, {scale!r}:{zp}>"


def _t(shape, el: str) -> str:
    return "tensor<" + "x".join(map(str, shape)) + "x" + el + ">"


@dataclass
class V:
    name: str
    shape: tuple[int, ...]
    scale: float = 0.0
    zp: int = 0
    f32: bool = False

    @property
    def type(self) -> str:
        return _t(self.shape, "f32") if self.f32 else _t(self.shape, _u(self.scale, self.zp))


@dataclass
class QuantBuilder:
    """Builds ``func.func @main`` of the quant level op by op; ``module()`` parses it."""

    rng: np.random.Generator = field(default_factory=lambda: np.random.default_rng(0))
    lines: list[str] = field(default_factory=list)
    args: list[V] = field(default_factory=list)
    results: list[V] = field(default_factory=list)
    n: int = 0

    def _v(self, shape, scale=0.0, zp=0, f32=False) -> V:
        self.n += 1
        return V(f"%v{self.n}", tuple(shape), scale, zp, f32)

    def input(self, shape, scale=0.05, zp=-3) -> V:
        a = V(f"%arg{len(self.args)}", tuple(shape), f32=True)
        self.args.append(a)
        return self.quantize(a, scale, zp)

    def quantize(self, x: V, scale: float, zp: int) -> V:
        y = self._v(x.shape, scale, zp)
        self.lines.append(f"{y.name} = quant.quantize {x.name} : {x.type} -> {y.type}")
        return y

    def dequantize(self, x: V) -> V:
        y = self._v(x.shape, f32=True)
        self.lines.append(f"{y.name} = quant.dequantize {x.name} : {x.type} -> {y.type}")
        return y

    def conv(self, x: V, oc: int, k=(3, 3), strides=(1, 1), pads=(1, 1, 1, 1), dilations=(1, 1), group=1,
             scale=0.5, zp=2, clamp=None, name="conv") -> V:
        _, c, h, w = x.shape
        cg = c // group
        wq = self.rng.integers(-127, 128, size=(oc, cg, *k)).astype(np.int8)
        bias = self.rng.integers(-3000, 3000, size=oc).astype(np.int32)
        scales = ", ".join(repr(0.004 + 0.0003 * i) for i in range(oc))
        wt = _t((oc, cg, *k), f"!quant.uniform_per_axis<i8:f32:0, {{{scales}}}>")
        ho = output_size(h, k[0], strides[0], pads[0], pads[2], dilations[0])
        wo = output_size(w, k[1], strides[1], pads[1], pads[3], dilations[1])
        y = self._v((1, oc, ho, wo), scale, zp)
        self.n += 2
        wv, bv = f"%w{self.n}", f"%b{self.n}"
        self.lines.append(f'{wv} = quant.constant {{value = dense<"0x{wq.tobytes().hex().upper()}"> : {_t(wq.shape, "i8")}}} : {wt}')
        self.lines.append(f'{bv} = quant.constant {{value = dense<"0x{bias.tobytes().hex().upper()}"> : {_t((oc,), "i32")}}} : {_t((oc,), "i32")}')
        props = [f"strides = array<i64: {strides[0]}, {strides[1]}>", f"pads = array<i64: {', '.join(map(str, pads))}>",
                 f"dilations = array<i64: {dilations[0]}, {dilations[1]}>", f"group = {group} : i64",
                 f'onnx_name = "{name}"']
        if clamp:
            props.append(f"clamp = array<i64: {clamp[0]}, {clamp[1]}>")
        self.lines.append(
            f"{y.name} = quant.conv2d {x.name}, {wv}, {bv} {{{', '.join(props)}}} : "
            f"({x.type}, {wt}, {_t((oc,), 'i32')}) -> {y.type}"
        )
        return y

    def _pool(self, opname, x, kernel, strides, pads, ceil_mode, extra, scale, zp, name, dil=(1, 1)) -> V:
        _, c, h, w = x.shape
        ho = output_size(h, kernel[0], strides[0], pads[0], pads[2], dil[0], ceil_mode)
        wo = output_size(w, kernel[1], strides[1], pads[1], pads[3], dil[1], ceil_mode)
        y = self._v((1, c, ho, wo), scale, zp)
        props = [f"kernel = array<i64: {kernel[0]}, {kernel[1]}>", f"strides = array<i64: {strides[0]}, {strides[1]}>",
                 f"pads = array<i64: {', '.join(map(str, pads))}>", f"ceil_mode = {int(ceil_mode)} : i64",
                 f'onnx_name = "{name}"', *extra]
        self.lines.append(f"{y.name} = {opname} {x.name} {{{', '.join(props)}}} : {x.type} -> {y.type}")
        return y

    def max_pool(self, x: V, kernel=(3, 3), strides=(2, 2), pads=(1, 1, 1, 1), ceil_mode=False, dilations=(1, 1),
                 name="maxpool") -> V:
        extra = [f"dilations = array<i64: {dilations[0]}, {dilations[1]}>"]
        return self._pool("quant.max_pool", x, kernel, strides, pads, ceil_mode, extra, x.scale, x.zp, name, dilations)

    def avg_pool(self, x: V, kernel=(3, 3), strides=(2, 2), pads=(1, 1, 1, 1), ceil_mode=False,
                 count_include_pad=False, scale=0.04, zp=1, clamp=None, name="avgpool", dilations=(1, 1)) -> V:
        extra = [f"count_include_pad = {int(count_include_pad)} : i64"]
        if clamp:
            extra.append(f"clamp = array<i64: {clamp[0]}, {clamp[1]}>")
        if dilations != (1, 1):
            extra.append(f"dilations = array<i64: {dilations[0]}, {dilations[1]}>")
        return self._pool("quant.avg_pool", x, kernel, strides, pads, ceil_mode, extra, scale, zp, name, dilations)

    def add(self, a: V, b: V, scale=0.1, zp=-5, clamp=None, name="add") -> V:
        y = self._v(a.shape, scale, zp)
        props = [f'onnx_name = "{name}"'] + ([f"clamp = array<i64: {clamp[0]}, {clamp[1]}>"] if clamp else [])
        self.lines.append(f"{y.name} = quant.add {a.name}, {b.name} {{{', '.join(props)}}} : ({a.type}, {b.type}) -> {y.type}")
        return y

    def requantize(self, x: V, scale=0.3, zp=7, clamp=None, name="rq") -> V:
        y = self._v(x.shape, scale, zp)
        props = [f'onnx_name = "{name}"'] + ([f"clamp = array<i64: {clamp[0]}, {clamp[1]}>"] if clamp else [])
        self.lines.append(f"{y.name} = quant.requantize {x.name} {{{', '.join(props)}}} : {x.type} -> {y.type}")
        return y

    def clamp(self, x: V, lo: int, hi: int, name="clamp") -> V:
        y = self._v(x.shape, x.scale, x.zp)
        self.lines.append(f'{y.name} = quant.clamp {x.name} {{clamp = array<i64: {lo}, {hi}>, onnx_name = "{name}"}} : {x.type} -> {y.type}')
        return y

    def concat(self, xs: list[V], axis=1, name="concat") -> V:
        shape = list(xs[0].shape)
        shape[axis] = sum(x.shape[axis] for x in xs)
        y = self._v(shape, xs[0].scale, xs[0].zp)
        self.lines.append(
            f'{y.name} = quant.concat {", ".join(x.name for x in xs)} {{axis = {axis} : i64, onnx_name = "{name}"}} : '
            f"({', '.join(x.type for x in xs)}) -> {y.type}"
        )
        return y

    def reshape(self, x: V, shape, name="reshape") -> V:
        y = self._v(shape, x.scale, x.zp)
        self.lines.append(f'{y.name} = quant.reshape {x.name} {{onnx_name = "{name}"}} : {x.type} -> {y.type}')
        return y

    def onnx(self, op: str, xs: list[V], shape, attrs: str = "", name="host") -> V:
        y = self._v(shape, f32=True)
        a = f" {{{attrs + ', ' if attrs else ''}onnx_name = \"{name}\"}}"
        self.lines.append(f"{y.name} = onnx.{op} {', '.join(x.name for x in xs)}{a} : "
                          f"({', '.join(x.type for x in xs)}) -> {y.type}")
        return y

    def output(self, v: V) -> None:
        self.results.append(v if v.f32 else self.dequantize(v))

    def text(self) -> str:
        args = ", ".join(f"{a.name}: {a.type}" for a in self.args)
        outs = ", ".join(r.type for r in self.results)
        names_in = ", ".join(f'"in{i}"' for i in range(len(self.args)))
        names_out = ", ".join(f'"out{i}"' for i in range(len(self.results)))
        body = "\n  ".join(self.lines)
        ret = f"func.return {', '.join(r.name for r in self.results)} : {outs}"
        return (f"func.func @main({args}) -> ({outs}) attributes {{axc.input_names = [{names_in}], "
                f"axc.output_names = [{names_out}]}} {{\n  {body}\n  {ret}\n}}\n")

    def module(self) -> builtin.ModuleOp:
        return parse(self.text())

    def inputs(self, seed: int = 1, frames: int = 1) -> dict[str, np.ndarray]:
        rng = np.random.default_rng(seed)
        return {f"in{i}": (rng.normal(size=(frames, *a.shape[1:])) * 3).astype(np.float32)
                for i, a in enumerate(self.args)}


# ---------------------------------------------------------------------------------------------------
# token order checker


def _box_bytes(t: MemRefType, offsets, sizes) -> np.ndarray:
    shape = tuple(t.get_shape())
    grids = np.meshgrid(*[np.arange(o, o + s) for o, s in zip(offsets, sizes)], indexing="ij")
    idx = np.ravel_multi_index([g.ravel() for g in grids], shape)
    isz = buffer_dtype(t).itemsize
    return (idx[:, None] * isz + np.arange(isz)[None, :]).ravel()


def _whole(t: MemRefType) -> tuple[list[int], list[int]]:
    shape = list(t.get_shape())
    return [0] * len(shape), shape


def token_hazards(module: builtin.ModuleOp, limit: int = 5) -> list[str]:
    """Pairs of ops that touch the same bytes (one of them writing) with no token path between them.

    Bytes are addressed as (space, offset) for planned buffers and (buffer, offset) otherwise.
    Quadratic: for small test modules only."""
    fn = next(o for o in module.ops if isinstance(o, func.FuncOp))
    base: dict[object, tuple[object, int]] = {}
    for o in fn.body.block.ops:
        if isinstance(o, tile.AllocOp | tile.ConstantOp):
            base[o.result] = (o.space, o.offset.value.data) if o.offset is not None else (o.result, 0)

    def touch(v, offsets, sizes):
        key, off = base[v]
        return key, set((_box_bytes(v.type, offsets, sizes) + off).tolist())

    ops = [o for o in fn.body.block.ops if o.results and isinstance(o.results[-1].type, tile.TokenType)]
    acc: list[tuple[list, list]] = []
    for o in ops:
        reads, writes = [], []
        if isinstance(o, tile.DmaOp):
            sz = o.prop_ints("sizes")
            reads.append(touch(o.source, o.prop_ints("src_offsets"), sz))
            writes.append(touch(o.dest, o.prop_ints("dst_offsets"), sz))
        elif isinstance(o, tile.HostOp):
            reads += [touch(v, *_whole(v.type)) for v in o.inputs]
            writes += [touch(v, *_whole(v.type)) for v in o.outputs]
        else:
            bufs = o.buffers()
            reads += [touch(v, *_whole(v.type)) for v in bufs[:-1]]
            writes.append(touch(bufs[-1], *_whole(bufs[-1].type)))
        acc.append((reads, writes))
    anc: list[int] = []
    pos = {o.results[-1]: i for i, o in enumerate(ops)}
    for i, o in enumerate(ops):
        a = 0
        for t in o.deps:
            j = pos[t]
            a |= anc[j] | (1 << j)
        anc.append(a)

    def meet(xs, ys) -> bool:
        return any(kx == ky and sx & sy for kx, sx in xs for ky, sy in ys)

    out = []
    for j in range(len(ops)):
        rj, wj = acc[j]
        for i in range(j):
            if anc[j] >> i & 1:
                continue
            ri, wi = acc[i]
            if meet(wi, rj) or meet(wi, wj) or meet(ri, wj):
                out.append(f"{ops[i].name} #{i} and {ops[j].name} #{j} touch the same bytes without a token path")
                if len(out) >= limit:
                    return out
    return out
