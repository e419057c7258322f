"""``ax-compile``: ONNX model -> compiled AIPU package (or the IR at one level).

::

    ax-compile MODEL.onnx -o PKG [--config model.yaml|config.toml] [--model NAME]
               [--calibration-data calib.npz] [--input-shape NAME=1x3x224x224 ...]
    ax-compile MODEL.onnx --emit onnx|quant|tile|aipu -o FILE.mlir
    ax-compile MODEL.onnx --print-pipeline

Import, calibrate, quantize, tile, plan memory, lower to the AIPU ISA, and write the package
atomically (a failed compile leaves no PKG behind). Exit status 0 on success; on bad input a one-line
``ax-compile: error: ...`` and status 1.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from axc.runtime.atomic import write_bytes_atomic
from axc.runtime.errors import AxcError, CompileError, ModelError


def parse_input_shapes(values: Sequence[str]) -> dict[str, list[int]]:
    """``["data=1x3x224x224"]`` -> ``{"data": [1, 3, 224, 224]}``; raises ModelError on bad syntax."""
    shapes: dict[str, list[int]] = {}
    for v in values:
        name, sep, dims = v.rpartition("=")
        try:
            if not sep or not name:
                raise ValueError
            shapes[name] = [int(d) for d in dims.lower().split("x")]
            if any(d <= 0 for d in shapes[name]):
                raise ValueError
        except ValueError:
            raise ModelError(f"--input-shape {v!r}: expected NAME=DIMS like data=1x3x224x224") from None
    return shapes


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (see :func:`axc.runtime.atomic.write_bytes_atomic`)."""
    write_bytes_atomic(path, text.encode())


def _build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ax-compile", description=__doc__.split("\n\n")[0])
    p.add_argument("model", help="the ONNX model file")
    p.add_argument("-o", "--output", help="package folder (or IR file with --emit)")
    p.add_argument("--config", help="YAML model card or TOML compiler configuration")
    p.add_argument("--model", dest="model_name", help="model of the card to compile (cards with several models)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override one configuration property (highest precedence)")
    p.add_argument("--calibration-data", help=".npz of calibration frames keyed by ONNX input names")
    p.add_argument("--calibration-frames", type=int, default=8, help="random frames when no data is given (default 8)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random calibration frames")
    p.add_argument("--input-shape", action="append", default=[], metavar="NAME=DIMS")
    p.add_argument("--cpu-fallback-ops", default="", metavar="OP,OP",
                   help="ONNX op types to run on the host even where the AIPU could (onnx-place)")
    p.add_argument("--emit", choices=["onnx", "quant", "tile", "aipu"], help="write the IR at this level")
    p.add_argument("--print-pipeline", action="store_true", help="print the pass pipeline and exit")
    p.add_argument("-v", "--verbose", action="store_true", help="print the time of each stage")
    return p


def compile_model(args: argparse.Namespace) -> int:
    """Run one compilation described by parsed command-line arguments; returns the exit status."""
    from axc.config import load_config
    from axc.lowering.compile_pipeline import make_context, pipeline_stages, pipeline_text, run_stages, stages_until

    from axc.config import check_card_budget, parse_override

    overrides = dict(parse_override(o) for o in args.set)
    eff = load_config(args.config, model=args.model_name, overrides=overrides or None)
    if args.config and str(args.config).endswith((".yaml", ".yml")):
        check_card_budget(args.config, args.model_name, overrides or None)
    cfg = eff.config
    fallback = [t.strip() for t in args.cpu_fallback_ops.split(",") if t.strip()]
    stages = pipeline_stages(cfg, args.calibration_data, frames=args.calibration_frames, seed=args.seed,
                             cpu_fallback_ops=fallback)
    if args.print_pipeline:
        print(pipeline_text(stages))
        return 0
    if not args.output:
        raise AxcError("missing -o/--output (the package folder, or the IR file with --emit)")
    from axc.config.effects import not_acted_on

    ignored = not_acted_on({k: getattr(eff.config, k) for k, src in eff.sources.items() if src != "default"})
    if ignored:
        print(f"ax-compile: note: accepted but not acted on yet: {', '.join(ignored)}", file=sys.stderr)
    if args.calibration_data is None:
        print(
            f"ax-compile: no --calibration-data: calibrating on {args.calibration_frames} seeded random frames (seed {args.seed})",
            file=sys.stderr,
        )
    from axc.lowering.onnx_importer import import_onnx

    t0 = time.perf_counter()
    from axc.lowering.compile_pipeline import import_options

    module = import_onnx(args.model, parse_input_shapes(args.input_shape), **import_options(cfg))
    ctx = make_context()
    out = Path(args.output)
    if args.emit is not None:
        run_stages(ctx, module, stages_until(stages, args.emit))
        write_text_atomic(out, str(module) + "\n")
        return 0
    run_stages(ctx, module, stages)
    from axc.lowering.onnx_place import read_summary, summary_text
    from axc.lowering.package_writer import write_package

    write_package(out, module, cfg, source_model=Path(args.model))
    summary = read_summary(module)
    if summary is not None:
        print(f"ax-compile: {summary_text(summary)}", file=sys.stderr)
    if args.verbose:
        print(f"ax-compile: compiled in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point of ``ax-compile``."""
    args = _build_parser().parse_args(argv)
    import warnings

    def show(message, category, filename, lineno, file=None, line=None):  # noqa: ARG001 - warnings API
        print(f"ax-compile: warning: {message}", file=sys.stderr)

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always", UserWarning)
            warnings.showwarning = show
            return compile_model(args)
    except AxcError as e:
        print(f"ax-compile: error: {e}", file=sys.stderr)
        return 1
    except Exception as e:  # a pass failure or a verifier error: name it in one line, no traceback
        from xdsl.utils.exceptions import DiagnosticException, PassFailedException, VerifyException

        if isinstance(e, (PassFailedException, VerifyException, DiagnosticException)):
            print(f"ax-compile: error: {str(e).strip().splitlines()[0]}", file=sys.stderr)
            return 1
        raise


__all__ = ["main", "compile_model", "parse_input_shapes", "CompileError"]

if __name__ == "__main__":
    sys.exit(main())
