"""Real-weight vision models from PyPI packages (models/real/models.toml), compiled end to end.

Per model: calibrate on 2-4 real images (scikit-image's data module, preprocessed as the model's
package does), compile at the manifest's input shape, run the package on held-out images and compare
with onnxruntime float. A model the compiler refuses with a clean one-line error (an unsupported
op, a quantization limit) is an expected failure whose reason is that line; a traceback, a run
failure, an SQNR under the manifest's ``min_sqnr_db`` (10 dB by default) or an AIPU MAC share
outside (0, 1] fails. The models are fetched into models/real/cache/ (or $AXC_MODEL_CACHE) by
models/real/fetch_models.py; without network and without a cache the tests are skipped.

Slow (downloads about 110 MB once, then compiles every model): ``-m slow`` selects them.
``python bench/bench_real_models.py`` prints the same results as a table.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytest.importorskip("skimage", reason="scikit-image (the dev extra) provides the test images")

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "models"))
from real.fetch_models import FetchError, cache_dir, fetch, load_manifest  # noqa: E402
from real.harness import evaluate  # noqa: E402

ENTRIES = {e.id: e for e in load_manifest()}


@pytest.fixture(scope="module")
def fetched() -> dict[str, Path | FetchError]:
    """Model id -> cached ONNX path, or the error that kept it out of the cache."""
    return fetch(list(ENTRIES.values()), cache_dir())


@pytest.mark.slow
@pytest.mark.parametrize("model_id", list(ENTRIES))
def test_real_model_matches_onnxruntime(model_id, fetched, tmp_path):
    entry = ENTRIES[model_id]
    path = fetched[model_id]
    if not isinstance(path, Path):
        pytest.skip(f"{model_id}: not in the cache {cache_dir()} and the fetch failed: {path}")
    r = evaluate(entry, path, tmp_path)
    if r.status == "compile error":
        pytest.xfail(f"{model_id}: {r.summary}")
    assert r.status == "compiled", f"{model_id}: {r.status}: {r.error}"
    print(f"{model_id}: compiled in {r.compile_s:.1f} s, AIPU MAC share {r.mac_share:.1%}, "
          f"SQNR dB {', '.join(f'{k}={v:.1f}' for k, v in r.sqnr_db.items())}")
    assert r.mac_share is not None and 0 < r.mac_share <= 1 + 1e-9, f"AIPU MAC share {r.mac_share}"
    low = {k: v for k, v in r.sqnr_db.items() if not v >= entry.min_sqnr_db}
    assert not low, f"{model_id}: SQNR under {entry.min_sqnr_db} dB vs onnxruntime float: {low}"


def test_manifest_entries_are_consistent():
    """Fast check of the manifest itself: ids unique (load_manifest), every image and
    preprocessing option usable, input shapes batch-1 4-D."""
    from real.images import frames

    for e in ENTRIES.values():
        assert len(e.sha256) == 64 and e.size > 0, e.id
        assert 2 <= len(e.calibration) <= 4 and e.test, e.id
        x = frames(e.calibration[:1], e.input_shape, e.preprocess)
        assert x.shape == (1, *e.input_shape[1:]) and x.dtype.name == "float32", e.id


def test_fetch_checks_size_and_sha256(tmp_path, monkeypatch):
    """fetch extracts the member of the downloaded distribution and refuses a wrong checksum,
    without network: the download is replaced by a local wheel."""
    import dataclasses
    import hashlib
    import shutil
    import zipfile

    from real import fetch_models

    wheel = tmp_path / "fake-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr("fake/model.onnx", b"not really onnx")

    def fake_download(requirement, dest):
        return Path(shutil.copy(wheel, dest))

    monkeypatch.setattr(fetch_models, "_download", fake_download)
    good = dataclasses.replace(next(iter(ENTRIES.values())), id="fake", package="fake", version="1.0",
                               member="fake/model.onnx", size=15,
                               sha256=hashlib.sha256(b"not really onnx").hexdigest())
    bad = dataclasses.replace(good, id="fake_bad", sha256="0" * 64)
    missing = dataclasses.replace(good, id="fake_missing", member="fake/other.onnx")
    got = fetch([good, bad, missing], tmp_path / "cache")
    assert got["fake"] == tmp_path / "cache" / "fake.onnx" and fetch_models.is_cached(good, tmp_path / "cache")
    assert isinstance(got["fake_bad"], FetchError) and "sha256" in str(got["fake_bad"])
    assert isinstance(got["fake_missing"], FetchError) and "no member" in str(got["fake_missing"])
    assert not (tmp_path / "cache" / "fake_bad.onnx").exists()


def test_preprocess_layouts_colour_and_normalisation():
    """The layouts are transposes of one another, BGR reverses the channels, and
    x = (pixel * scale - mean) / std."""
    import numpy as np

    from real.images import preprocess

    rgb = np.random.default_rng(0).integers(0, 256, (6, 8, 3), dtype=np.uint8)
    base = {"scale": 0.5, "mean": [1.0, 2.0, 3.0], "std": [2.0, 4.0, 8.0], "resize": "stretch"}
    nchw = preprocess(rgb, (1, 3, 6, 8), {**base, "layout": "NCHW"})
    want = (rgb * 0.5 - np.array([1.0, 2.0, 3.0])) / np.array([2.0, 4.0, 8.0])
    np.testing.assert_allclose(nchw[0], want.transpose(2, 0, 1), rtol=1e-6)
    np.testing.assert_array_equal(preprocess(rgb, (1, 6, 8, 3), {**base, "layout": "NHWC"})[0], nchw[0].transpose(1, 2, 0))
    np.testing.assert_array_equal(preprocess(rgb, (1, 8, 6, 3), {**base, "layout": "NWHC"})[0], nchw[0].transpose(2, 1, 0))
    bgr = preprocess(rgb, (1, 3, 6, 8), {"layout": "NCHW", "color": "BGR"})
    np.testing.assert_array_equal(bgr[0], rgb[:, :, ::-1].transpose(2, 0, 1).astype(np.float32))
    boxed = preprocess(rgb, (1, 3, 16, 8), {"layout": "NCHW", "resize": "letterbox", "pad": 7})
    assert (boxed[0, :, 6:] == 7).all() and boxed.shape == (1, 3, 16, 8)
