"""Storage planning of ``convert-quant-to-tile``: which values share a buffer, decided before the walk.

Contract:

* :class:`StoragePlanMixin` is mixed into the converter (``_Converter`` in
  convert_quant_to_tile.py). It relies on the converter's ``fn`` (the quant ``@main``), ``ops``
  (its ops in program order), ``out_names`` and ``L`` (the :class:`Lowering`), and sets ``ret``.
* ``_plan_outputs``: a graph output that dequantizes a value written by an AIPU op (through
  order-keeping ``quant.reshape`` s) gets that value's buffer as its int8 ``output`` buffer
  (``L.out_assign``), so no copy is needed; any other int8 output is copied at the end of the walk.
  Raises :class:`CompileError` when ``@main`` does not end with ``func.return``.
* ``_plan_concat_aliases``: an input of a ``quant.concat`` written by an AIPU op into a buffer of
  its own, not already aliased, not a graph output, not read by a host op and not repeated in the
  concat, is written straight into its slice of the concat buffer (``L.alias``: root value and
  HWC offset), so the concat costs no DMA for it. Concats are visited last first, so nested
  concats alias into the outermost buffer.
"""

from __future__ import annotations

from xdsl.dialects import func
from xdsl.ir import Operation, SSAValue

from axc.dialects import quant
from axc.lowering.tile_builder import Lowering, _hwc, concat_dim
from axc.runtime.errors import CompileError

__all__ = ["StoragePlanMixin"]


class StoragePlanMixin:
    """Planning of graph-output buffers and concat aliases (see the module docstring)."""

    fn: func.FuncOp
    ops: list[Operation]
    out_names: list[str]
    L: Lowering
    ret: func.ReturnOp

    def _plan_outputs(self) -> None:
        ret = self.fn.body.block.last_op
        if not isinstance(ret, func.ReturnOp):
            raise CompileError("convert-quant-to-tile: @main must end with func.return")
        self.ret = ret
        for v, name in zip(ret.arguments, self.out_names, strict=True):
            owner = v.owner
            if isinstance(owner, quant.DequantizeOp):
                q = owner.input
                root = q
                # the output buffer is the buffer of the value before order-keeping reshapes
                while isinstance(root.owner, quant.ReshapeOp) and root not in self.L.out_assign:
                    root = root.owner.input
                if root not in self.L.out_assign and self._writes_own_buffer(root):
                    self.L.out_assign[root] = (name, q)  # else copied at the end
            # f32 outputs (host results, arguments) are handled when the segment is emitted / at the end

    def _writes_own_buffer(self, v: SSAValue) -> bool:
        return isinstance(v.owner, quant.Conv2dOp | quant.MaxPoolOp | quant.AvgPoolOp | quant.AddOp | quant.MulOp
                          | quant.RequantizeOp | quant.ClampOp | quant.ConcatOp)

    def _plan_concat_aliases(self) -> None:
        host_used: set[SSAValue] = set()
        for o in self.ops:
            if isinstance(o, quant.DequantizeOp):
                host_used.add(o.input)
        for o in reversed(self.ops):
            if not isinstance(o, quant.ConcatOp):
                continue
            dim = concat_dim(o)
            offset = 0
            seen: set[SSAValue] = set()
            for v in o.inputs:
                ext = _hwc(v, o)[dim]
                ok = (
                    self._writes_own_buffer(v)
                    and v not in self.L.alias
                    and v not in self.L.out_assign
                    and v not in host_used
                    and v not in seen
                )
                seen.add(v)
                if ok:
                    off = [0, 0, 0]
                    off[dim] = offset
                    self.L.alias[v] = (o.output, (off[0], off[1], off[2]))
                offset += ext
