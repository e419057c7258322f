"""``ax-run``: execute a compiled package on the AIPU simulator (bit-exact) and estimate its cycles.

::

    ax-run PKG --inputs in.npz --outputs out.npz [--profile] [--profile-json prof.json]

Inputs are arrays keyed by the ONNX input names, frames stacked on the batch axis; outputs are
written keyed by the ONNX output names. A Batch-x package runs x frames per execution (the last
group padded, see docs/isa.md). ``--profile`` prints the mode (Batch-1 / Batch-x), total cycles per
execution, the estimated frames per second at the configured frequency, and per-layer cycles and
MVM utilisation. Exit status
0 on success; on bad input (damaged package, npz with a missing key, wrong shape or dtype) a one-line
``ax-run: error: ...`` and status 1; the output file is only written (atomically) on success.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from axc.runtime.atomic import write_bytes_atomic
from axc.runtime.errors import AxcError, InputDataError


def load_npz(path: str | Path, what: str) -> dict[str, np.ndarray]:
    """All arrays of an .npz file; raises InputDataError naming the file when it cannot be read."""
    p = Path(path)
    if not p.is_file():
        raise InputDataError(f"{what} file {str(p)!r} does not exist")
    try:
        with np.load(p, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise InputDataError(f"{what} file {str(p)!r} is not a readable .npz ({e})") from None


def save_npz_atomic(path: str | Path, arrays: dict[str, np.ndarray]) -> None:
    """Write an .npz atomically (see :func:`axc.runtime.atomic.write_bytes_atomic`)."""
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    write_bytes_atomic(path, buf.getvalue())


def _build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ax-run", description=__doc__.split("\n\n")[0])
    p.add_argument("package", help="compiled package folder (from ax-compile)")
    p.add_argument("--inputs", required=True, help=".npz keyed by ONNX input names")
    p.add_argument("--outputs", required=True, help=".npz to write, keyed by ONNX output names")
    p.add_argument("--profile", action="store_true", help="print the cycle estimate per layer")
    p.add_argument("--profile-json", help="also write the cycle estimate as JSON to this file")
    return p


def run_package(args: argparse.Namespace) -> int:
    """Load, validate, execute, write outputs, and report the profile; returns the exit status."""
    from axc.runtime.executor import run
    from axc.runtime.package import load_package

    pkg = load_package(args.package)
    inputs = load_npz(args.inputs, "inputs")
    outputs = run(pkg, inputs)
    save_npz_atomic(args.outputs, outputs)
    if args.profile or args.profile_json:
        report = pkg.cycle_report()
        if args.profile:
            print(report.format())
        if args.profile_json:
            Path(args.profile_json).write_text(json.dumps(report.to_dict(), indent=2) + "\n")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point of ``ax-run``."""
    args = _build_parser().parse_args(argv)
    try:
        return run_package(args)
    except AxcError as e:
        print(f"ax-run: error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
