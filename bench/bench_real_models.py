"""Benchmark: the real-weight vision models of models/real/models.toml on the current compiler.

Per model (models/real/harness.py does the work):
  status       compiled, or the first line of the error (compile error / run error / crash); for the
               importer's unsupported-op error the blocking op types with their node counts
  GMAC         multiply-accumulates of the float model's Conv / ConvTranspose / Gemm / MatMul nodes at
               the compiled input shape (models/real/macs.py; shapes from onnxruntime)
  AIPU MACs    share of those the package runs on the AIPU (cycle model's mvm MACs / GMAC)
  SQNR dB      package output vs onnxruntime float on the held-out images (worst output)
  compile s    import + graph passes + calibration on the real images + quant + tile + aipu + package
               (up to the failure, for a failed model)

Then the blocking op types over all models: how many models each blocks, and on how many nodes.

Usage: ``python bench/bench_real_models.py [--models ID,ID] [--cache DIR]``. The models are fetched
first (models/real/fetch_models.py; PyPI only) unless already in the cache.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "models"))
from real.fetch_models import FetchError, cache_dir, fetch, load_manifest, select  # noqa: E402
from real.harness import RealResult, evaluate  # noqa: E402


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def table(rows: list[tuple[RealResult, str]]) -> str:
    """The markdown table of the results (``rows``: result, arch text)."""
    out = ["| model | task | package | status | GMAC | AIPU MACs | SQNR dB | compile s |",
           "|---|---|---|---|---|---|---|---|"]
    for r, _ in rows:
        gmac = f"{r.total_macs / 1e9:.3f}" if r.total_macs is not None else "-"
        share = f"{r.mac_share:.1%}" if r.mac_share is not None else "-"
        sqnr = f"{r.min_sqnr_db:.1f}" if r.min_sqnr_db is not None else "-"
        cs = f"{r.compile_s:.1f}" if r.compile_s is not None else "-"
        out.append(f"| {r.id} | {r.task} | {r.package} | {_cell(r.summary)} | {gmac} | {share} | {sqnr} | {cs} |")
    return "\n".join(out)


def blocking_summary(results: list[RealResult]) -> str:
    """``Sigmoid 3 models / 138 nodes, ...``: the blocking op types over every model."""
    models, nodes = Counter(), Counter()
    for r in results:
        for t, n in r.blocking.items():
            models[t] += 1
            nodes[t] += n
    return ", ".join(f"{t} {models[t]} models / {nodes[t]} nodes" for t, _ in models.most_common())


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", help="comma-separated model ids (default: all of models.toml)")
    p.add_argument("--cache", help="model cache (default $AXC_MODEL_CACHE or models/real/cache/)")
    args = p.parse_args(argv)
    try:
        entries = select(load_manifest(), args.models)
    except FetchError as e:
        print(f"bench_real_models: error: {e}", file=sys.stderr)
        return 1
    cache = cache_dir(args.cache)
    paths = fetch(entries, cache)
    rows: list[tuple[RealResult, str]] = []
    with tempfile.TemporaryDirectory(prefix="axc-real-") as tmp:
        for e in entries:
            path = paths[e.id]
            if isinstance(path, FetchError):
                r = RealResult(e.id, e.task, e.package, status="not fetched", error=str(path))
            else:
                r = evaluate(e, path, Path(tmp) / e.id)
            rows.append((r, e.arch))
            print(f"{e.id}: {r.summary}", file=sys.stderr, flush=True)
    results = [r for r, _ in rows]
    print(table(rows))
    print()
    n_ok = sum(r.status == "compiled" for r in results)
    print(f"{n_ok} of {len(results)} compiled. Blocking op types: {blocking_summary(results) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
