"""How many BLAS threads a matrix product gets: one for small products, the library default otherwise.

Why: numpy's OpenBLAS wakes its worker threads for every ``matmul``. On the 2-core build machines a
small product (under a few million multiply-accumulates) costs more in waking and joining threads
than it saves: ``bench/bench_kernels.py`` and the measurements in docs/benchmarks.md ("BLAS
threads") show a 784 x 34 x 34 grouped 1x1 convolution running about 4x faster on one thread when
the threads are cold, while a 115 M MAC product runs 2x faster on two. The count changes only when consecutive products fall on different sides of the threshold.

The thread count is set through threadpoolctl (the maintained way to control BLAS pools from
Python). The executor runs each frame in a :class:`blas_scope`; each convolution plan calls
:func:`for_product` before its products. Without threadpoolctl, or without a BLAS it knows, both do
nothing: results never depend on the thread count (the products are exact, see ``conv_kernels``).
"""

from __future__ import annotations

from typing import Any

import numpy as np  # noqa: F401  (loads the BLAS before threadpoolctl looks for it)

__all__ = ["SMALL_MATMUL_MACS", "blas_scope", "for_product"]

#: products below this many multiply-accumulates run on one BLAS thread (about 4.2 M MACs: on the
#: build machines two hot threads win from about 10 M MACs, and threads are rarely hot here)
SMALL_MATMUL_MACS = 1 << 22

_BLAS: list[Any] | None = None
_STATE: dict[str, Any] = {"depth": 0, "saved": [], "current": None}


def _blas() -> list[Any]:
    global _BLAS
    if _BLAS is None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # a deployed runtime without threadpoolctl: leave the pool alone
            _BLAS = []
        else:
            _BLAS = [c for c in ThreadpoolController().lib_controllers if c.user_api == "blas"]
    return _BLAS


class blas_scope:  # noqa: N801  (used like a function: ``with blas_scope():``)
    """Context manager inside which :func:`for_product` chooses the BLAS thread count.

    On entering the outermost scope the current thread counts are saved; :func:`for_product`
    then switches between 1 and the saved counts (calling into the BLAS only when the choice
    changes); leaving the outermost scope restores the saved counts. Scopes nest. Not thread-safe:
    one executor runs in one Python thread at a time.
    """

    def __enter__(self) -> None:
        if _STATE["depth"] == 0:
            _STATE["saved"] = [lib.get_num_threads() for lib in _blas()]
            _STATE["current"] = None
        _STATE["depth"] += 1

    def __exit__(self, *exc: object) -> None:
        _STATE["depth"] -= 1
        if _STATE["depth"] == 0 and _STATE["current"] == 1:
            for lib, n in zip(_blas(), _STATE["saved"], strict=True):
                lib.set_num_threads(n)


def for_product(macs: int) -> None:
    """Set the BLAS thread count for a product of ``macs`` multiply-accumulates: 1 below
    :data:`SMALL_MATMUL_MACS`, the count saved by the enclosing :class:`blas_scope` otherwise. Does
    nothing outside a scope."""
    if not _STATE["depth"]:
        return
    want = 1 if macs < SMALL_MATMUL_MACS else 0  # 0: the saved counts
    if want != _STATE["current"]:
        for lib, n in zip(_blas(), _STATE["saved"], strict=True):
            lib.set_num_threads(want or n)
        _STATE["current"] = want
