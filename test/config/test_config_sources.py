"""Sources and precedence (defaults < TOML < inline YAML < command line), card structure and the
path resolution of ``compiler_config_file``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from axc.config import load_config
from axc.config.sources import SHIPPED_DIR
from config_helpers import card_text, error_of, write


def _layers(tmp_path: Path) -> Path:
    write(
        tmp_path / "base.toml",
        """\
        max_tiling_attempts = 4
        max_memplan_attempts = 3
        tiling_depth = 2
        """,
    )
    return write(
        tmp_path / "card.yaml",
        card_text(
            {
                "m": {
                    "compiler_config_file": "base.toml",
                    "compilation_config": {"max_memplan_attempts": 7, "tiling_depth": 6},
                }
            }
        ),
    )


def test_precedence_default_toml_inline_command_line(tmp_path: Path) -> None:
    card = _layers(tmp_path)
    eff = load_config(card, overrides={"tiling_depth": 3})
    toml = f"toml:{tmp_path / 'base.toml'}"
    assert (eff.config.max_tiling_attempts, eff.sources["max_tiling_attempts"]) == (4, toml)
    assert (eff.config.max_memplan_attempts, eff.sources["max_memplan_attempts"]) == (
        7,
        f"inline:{card}",
    )
    assert (eff.config.tiling_depth, eff.sources["tiling_depth"]) == (3, "command line")
    assert (eff.config.frequency, eff.sources["frequency"]) == (800_000_000, "default")
    assert set(eff.sources) == set(type(eff.config).model_fields)


def test_inline_beats_toml_without_overrides(tmp_path: Path) -> None:
    eff = load_config(_layers(tmp_path))
    assert eff.config.tiling_depth == 6
    assert eff.sources["tiling_depth"].startswith("inline:")


def test_explicit_lists_only_set_values(tmp_path: Path) -> None:
    eff = load_config(_layers(tmp_path))
    assert eff.explicit() == {
        "max_memplan_attempts": 7,
        "max_tiling_attempts": 4,
        "tiling_depth": 6,
    }


def test_defaults_without_a_path() -> None:
    eff = load_config(None, overrides={"aipu_cores_used": 2})
    assert eff.config.aipu_cores_used == 2
    assert eff.sources["aipu_cores_used"] == "command line"
    assert all(src == "default" for key, src in eff.sources.items() if key != "aipu_cores_used")


def test_toml_file_directly(tmp_path: Path) -> None:
    path = write(tmp_path / "c.toml", "resources_used = 0.5\n")
    eff = load_config(str(path))
    assert eff.config.resources_used == 0.5
    assert eff.sources["resources_used"] == f"toml:{path}"


def test_yml_suffix_and_card_without_settings(tmp_path: Path) -> None:
    card = write(tmp_path / "card.yml", "models:\n  m:\n    class: X\n    weight_path: m.onnx\n")
    eff = load_config(card)
    assert all(src == "default" for src in eff.sources.values())


def test_card_with_empty_compilation_config(tmp_path: Path) -> None:
    card = write(
        tmp_path / "card.yaml", "models:\n  m:\n    extra_kwargs:\n      compilation_config:\n"
    )
    assert load_config(card).config == load_config(None).config


def test_model_selection(tmp_path: Path) -> None:
    card = write(
        tmp_path / "card.yaml",
        card_text(
            {
                "detector": {"compilation_config": {"aipu_cores_used": 3, "resources_used": 0.75}},
                "classifier": {"compilation_config": {"resources_used": 0.25}},
            }
        ),
    )
    assert load_config(card, "detector").config.aipu_cores_used == 3
    assert load_config(card, "classifier").config.resources_used == 0.25
    assert "the card has 2 models (detector, classifier), choose one" in error_of(card)
    assert "models.detecter: no such model (did you mean 'detector'?)" in error_of(card, "detecter")


def test_model_given_for_a_toml_file_or_nothing(tmp_path: Path) -> None:
    path = write(tmp_path / "c.toml", "")
    assert "applies to a YAML model card" in error_of(path, "m")
    assert "a model is chosen from a YAML model card" in error_of(None, "m")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[]", "models: missing"),
        ("models: 3", "models: must be a mapping of model name to model, got int"),
        ("models: {}", "models: empty"),
        ("models:\n  m: [1]", "models.m: must be a mapping, got list"),
        ("models:\n  m:\n    extra_kwargs: 1", "models.m.extra_kwargs: must be a mapping, got int"),
        (
            "models:\n  m:\n    extra_kwargs:\n      compilation_config: 1",
            "models.m.extra_kwargs.compilation_config: must be a mapping, got int",
        ),
        (
            "models:\n  m:\n    compilation_config: {}",
            "models.m.compilation_config: belongs under extra_kwargs",
        ),
        (
            "models:\n  m:\n    extra_kwargs:\n      compiler_config_files: a.toml",
            "models.m.extra_kwargs.compiler_config_files: unknown key "
            "(did you mean 'compiler_config_file'?)",
        ),
        (
            "models:\n  m:\n    extra_kwargs:\n      compiler_config_file: 3",
            "models.m.extra_kwargs.compiler_config_file: must be a file name or path (a string), "
            "got 3",
        ),
    ],
)
def test_card_structure_errors(tmp_path: Path, text: str, expected: str) -> None:
    card = write(tmp_path / "card.yaml", text + "\n")
    assert error_of(card).startswith(f"{card}: {expected}")


def test_other_suffix_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path / "c.json", "{}")
    assert (
        error_of(path) == f"{path}: expected a YAML model card (.yaml, .yml) or a TOML file (.toml)"
    )


def test_missing_file(tmp_path: Path) -> None:
    assert error_of(tmp_path / "nope.toml") == f"{tmp_path / 'nope.toml'}: no such file"
    assert error_of(tmp_path / "nope.yaml") == f"{tmp_path / 'nope.yaml'}: no such file"


def test_directory_and_non_utf8(tmp_path: Path) -> None:
    (tmp_path / "d.toml").mkdir()
    assert "is a directory" in error_of(tmp_path / "d.toml")
    (tmp_path / "latin.toml").write_bytes(b'model_name = "caf\xe9"\n')
    assert "not UTF-8" in error_of(tmp_path / "latin.toml")


# -- path resolution -------------------------------------------------------------------------


def _card(folder: Path, ref: str) -> Path:
    return write(folder / "card.yaml", card_text({"m": {"compiler_config_file": ref}}))


def test_bare_name_in_the_card_folder_first(tmp_path: Path) -> None:
    local = write(tmp_path / "resnet50.toml", "max_tiling_attempts = 3\n")
    eff = load_config(_card(tmp_path, "resnet50.toml"))
    assert eff.config.max_tiling_attempts == 3
    assert eff.sources["max_tiling_attempts"] == f"toml:{local}"


def test_bare_name_then_the_shipped_configurations(tmp_path: Path) -> None:
    eff = load_config(_card(tmp_path, "batch4.toml"))
    assert (eff.config.aipu_cores_used, eff.config.resources_used) == (4, 1.0)
    assert eff.sources["aipu_cores_used"] == f"toml:{SHIPPED_DIR / 'batch4.toml'}"


def test_relative_path_resolves_from_the_card_not_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cards = tmp_path / "cards"
    target = write(tmp_path / "cards" / "configs" / "base.toml", "tiling_depth = 6\n")
    write(tmp_path / "elsewhere" / "configs" / "base.toml", "tiling_depth = 2\n")
    monkeypatch.chdir(tmp_path / "elsewhere")
    eff = load_config(_card(cards, "configs/base.toml"))
    assert eff.config.tiling_depth == 6
    assert eff.sources["tiling_depth"] == f"toml:{target}"


def test_relative_path_is_not_looked_up_among_shipped_configs(tmp_path: Path) -> None:
    card = _card(tmp_path, "./batch4.toml")
    message = error_of(card)
    assert message == (
        f"{card}: models.m.extra_kwargs.compiler_config_file: './batch4.toml' not found "
        f"(looked in {tmp_path / 'batch4.toml'})"
    )


def test_parent_relative_path(tmp_path: Path) -> None:
    write(tmp_path / "shared.toml", "tiling_depth = 4\n")
    assert load_config(_card(tmp_path / "sub", "../shared.toml")).config.tiling_depth == 4


def test_absolute_path_used_as_it_is(tmp_path: Path) -> None:
    target = write(tmp_path / "abs" / "x.toml", "tiling_depth = 5\n")
    card = _card(tmp_path / "cards", str(target))
    assert load_config(card).config.tiling_depth == 5
    missing = tmp_path / "abs" / "missing.toml"
    card = _card(tmp_path / "cards", str(missing))
    assert error_of(card).endswith(f"'{missing}' not found (looked in {missing})")


def test_missing_bare_name_lists_every_place_and_suggests(tmp_path: Path) -> None:
    card = _card(tmp_path, "resnet51.toml")
    assert error_of(card) == (
        f"{card}: models.m.extra_kwargs.compiler_config_file: 'resnet51.toml' not found "
        f"(looked in {tmp_path / 'resnet51.toml'}, {SHIPPED_DIR / 'resnet51.toml'})"
        " (did you mean 'resnet50.toml'?)"
    )


def test_card_given_relative_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "proj" / "base.toml", "tiling_depth = 6\n")
    _card(tmp_path / "proj", "base.toml")
    monkeypatch.chdir(tmp_path)
    eff = load_config(os.path.join("proj", "card.yaml"))
    assert eff.config.tiling_depth == 6
    assert eff.sources["tiling_depth"] == f"toml:{Path('proj') / 'base.toml'}"


# -- keys ------------------------------------------------------------------------------------


def test_unknown_key_in_inline_names_the_card_path(tmp_path: Path) -> None:
    card = write(
        tmp_path / "card.yaml", card_text({"m": {"compilation_config": {"tilling_depth": 2}}})
    )
    assert error_of(card) == (
        f"{card}: models.m.extra_kwargs.compilation_config.tilling_depth: unknown key "
        "(did you mean 'tiling_depth'?)"
    )


def test_unknown_command_line_key() -> None:
    assert error_of(None, overrides={"frequncy": 1}) == (
        "command line: frequncy: unknown key (did you mean 'frequency'?)"
    )


def test_bad_command_line_value() -> None:
    assert error_of(None, overrides={"aipu_cores_used": 5}) == (
        "command line: aipu_cores_used: must be <= 4, got 5"
    )


def test_error_names_the_source_that_gave_the_value(tmp_path: Path) -> None:
    write(tmp_path / "base.toml", "tiling_depth = 0\n")
    card = _card(tmp_path, "base.toml")
    assert error_of(card) == f"{tmp_path / 'base.toml'}: tiling_depth: must be >= 1, got 0"


def test_several_errors_in_one_line(tmp_path: Path) -> None:
    path = write(tmp_path / "c.toml", "tiling_depth = 0\naipu_cores_used = 9\nfrequency = 1\n")
    message = error_of(path)
    assert message.startswith(f"{path}: tiling_depth: must be >= 1, got 0 (and 2 more errors: ")
    assert "aipu_cores_used" in message and "frequency" in message


def test_cross_field_rule_names_both_sources(tmp_path: Path) -> None:
    path = write(tmp_path / "c.toml", "ddr_size_max = 1000\n")
    assert error_of(path) == (
        f"{path}: ddr_size_used (default): must be at most ddr_size_max (1000), got 1073741824 "
        f"(ddr_size_max from {path})"
    )
    assert error_of(None, overrides={"ddr_size_max": 10, "ddr_size_used": 11}) == (
        "command line: ddr_size_used: must be at most ddr_size_max (10), got 11 "
        "(ddr_size_max from command line)"
    )
