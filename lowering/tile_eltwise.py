"""Element-wise quant ops lowered to DPU tile ops (``convert-quant-to-tile``): add, mul, requantize,
clamp and lut.

``EltwiseMixin`` is mixed into the converter of :mod:`axc.lowering.convert_quant_to_tile` (it uses its
``L`` builder, ``opts`` and ``_tile_op``). Every op tiles its output over height x channel tiles of
PWORD-aligned channel units; two-operand ops load both operand tiles, except a ``quant.mul`` by an
(N, C, 1, 1) gate, whose 1 x 1 x C vector is loaded once per channel tile (like a lut table) and kept
across the height tiles. The properties of each tile op are those of docs/architecture.md.
"""

from __future__ import annotations

from typing import Any

from xdsl.dialects.builtin import i8
from xdsl.ir import Operation, SSAValue

from axc.dialects import quant, tile
from axc.dialects.tile import i64_array, i64_attr
from axc.lowering.tile_builder import _hwc, aligned, dense, split_even, src_name
from axc.lowering.tiling_search import Geom

__all__ = ["EltwiseMixin"]


class EltwiseMixin:
    """Lowering of quant.add / quant.mul / quant.requantize / quant.clamp / quant.lut (module doc)."""

    L: Any
    opts: Any
    _tile_op: Any

    def _eltwise_geom(self, o: Operation, n_in: int) -> Geom:
        L = self.L
        h, w, c = _hwc(o.results[0], o)
        unit = min(max(1, self.opts.pword), c)
        n_units = -(-c // unit)

        class G(Geom):
            def c_split(self, n: int) -> list[tuple[int, int]]:
                return [(a * unit, min(c, b * unit)) for a, b in split_even(n_units, n)]

            def working_set(self, hr: tuple[int, int], cr: tuple[int, int]) -> int:
                return (n_in + 1) * aligned((hr[1] - hr[0]) * w * L.pw(cr[1] - cr[0]))

        return G(h, n_units, 1)

    def _lower_add(self, o: quant.AddOp) -> None:
        ma, mb, shift = o.requant_params()
        lo, hi = o.clamp_bounds()
        props = {
            "a_zp": i64_attr(quant.uniform_of(o.lhs).zp),
            "a_mult": i64_attr(ma),
            "b_zp": i64_attr(quant.uniform_of(o.rhs).zp),
            "b_mult": i64_attr(mb),
            "shift": i64_attr(shift),
            "out_zp": i64_attr(quant.uniform_of(o.output).zp),
            "clamp": i64_array((lo, hi)),
        }

        def make(ins, consts, ob, deps, hr, icr, cr):
            return tile.AddOp.build(operands=[ins[0], ins[1], ob, deps], result_types=[tile.TokenType()],
                                    properties={**props, "channels": i64_array((cr[1] - cr[0],))})

        self._tile_op(o, [o.lhs, o.rhs], self._eltwise_geom(o, 2), make)

    def _lower_mul(self, o: quant.MulOp) -> None:
        m, shift = o.requant_params()
        lo, hi = o.clamp_bounds()
        props = {
            "a_zp": i64_attr(quant.uniform_of(o.lhs).zp),
            "b_zp": i64_attr(quant.uniform_of(o.rhs).zp),
            "mult": i64_attr(m),
            "shift": i64_attr(shift),
            "out_zp": i64_attr(quant.uniform_of(o.output).zp),
            "clamp": i64_array((lo, hi)),
        }

        def make(ins, consts, ob, deps, hr, icr, cr):
            rhs = consts[0] if consts else ins[1]
            return tile.MulOp.build(operands=[ins[0], rhs, ob, deps], result_types=[tile.TokenType()],
                                    properties={**props, "channels": i64_array((cr[1] - cr[0],))})

        if not o.is_broadcast():
            self._tile_op(o, [o.lhs, o.rhs], self._eltwise_geom(o, 2), make)
            return
        self._tile_op(o, [o.lhs], self._channel_vector_geom(o, o.rhs), make)

    def _channel_vector_geom(self, o: Operation, vec: SSAValue) -> Geom:
        """Element-wise geometry of one activation input plus a (1, 1, C) vector ``vec`` that each
        channel tile loads once into L1 (as its constant) and keeps across its height tiles."""
        L = self.L
        src = src_name(o)
        base = self._eltwise_geom(o, 1)

        class G(type(base)):  # type: ignore[misc]
            def working_set(self, hr: tuple[int, int], cr: tuple[int, int]) -> int:
                return super().working_set(hr, cr) + aligned(L.pw(cr[1] - cr[0]))

            def constants(self, conv: Any, ci: int, c0: int, c1: int) -> list[tuple[SSAValue, SSAValue]]:
                vb = L.scratch(f"{src}/vec", (1, 1, L.pw(c1 - c0)))
                return [(vb, L.load(L.store[vec], (0, 1), (c0, c1), vb, src))]

        g = G(base.ho, base.n_units, base.min_c_tiles)
        return g

    def _lower_requantize(self, o: quant.RequantizeOp) -> None:
        m, s = o.requant_params()
        lo, hi = o.clamp_bounds()
        props = {
            "in_zp": i64_attr(quant.uniform_of(o.input).zp),
            "mult": i64_attr(m),
            "shift": i64_attr(s),
            "out_zp": i64_attr(quant.uniform_of(o.output).zp),
            "clamp": i64_array((lo, hi)),
        }

        def make(ins, consts, ob, deps, hr, icr, cr):
            return tile.RequantizeOp.build(operands=[ins[0], ob, deps], result_types=[tile.TokenType()],
                                           properties={**props, "channels": i64_array((cr[1] - cr[0],))})

        self._tile_op(o, [o.input], self._eltwise_geom(o, 1), make)

    def _lower_clamp(self, o: quant.ClampOp) -> None:
        lo, hi = o.clamp_bounds()

        def make(ins, consts, ob, deps, hr, icr, cr):
            return tile.ClampOp.build(operands=[ins[0], ob, deps], result_types=[tile.TokenType()],
                                      properties={"clamp": i64_array((lo, hi)),
                                                  "channels": i64_array((cr[1] - cr[0],))})

        self._tile_op(o, [o.input], self._eltwise_geom(o, 1), make)

    def _lower_lut(self, o: quant.LutOp) -> None:
        L = self.L
        src = src_name(o)
        h, w, c = _hwc(o.output, o)
        unit = min(max(1, self.opts.pword), c)
        n_units = -(-c // unit)
        table = L.constant(f"{src}/lut", dense(o.table_array(), (256,), i8), src)

        class G(Geom):
            def c_split(self, n: int) -> list[tuple[int, int]]:
                return [(a * unit, min(c, b * unit)) for a, b in split_even(n_units, n)]

            def working_set(self, hr: tuple[int, int], cr: tuple[int, int]) -> int:
                return 2 * aligned((hr[1] - hr[0]) * w * L.pw(cr[1] - cr[0])) + aligned(256)

            def constants(self, conv: Any, ci: int, c0: int, c1: int) -> list[tuple[SSAValue, SSAValue]]:
                tl = L.scratch(f"{src}/lut", (256,))
                return [(tl, L.dma(table, tl, (0,), (0,), (256,), [], src))]

        def make(ins, consts, ob, deps, hr, icr, cr):
            return tile.LutOp.build(operands=[ins[0], consts[0], ob, deps], result_types=[tile.TokenType()],
                                    properties={"channels": i64_array((cr[1] - cr[0],))})

        self._tile_op(o, [o.input], G(h, n_units, 1), make)
