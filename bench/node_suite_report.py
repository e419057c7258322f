"""Report: ONNX's backend node test suite through axc, per op (the cases of issue 7's op set).

Runs every case of ``test/onnx/node_suite.py`` in both variants (``a`` as shipped, ``b`` with every
graph input but the first made a constant) through the three stages (import, float interpreter vs
the suite's outputs, full path compiled package with SQNR >= 20 dB) and prints one markdown row per
op; each cell is ``a / b``, the number of cases of that variant:

  cases        cases of the op in the suite (one-node cases and expanded function cases)
  imported     the import stage passes
  float ok     the onnx-level interpreter matches the expected outputs
  full path ok the compiled package matches (SQNR >= 20 dB, exact for non-float outputs)
  skipped      the full path is a skip (impossible by construction, see node_suite.skip_reason: for
               all stages, e.g. variant b of a one-input case, or for the full path only, e.g. an
               integer graph input)

Usage::

    python bench/node_suite_report.py [--ops Conv,Gemm] [--update] [--failures]

``--update`` rewrites ``test/onnx/node_suite_expected.json`` from this run (all ops only) and prints
which entries changed; ``--failures`` also lists the first line of every failure per op.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "test" / "onnx"))

import node_suite as ns  # noqa: E402


def run_all(ops: tuple[str, ...]) -> tuple[dict[str, dict[str, str]], dict[str, str]]:
    """Fresh results ``case_key -> stage -> status`` for the cases of ``ops``, and case -> op."""
    cases = {n: c for n, c in ns.collect_cases().items() if c.op_type in ops}
    results = {ns.case_key(n, v): ns.run_case(c, v) for n, c in cases.items() for v in ns.VARIANTS}
    return results, {n: c.op_type for n, c in cases.items()}


def table(results: dict[str, dict[str, str]], op_of: dict[str, str], ops: tuple[str, ...]) -> str:
    """The markdown table of the module docstring, with a total row."""
    counts: dict[tuple[str, str], Counter] = {}
    for name, op in op_of.items():
        for v in ns.VARIANTS:
            r = results[ns.case_key(name, v)]
            c = counts.setdefault((op, v), Counter())
            c["cases"] += 1
            c["imported"] += r["import"] == "pass"
            c["float ok"] += r["float"] == "pass"
            c["full path ok"] += r["full"] == "pass"
            c["skipped"] += r["full"].startswith("skip")  # an all-stage skip skips the full path too
    cols = ["cases", "imported", "float ok", "full path ok", "skipped"]
    lines = ["| op | " + " | ".join(cols) + " |", "|---|" + "---:|" * len(cols)]
    total = {v: Counter() for v in ns.VARIANTS}
    for op in ops:
        if (op, "a") not in counts:
            lines.append(f"| {op} | " + " | ".join("0" for _ in cols) + " |")
            continue
        a, b = counts[(op, "a")], counts[(op, "b")]
        total["a"].update(a)
        total["b"].update(b)
        cells = [str(a["cases"])] + [f"{a[k]} / {b[k]}" for k in cols[1:]]
        lines.append(f"| {op} | " + " | ".join(cells) + " |")
    ta, tb = total["a"], total["b"]
    lines.append("| **total** | " + " | ".join([str(ta["cases"])] + [f"{ta[k]} / {tb[k]}" for k in cols[1:]]) + " |")
    return "\n".join(lines)


def failures(results: dict[str, dict[str, str]], op_of: dict[str, str], ops: tuple[str, ...]) -> str:
    """Per op, each distinct failure's first line with the number of (case, variant, stage) it ends."""
    out = []
    for op in ops:
        msgs = Counter(s for n, o in op_of.items() if o == op for v in ns.VARIANTS
                       for s in results[ns.case_key(n, v)].values() if s.startswith("fail"))
        if msgs:
            out.append(f"\n{op}:")
            out.extend(f"  {k:4d}  {m[:200]}" for m, k in msgs.most_common())
    return "\n".join(out)


def changes(old: dict[str, dict[str, str]], new: dict[str, dict[str, str]]) -> list[str]:
    """``key stage: old -> new`` for every entry whose pass / skip / fail kind changed."""
    kind = lambda s: (s or "unlisted").split(":")[0]  # noqa: E731
    out = []
    for key in sorted(set(old) | set(new)):
        for stage in ns.STAGES:
            a, b = old.get(key, {}).get(stage), new.get(key, {}).get(stage)
            if kind(a) != kind(b):
                out.append(f"{key} {stage}: {kind(a)} -> {kind(b)}")
    return out


def main(argv: list[str] | None = None) -> int:
    """Console entry point (see the module docstring)."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--ops", help="comma-separated op types (default: the whole op set of issue 7)")
    p.add_argument("--update", action="store_true", help=f"rewrite {ns.EXPECTED_PATH.name} from this run")
    p.add_argument("--failures", action="store_true", help="list the distinct failures per op")
    args = p.parse_args(argv)
    ops = tuple(args.ops.split(",")) if args.ops else ns.OPS
    unknown = [o for o in ops if o not in ns.OPS]
    if unknown:
        p.error(f"--ops: {', '.join(unknown)} not in the op set ({', '.join(ns.OPS)})")
    if args.update and args.ops:
        p.error("--update rewrites the whole file: run it without --ops")
    t0 = time.perf_counter()
    results, op_of = run_all(ops)
    seconds = time.perf_counter() - t0
    print(table(results, op_of, ops))
    print(f"\n{len(op_of)} cases x {len(ns.VARIANTS)} variants in {seconds:.1f} s (onnx {ns.onnx.__version__}); "
          "cells are variant a / variant b")
    if args.failures:
        print(failures(results, op_of, ops))
    if args.update:
        diff = changes(ns.load_expected(), results)
        ns.dump_expected(results)
        print(f"\nwrote {ns.EXPECTED_PATH} ({len(diff)} entries changed kind)")
        for line in diff[:200]:
            print("  " + line)
        if len(diff) > 200:
            print(f"  ... and {len(diff) - 200} more")
    return 0


if __name__ == "__main__":
    sys.exit(main())
