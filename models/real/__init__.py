"""Real-weight vision models from PyPI packages (issue 7): manifest (models.toml), fetching
(fetch_models.py), images and preprocessing (images.py), MAC counts (macs.py) and the
compile-run-compare harness (harness.py). Import as ``real`` with models/ on sys.path."""
