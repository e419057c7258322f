"""Tiling search of ``convert-quant-to-tile``: how many height x channel tiles an op is cut into.

Contract:

* :class:`Geom` describes one op to the search and to the emission (``_Converter._tile_op``): how
  its output rows (``h_split``) and output-channel units (``c_split``) split into tiles, which
  input channels (``in_channels``) and input rows with halo and pads (``in_rows``) a tile reads,
  the L1 bytes of one tile (``working_set``) and the constants (weights, tables) loaded into L1
  once per channel tile (``constants``). Lowerings subclass it per op.
* :func:`search_tiling` starts from one height tile (or ``force-h-tiling``) and the fewest channel
  tiles the weight set allows (or ``force-oc-tiling``), then doubles the height or the channel tile
  count, whichever shrinks the largest working set more, up to ``max-tiling-attempts`` times, until
  the largest working set fits ``l1-bytes``. It returns the :class:`TilingPlan`, or raises
  :class:`CompileError` naming the op, the bytes needed and the bytes available.

The search only evaluates ``working_set``: it emits no IR.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from xdsl.ir import Operation, SSAValue

from axc.lowering.tile_builder import TilingPlan, describe, split_even
from axc.runtime.errors import CompileError

if TYPE_CHECKING:
    from axc.lowering.convert_quant_to_tile import ConvertQuantToTilePass, _Converter

__all__ = ["Geom", "search_tiling"]


def search_tiling(
    opts: ConvertQuantToTilePass,
    op: Operation,
    ho: int,
    n_units: int,
    min_c_tiles: int,
    h_split: Callable[[int], list[tuple[int, int]]],
    c_split: Callable[[int], list[tuple[int, int]]],
    working_set: Callable[[tuple[int, int], tuple[int, int]], int],
) -> TilingPlan:
    """Smallest tiling (height tiles x channel tiles) whose largest L1 working set fits l1-bytes."""
    fh = opts.force_h_tiling if opts.force_h_tiling > 0 else 0
    fc = opts.force_oc_tiling if opts.force_oc_tiling > 0 else 0
    nh = min(fh or 1, ho)
    nc = min(max(fc or 1, min_c_tiles), n_units)

    def need_of(nh: int, nc: int) -> tuple[int, list[tuple[int, int]], list[tuple[int, int]]]:
        hs, cs = h_split(nh), c_split(nc)
        need = 0
        for c in cs:
            for h in hs:
                need = max(need, working_set(h, c))
        return need, hs, cs

    need, hs, cs = need_of(nh, nc)
    attempts = 0
    while need > opts.l1_bytes:
        if attempts >= opts.max_tiling_attempts:
            break
        cands = []
        if not fh and nh < ho:
            cands.append((need_of(min(2 * nh, ho), nc), min(2 * nh, ho), nc))
        if not fc and nc < n_units:
            cands.append((need_of(nh, min(2 * nc, n_units)), nh, min(2 * nc, n_units)))
        if not cands:
            break
        (need, hs, cs), nh, nc = min(cands, key=lambda c: c[0][0])
        attempts += 1
    if need > opts.l1_bytes:
        raise CompileError(
            f"convert-quant-to-tile: {describe(op)} does not fit in L1: its finest tiling "
            f"({len(hs)} height x {len(cs)} channel tiles) needs {need} bytes, "
            f"{opts.l1_bytes} bytes available (l1-bytes)"
        )
    return TilingPlan(hs, cs, need)


class Geom:
    """Tiling geometry of one op: how outputs split and which inputs a tile needs."""

    def __init__(self, ho: int, n_units: int, min_c_tiles: int):
        self.ho = ho
        self.n_units = n_units
        self.min_c_tiles = min_c_tiles

    def h_split(self, n: int) -> list[tuple[int, int]]:
        return split_even(self.ho, n)

    def c_split(self, n: int) -> list[tuple[int, int]]:
        raise NotImplementedError

    def in_channels(self, c0: int, c1: int) -> tuple[int, int]:
        return c0, c1

    def in_rows(self, o0: int, o1: int) -> tuple[int, int, int, int]:
        return o0, o1, 0, 0

    def working_set(self, hr: tuple[int, int], cr: tuple[int, int]) -> int:
        raise NotImplementedError

    def constants(self, conv: _Converter, ci: int, c0: int, c1: int) -> list[tuple[SSAValue, SSAValue]]:
        return []
