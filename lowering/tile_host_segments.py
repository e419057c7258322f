"""Host segments of ``convert-quant-to-tile``: runs of onnx host ops and the ``tile.host`` of each.

Contract:

* :class:`HostSegmentsMixin` is mixed into the converter (``_Converter`` in
  convert_quant_to_tile.py). It relies on the converter's ``opts``, ``L`` (the :class:`Lowering`),
  ``ops`` / ``index`` (the ops of ``@main`` and their program positions), ``out_names``, ``ret``
  (set by ``_plan_outputs``) and on its ``_copy``, ``_f32_input`` and ``_f32_output``.
* ``_plan_segments`` (before the walk) groups the onnx ops (not ``onnx.Constant``) into
  :class:`HostSegment` s in ``L.segments`` / ``L.seg_of``: an op joins (and merges) the open
  segments of its operands; a segment is closed once an AIPU op or the return reads one of its
  quantized results. Members are kept in program order.
* ``_emit_segment`` (during the walk, before the first reader of a result) appends one
  ``tile.host`` whose region holds clones of the members and of the onnx constants they read.
  Its inputs are the whole buffers of dequantized values (a box of a larger buffer is first copied
  by ``_whole``), f32 graph inputs and f32 results of earlier segments; its outputs are the storage
  of the ``quant.quantize`` users and new f32 buffers for the values read outside the segment (an
  f32 ``output`` buffer for a graph result). It waits for the writers of its inputs and is recorded
  as the writer of its outputs; ``scales`` / ``zero_points`` / ``shapes`` list the inputs, then the
  outputs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from xdsl.dialects import func
from xdsl.dialects.builtin import ArrayAttr, StringAttr, TensorType, f32, i8
from xdsl.ir import Attribute, Block, BlockArgument, Operation, Region, SSAValue

from axc.dialects import onnx, quant, tile
from axc.dialects.tile import f64_array, i64_array
from axc.lowering.tile_builder import HostSegment, Lowering, Store, _shape, dedup, describe, src_name
from axc.runtime.errors import CompileError

if TYPE_CHECKING:
    from axc.lowering.convert_quant_to_tile import ConvertQuantToTilePass

__all__ = ["HostSegmentsMixin"]


class HostSegmentsMixin:
    """Planning and emission of host segments (see the module docstring)."""

    opts: ConvertQuantToTilePass
    L: Lowering
    ops: list[Operation]
    index: dict[Operation, int]
    ret: func.ReturnOp
    out_names: list[str]
    _copy: Callable[[Store, Store, str], None]
    _f32_input: Callable[[BlockArgument], SSAValue]
    _f32_output: Callable[[str, SSAValue], SSAValue]

    def _plan_segments(self) -> None:
        """Group host onnx ops into segments, closed once an AIPU op reads one of their results."""
        L = self.L
        for o in self.ops:
            if isinstance(o, onnx.ConstantOp) and not any(u.operation is self.ret for u in o.output.uses):
                continue  # constants are cloned into the segments that read them
            if isinstance(o, onnx.ConstantOp):  # a graph output that is a constant: a segment writes it
                seg = HostSegment()
                L.segments.append(seg)
                seg.ops.append(o)
                L.seg_of[o] = seg
                continue
            if isinstance(o, onnx.OnnxOp):
                parents: list[HostSegment] = []
                for v in o.operands:
                    p = v.owner
                    if isinstance(p, Operation) and p in L.seg_of and not L.seg_of[p].closed:
                        s = L.seg_of[p]
                        if s not in parents:
                            parents.append(s)
                seg = parents[0] if parents else HostSegment()
                if not parents:
                    L.segments.append(seg)
                for other in parents[1:]:
                    for m in other.ops:
                        L.seg_of[m] = seg
                    seg.ops.extend(other.ops)
                    L.segments.remove(other)
                seg.ops.append(o)
                L.seg_of[o] = seg
                continue
            if isinstance(o, quant.QuantizeOp | quant.DequantizeOp):
                continue
            # an AIPU op (or the return) that reads a quantized host result closes its segment
            for v in o.operands:
                p = v.owner
                if isinstance(p, quant.QuantizeOp) and isinstance(p.input.owner, Operation):
                    s = L.seg_of.get(p.input.owner)
                    if s is not None:
                        s.closed = True
        # keep member order = program order
        for s in L.segments:
            s.ops.sort(key=lambda m: self.index[m])

    def _emit_segment(self, seg: HostSegment) -> None:
        L = self.L
        seg.emitted = True
        members = set(seg.ops)
        block = Block()
        vmap: dict[SSAValue, SSAValue] = {}
        in_bufs: list[SSAValue] = []
        params: list[tuple[float, int, tuple[int, ...]]] = []
        deps: list[SSAValue] = []

        def add_input(key: SSAValue, buf: SSAValue, scale: float, zp: int, shape: tuple[int, ...],
                      element: Attribute = f32) -> SSAValue:
            arg = block.insert_arg(TensorType(element, list(shape)), len(block.args))
            in_bufs.append(buf)
            params.append((scale, zp, shape))
            zero = [0] * len(buf.type.get_shape())  # type: ignore[union-attr]
            deps.extend(L.read_deps(buf, zero, buf.type.get_shape()))  # type: ignore[union-attr]
            vmap[key] = arg
            return arg

        new_ops: list[Operation] = []
        for m in seg.ops:
            for v in m.operands:
                if v in vmap:
                    continue
                p = v.owner
                if isinstance(p, onnx.ConstantOp):
                    c = p.clone()
                    new_ops.append(c)
                    vmap[v] = c.results[0]
                elif isinstance(p, quant.DequantizeOp):
                    q = p.input
                    s = self._whole(L.store[q], q)
                    u = quant.uniform_of(q)
                    add_input(v, s.buf, u.s, u.zp, _shape(q))
                elif isinstance(v, BlockArgument):
                    add_input(v, self._f32_input(v), 1.0, 0, _shape(v), v.type.get_element_type())  # type: ignore[union-attr]
                elif isinstance(p, Operation) and p not in members:
                    if v not in L.f32_store:
                        raise CompileError(f"convert-quant-to-tile: host op {describe(m)} reads a value made by {describe(p)}")
                    add_input(v, L.f32_store[v], 1.0, 0, _shape(v), v.type.get_element_type())  # type: ignore[union-attr]
            c = m.clone(value_mapper=vmap)
            for a, b in zip(m.results, c.results):
                vmap[a] = b
            new_ops.append(c)
        block.add_ops(new_ops)
        # outputs: quantized results, f32 values read outside the segment
        outs: list[tuple[SSAValue, SSAValue, float, int, tuple[int, ...], SSAValue | None]] = []
        ret_vals = set(self.ret.arguments)
        for m in seg.ops:
            for r in m.results:
                for use in list(r.uses):
                    user = use.operation
                    if user in members:
                        continue
                    if isinstance(user, quant.QuantizeOp):
                        if any(o[5] is user.output for o in outs):
                            continue
                        u = quant.uniform_of(user.output)
                        s = L.activation_store(user.output, src_name(m), user)
                        outs.append((r, s.buf, u.s, u.zp, _shape(user.output), user.output))
                    elif r not in L.f32_store:
                        if r in ret_vals and not isinstance(user, onnx.OnnxOp):
                            name = self.out_names[list(self.ret.arguments).index(r)]
                            buf = self._f32_output(name, r)
                        else:
                            shape = _shape(r)
                            buf = L.new_buffer("activation", src_name(m), shape, r.type.get_element_type(),  # type: ignore[union-attr]
                                               self.opts.workspace_pool)
                        L.f32_store[r] = buf
                        outs.append((r, buf, 1.0, 0, _shape(r), None))
        block.add_op(tile.YieldOp([vmap[o[0]] for o in outs]))
        all_params = params + [(o[2], o[3], o[4]) for o in outs]
        out_bufs = [o[1] for o in outs]
        host = tile.HostOp.build(
            operands=[in_bufs, out_bufs, dedup(deps)],
            result_types=[tile.TokenType()],
            properties={
                "scales": f64_array([p[0] for p in all_params]),
                "zero_points": i64_array([p[1] for p in all_params]),
                "shapes": ArrayAttr([i64_array(p[2]) for p in all_params]),
                "src": StringAttr(src_name(seg.ops[0])),
            },
            regions=[Region(block)],
        )
        L.body.append(host)
        for b in out_bufs:
            shape = b.type.get_shape()  # type: ignore[union-attr]
            L.record_write(b, [0] * len(shape), shape, host.token)

    def _whole(self, s: Store, v: SSAValue) -> Store:
        """``s`` if the host can read it as ``buffer[:H, :W, :C]``, else a copy into a new buffer."""
        if s.whole:
            return s
        L = self.L
        name = src_name(v.owner) if isinstance(v.owner, Operation) else "value"
        buf = L.new_buffer("activation", f"{name}/copy", (*s.hwc[:2], L.pw(s.hwc[2])), i8, self.opts.workspace_pool)
        d = Store(buf, (0, 0, 0), s.hwc)
        self._copy(s, d, name)
        return d
