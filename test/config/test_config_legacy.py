"""The older nested layout: accepted, mapped to the new keys, with a deprecation warning naming the
new key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from axc.config import ConfigDeprecationWarning, load_config
from axc.config.legacy import LEGACY_KEYS, LEGACY_SECTIONS
from config_helpers import card_text, error_of, write

PREFIX = "models.m.extra_kwargs.compilation_config."

CASES = [
    (
        "quantization_config",
        "ptq_scheme",
        "per_tensor_min_max",
        "quantization_scheme",
        "per_tensor_min_max",
    ),
    ("backend_config", "elf_in_ddr", False, "elf_in_ddr", False),
    ("backend_config", "in_core_replication", False, "enable_icr", False),
    ("backend_config", "page_memory", False, "page_memory", False),
    ("backend_config", "tiling_depth", 6, "tiling_depth", 6),
]


def _card(tmp_path: Path, settings: dict[str, Any]) -> Path:
    return write(tmp_path / "card.yaml", card_text({"m": {"compilation_config": settings}}))


def test_every_legacy_key_is_tested() -> None:
    tested = {(section, key) for section, key, *_ in CASES} | {
        ("backend_config", "l2_reserved_nbytes_tasklist")
    }
    assert tested == {(s, k) for s, keys in LEGACY_SECTIONS.items() for k in keys}
    assert set(LEGACY_KEYS) == {"quantize_only"}


@pytest.mark.parametrize(("section", "old", "value", "new", "expected"), CASES)
def test_legacy_key_maps_and_warns(
    tmp_path: Path, section: str, old: str, value: Any, new: str, expected: Any
) -> None:
    card = _card(tmp_path, {section: {old: value}})
    with pytest.warns(ConfigDeprecationWarning) as caught:
        eff = load_config(card)
    assert eff.config.model_dump(mode="json")[new] == expected
    assert eff.sources[new] == f"inline:{card}"
    (message,) = [str(w.message) for w in caught]
    assert message == (
        f"{card}: {PREFIX}{section}.{old}: deprecated nested layout, "
        f"write {new} at the top level instead"
    )


def test_l2_reserved_nbytes_tasklist_with_elf_in_l2(tmp_path: Path) -> None:
    card = _card(
        tmp_path, {"backend_config": {"elf_in_ddr": False, "l2_reserved_nbytes_tasklist": 1048576}}
    )
    with pytest.warns(ConfigDeprecationWarning) as caught:
        eff = load_config(card)
    assert any(
        "write l2_reserved_nbytes_tasklist at the top level" in str(w.message) for w in caught
    )
    assert (eff.config.elf_in_ddr, eff.config.l2_reserved_nbytes_tasklist) == (False, 1048576)


def test_l2_reserved_nbytes_tasklist_must_be_0_when_elf_in_ddr(tmp_path: Path) -> None:
    card = _card(
        tmp_path, {"backend_config": {"elf_in_ddr": True, "l2_reserved_nbytes_tasklist": 1048576}}
    )
    with pytest.warns(ConfigDeprecationWarning):
        message = error_of(card)
    assert message == (
        f"{card}: {PREFIX}backend_config.l2_reserved_nbytes_tasklist: must be 0 when elf_in_ddr is "
        f"true (the ELF is in DDR, not L2), got 1048576 (elf_in_ddr from {card} (inline))"
    )


def test_the_flat_key_carries_the_same_rule(tmp_path: Path) -> None:
    path = write(tmp_path / "c.toml", "l2_reserved_nbytes_tasklist = 1024\n")
    assert error_of(path).startswith(
        f"{path}: l2_reserved_nbytes_tasklist: must be 0 when elf_in_ddr is true"
    )
    path = write(tmp_path / "c.toml", "elf_in_ddr = false\nl2_reserved_nbytes_tasklist = 1024\n")
    assert load_config(path).config.l2_reserved_nbytes_tasklist == 1024


def test_reference_example_layout(tmp_path: Path) -> None:
    card = write(
        tmp_path / "card.yaml",
        """\
        models:
          model-name:
            class: XYZ
            extra_kwargs:
              compilation_config:
                quantization_config:
                  ptq_scheme: per_tensor_histogram
                backend_config:
                  elf_in_ddr: true
                  in_core_replication: true
                  l2_reserved_nbytes_tasklist: 0
                  page_memory: true
                  tiling_depth: 6
        """,
    )
    with pytest.warns(ConfigDeprecationWarning) as caught:
        eff = load_config(card)
    assert len(caught) == 6
    assert eff.config.tiling_depth == 6 and eff.config.enable_icr


@pytest.mark.parametrize(
    ("value", "mode"), [(True, "quantize_only"), (False, "quantize_and_lower")]
)
def test_quantize_only_maps_to_compiler_mode(tmp_path: Path, value: bool, mode: str) -> None:
    card = _card(tmp_path, {"quantize_only": value})
    with pytest.warns(ConfigDeprecationWarning, match="write compiler_mode at the top level"):
        assert load_config(card).config.compiler_mode == mode


def test_quantize_only_must_be_boolean(tmp_path: Path) -> None:
    card = _card(tmp_path, {"quantize_only": "yes please"})
    assert (
        error_of(card)
        == f'{card}: {PREFIX}quantize_only: must be a boolean (true or false), got "yes please"'
    )


def test_legacy_layout_in_a_toml_file(tmp_path: Path) -> None:
    path = write(tmp_path / "c.toml", "[backend_config]\nin_core_replication = false\n")
    with pytest.warns(
        ConfigDeprecationWarning, match=r"c.toml: backend_config.in_core_replication: .*enable_icr"
    ):
        eff = load_config(path)
    assert eff.config.enable_icr is False
    assert eff.sources["enable_icr"] == f"toml:{path}"


def test_key_given_both_ways_is_an_error(tmp_path: Path) -> None:
    card = _card(tmp_path, {"enable_icr": True, "backend_config": {"in_core_replication": False}})
    assert error_of(card) == (
        f"{card}: {PREFIX}backend_config.in_core_replication: sets enable_icr again "
        "(already set as enable_icr): give it once"
    )


def test_unknown_key_in_a_legacy_section(tmp_path: Path) -> None:
    card = _card(tmp_path, {"backend_config": {"in_core_replicaton": False}})
    assert error_of(card) == (
        f"{card}: {PREFIX}backend_config.in_core_replicaton: unknown key in backend_config "
        "(did you mean 'in_core_replication'?) (keys of backend_config: elf_in_ddr, "
        "in_core_replication, l2_reserved_nbytes_tasklist, page_memory, tiling_depth)"
    )


def test_legacy_section_must_be_a_table(tmp_path: Path) -> None:
    card = _card(tmp_path, {"backend_config": [1]})
    assert (
        error_of(card) == f"{card}: {PREFIX}backend_config: must be a table of settings, got list"
    )


def test_legacy_value_is_validated_where_it_was_written(tmp_path: Path) -> None:
    card = _card(tmp_path, {"backend_config": {"tiling_depth": 0}})
    with pytest.warns(ConfigDeprecationWarning):
        assert error_of(card) == f"{card}: {PREFIX}backend_config.tiling_depth: must be >= 1, got 0"


def test_legacy_keys_are_not_command_line_keys() -> None:
    assert error_of(None, overrides={"backend_config": {}}).startswith(
        "command line: backend_config: unknown key"
    )
