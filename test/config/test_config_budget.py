"""Multi-core budgets: Batch-1 and Batch-x per model, and a cascade's resources_used sum."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from axc.config import CompilerConfig, ConfigError, check_card_budget, load_config
from config_helpers import card_text, error_of, write


def _card(tmp_path: Path, models: dict[str, dict[str, Any]]) -> Path:
    return write(
        tmp_path / "card.yaml", card_text({n: {"compilation_config": s} for n, s in models.items()})
    )


@pytest.mark.parametrize(
    ("cores", "resources"), [(1, 0.25), (2, 1.0), (3, 1.0), (4, 1.0), (1, 1.0), (3, 0.75)]
)
def test_batch_modes_are_valid(cores: int, resources: float) -> None:
    config = CompilerConfig(aipu_cores_used=cores, resources_used=resources)
    assert (config.aipu_cores_used, config.resources_used) == (cores, resources)


@pytest.mark.parametrize("resources", [0.25, 0.5, 0.75, 1.0, 1])
def test_resources_in_quarters(resources: float) -> None:
    assert CompilerConfig(resources=resources).resources_used == resources


@pytest.mark.parametrize(
    ("resources", "rule"),
    [
        (0.0, "must be > 0.0"),
        (0.1, "must be a multiple of 0.25"),
        (0.3, "must be a multiple of 0.25"),
        (1.25, "must be <= 1.0"),
        (-0.25, "must be > 0.0"),
    ],
)
def test_resources_out_of_quarters(resources: float, rule: str) -> None:
    assert error_of(None, overrides={"resources_used": resources}) == (
        f"command line: resources_used: {rule}, got {resources!r}"
    )


@pytest.mark.parametrize("cores", [0, 5])
def test_cores_1_to_4(cores: int) -> None:
    assert "aipu_cores_used: must be" in error_of(None, overrides={"aipu_cores_used": cores})


@pytest.mark.parametrize(
    ("hz", "ok"),
    [(20_000_000, True), (800_000_000, True), (19_999_999, False), (800_000_001, False)],
)
def test_frequency_20_to_800_mhz(hz: int, ok: bool) -> None:
    if ok:
        assert load_config(None, overrides={"frequency": hz}).config.frequency == hz
    else:
        assert "frequency: must be" in error_of(None, overrides={"frequency": hz})


def test_cascade_within_budget(tmp_path: Path) -> None:
    card = _card(
        tmp_path,
        {
            "a": {"aipu_cores_used": 3, "resources_used": 0.75},
            "b": {"aipu_cores_used": 1, "resources_used": 0.25},
        },
    )
    budget = check_card_budget(card)
    assert budget.total == 1.0
    assert list(budget.models) == ["a", "b"]
    assert budget.models["a"].config.aipu_cores_used == 3
    assert budget.summary() == (
        f"{card}: a (3 cores, resources_used 0.75); b (1 core, resources_used 0.25);"
        " total resources_used 1 of 1"
    )


def test_four_batch1_models_fill_the_budget(tmp_path: Path) -> None:
    card = write(
        tmp_path / "card.yaml",
        card_text({f"m{i}": {"compiler_config_file": "batch1-4core.toml"} for i in range(4)}),
    )
    assert check_card_budget(card).total == 1.0


def test_cascade_over_budget(tmp_path: Path) -> None:
    card = _card(
        tmp_path,
        {"a": {"aipu_cores_used": 3, "resources_used": 0.75}, "b": {"resources_used": 0.5}},
    )
    with pytest.raises(ConfigError) as info:
        check_card_budget(card)
    assert str(info.value) == (
        f"{card}: resources_used: the models of the cascade must sum to at most 1.0, "
        "got 0.75 (a) + 0.5 (b) = 1.25"
    )


def test_defaults_count_as_the_whole_aipu(tmp_path: Path) -> None:
    card = _card(tmp_path, {"a": {}, "b": {}})
    with pytest.raises(ConfigError, match=r"got 1 \(a\) \+ 1 \(b\) = 2"):
        check_card_budget(card)


def test_single_model_card_is_always_within_budget(tmp_path: Path) -> None:
    assert check_card_budget(_card(tmp_path, {"a": {}})).total == 1.0


def test_overrides_apply_to_the_compiled_model(tmp_path: Path) -> None:
    card = _card(tmp_path, {"a": {"resources_used": 0.75}, "b": {"resources_used": 0.25}})
    with pytest.raises(ConfigError, match=r"= 1\.25"):
        check_card_budget(card, "b", {"resources_used": 0.5})
    assert check_card_budget(card, "a", {"resources_used": 0.5}).total == 0.75
    with pytest.raises(ConfigError, match="= 2"):  # no model: the overrides apply to every model
        check_card_budget(card, None, {"resources_used": 1.0})


def test_invalid_model_in_cascade_is_named(tmp_path: Path) -> None:
    card = _card(tmp_path, {"a": {"resources_used": 0.25}, "b": {"resources_used": 0.3}})
    with pytest.raises(ConfigError) as info:
        check_card_budget(card)
    assert str(info.value) == (
        f"{card}: models.b.extra_kwargs.compilation_config.resources_used: "
        "must be a multiple of 0.25, got 0.3"
    )


def test_budget_needs_a_card(tmp_path: Path) -> None:
    path = write(tmp_path / "c.toml", "")
    with pytest.raises(ConfigError, match="a budget is checked on a YAML model card"):
        check_card_budget(path)


def test_unknown_model(tmp_path: Path) -> None:
    card = _card(tmp_path, {"alpha": {}})
    with pytest.raises(
        ConfigError, match=r"models\.alpah: no such model \(did you mean 'alpha'\?\)"
    ):
        check_card_budget(card, "alpah")
