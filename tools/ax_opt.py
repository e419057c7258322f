"""``ax-opt``: xdsl-opt with axc's dialects and passes, plus MLIR-style ``--pass-pipeline``.

Usage (as mlir-opt / xdsl-opt)::

    ax-opt in.mlir -p onnx-fold-batchnorm,convert-onnx-to-quant
    ax-opt in.mlir --pass-pipeline='builtin.module(onnx-calibrate{frames=2},convert-onnx-to-quant)'
    ax-opt prog.mlir -t aipu-asm

Our dialects and passes come from the ``xdsl.universe`` entry point (:mod:`axc.tools.universe`).
Errors (bad IR, verifier failures, failing passes, bad pass options) are printed as
``ax-opt: error: <message>`` with exit status 1, never as a Python traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from xdsl.utils.exceptions import DiagnosticException, ParseError, PassFailedException
from xdsl.xdsl_opt_main import xDSLOptMain

from axc.runtime.errors import AxcError


class PipelineSyntaxError(AxcError):
    """A ``--pass-pipeline`` string is not ``builtin.module(...)``."""


def pipeline_to_passes(pipeline: str) -> str:
    """``builtin.module(a,b{x=1})`` -> ``a,b{x=1}`` (the xdsl-opt ``-p`` syntax).

    Raises PipelineSyntaxError for anything but one module-level pipeline.
    """
    text = pipeline.strip()
    for prefix in ("builtin.module(", "module("):
        if text.startswith(prefix):
            if not text.endswith(")"):
                raise PipelineSyntaxError(f"--pass-pipeline: missing ')' at the end of {pipeline!r}")
            return text[len(prefix) : -1].strip()
    raise PipelineSyntaxError(
        f"--pass-pipeline must be 'builtin.module(pass1,pass2{{opt=val}})', got {pipeline!r}"
    )


def translate_args(argv: Sequence[str]) -> list[str]:
    """Rewrite ``--pass-pipeline`` arguments into xdsl-opt's ``-p``."""
    out: list[str] = []
    it = iter(argv)
    for arg in it:
        if arg == "--pass-pipeline":
            value = next(it, None)
            if value is None:
                raise PipelineSyntaxError("--pass-pipeline needs a value")
            out += ["-p", pipeline_to_passes(value)]
        elif arg.startswith("--pass-pipeline="):
            out += ["-p", pipeline_to_passes(arg.split("=", 1)[1])]
        else:
            out.append(arg)
    return out


class AxOptMain(xDSLOptMain):
    """xDSLOptMain whose description names axc; dialects/passes come from the multiverse."""

    def __init__(self, args: Sequence[str] | None = None):
        super().__init__(description="axc modular optimizer driver (xdsl-opt with axc's dialects and passes)", args=args)


def _one_line(e: BaseException) -> str:
    text = str(e).strip()
    return text if text else type(e).__name__


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point of ``ax-opt``; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        AxOptMain(translate_args(argv)).run()
    except SystemExit as e:  # argparse errors keep their message and status
        raise e
    except (AxcError, ParseError, DiagnosticException, PassFailedException) as e:
        print(f"ax-opt: error: {_one_line(e)}", file=sys.stderr)
        return 1
    except BaseException as e:  # xdsl's ArgSpecParseError derives from BaseException
        if type(e).__name__ in {"ArgSpecParseError", "ValueError", "TypeError", "KeyError"}:
            print(f"ax-opt: error: {type(e).__name__}: {_one_line(e)}", file=sys.stderr)
            return 1
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
