"""The shipped configurations: present, valid, documented, usable by bare name from a card."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import tomllib
from axc.config import load_config, shipped_configs
from axc.config.effects import NOT_ACTED_ON
from config_helpers import card_text, write

REQUIRED = {
    "resnet50.toml",
    "alexnet.toml",
    "vgg19.toml",
    "zfnet512.toml",
    "densenet121.toml",
    "inception_v1.toml",
    "inception_v2.toml",
    "shufflenet.toml",
    "squeezenet.toml",
    "digits_cnn.toml",
    "batch1-4core.toml",
    "batch4.toml",
}
SHIPPED = {path.name: path for path in shipped_configs()}


def test_required_configurations_are_shipped() -> None:
    assert set(SHIPPED) >= REQUIRED


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_loads_cleanly(name: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no deprecated keys in what we ship
        eff = load_config(SHIPPED[name])
    values = tomllib.loads(SHIPPED[name].read_text())
    assert values, f"{name} sets nothing"
    assert {k for k, src in eff.sources.items() if src != "default"} == set(values)


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_starts_with_a_one_line_description(name: str) -> None:
    first = SHIPPED[name].read_text().splitlines()[0]
    assert first.startswith("# ") and first.endswith(".") and len(first) <= 100


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_usable_by_bare_name_from_a_card(tmp_path: Path, name: str) -> None:
    card = write(tmp_path / "card.yaml", card_text({"m": {"compiler_config_file": name}}))
    assert load_config(card).config == load_config(SHIPPED[name]).config


@pytest.mark.parametrize(
    ("name", "cores", "resources"), [("batch1-4core.toml", 1, 0.25), ("batch4.toml", 4, 1.0)]
)
def test_multicore_configurations(name: str, cores: int, resources: float) -> None:
    config = load_config(SHIPPED[name]).config
    assert (config.aipu_cores_used, config.resources_used) == (cores, resources)


@pytest.mark.parametrize("name", sorted(REQUIRED - {"digits_cnn.toml"}))
def test_architecture_configs_set_only_what_axc_acts_on(name: str) -> None:
    assert not set(tomllib.loads(SHIPPED[name].read_text())) & NOT_ACTED_ON
