"""``ax-config convert`` (the reference's json_to_toml_config): YAML -> TOML -> the same effective
configuration; atomic output."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest
import tomllib
from axc.config import ConfigDeprecationWarning, load_config
from axc.config.convert import convert_card
from axc.tools.ax_config import main
from config_helpers import card_text, write


def _roundtrip(tmp_path: Path, card: Path, model: str | None = None) -> dict[str, Any]:
    out = tmp_path / "out" / "converted.toml"
    out.parent.mkdir(exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConfigDeprecationWarning)
        assert (
            main(
                [
                    "convert",
                    "--from-yaml",
                    str(card),
                    *(["--model", model] if model else []),
                    "-o",
                    str(out),
                ]
            )
            == 0
        )
        original = load_config(card, model)
    converted = load_config(out)
    assert converted.config == original.config
    explicit = {k for k, v in original.explicit().items() if v is not None}  # TOML has no null
    assert {k for k, src in converted.sources.items() if src != "default"} == explicit
    return tomllib.loads(out.read_text())


def test_inline_only(tmp_path: Path) -> None:
    card = write(
        tmp_path / "card.yaml",
        card_text(
            {
                "m": {
                    "compilation_config": {
                        "aipu_cores_used": 4,
                        "resources_used": 1.0,
                        "quantization_scheme": "per_tensor_min_max",
                        "profiling_levels": ["[B]", "[K]"],
                        "output_dir": "build/out",
                    }
                }
            }
        ),
    )
    assert _roundtrip(tmp_path, card) == {
        "quantization_scheme": "per_tensor_min_max",
        "output_dir": "build/out",
        "aipu_cores_used": 4,
        "resources_used": 1.0,
        "profiling_levels": ["[B]", "[K]"],
    }


def test_inline_merged_over_referenced_toml(tmp_path: Path) -> None:
    write(
        tmp_path / "base.toml",
        'quantization_scheme = "per_tensor_min_max"\nignore_weight_buffers = false\n'
        "aipu_cores_used = 1\nresources_used = 0.25\n",
    )
    card = write(
        tmp_path / "card.yaml",
        card_text(
            {
                "m": {
                    "compiler_config_file": "base.toml",
                    "compilation_config": {"quantization_scheme": "per_tensor_histogram"},
                }
            }
        ),
    )
    assert _roundtrip(tmp_path, card) == {
        "quantization_scheme": "per_tensor_histogram",
        "ignore_weight_buffers": False,
        "aipu_cores_used": 1,
        "resources_used": 0.25,
    }


def test_shipped_reference_and_legacy_keys(tmp_path: Path) -> None:
    card = write(
        tmp_path / "card.yaml",
        card_text(
            {
                "a": {},
                "m": {
                    "compiler_config_file": "digits_cnn.toml",
                    "compilation_config": {
                        "backend_config": {"in_core_replication": False, "tiling_depth": 6},
                        "quantize_only": True,
                    },
                },
            }
        ),
    )
    values = _roundtrip(tmp_path, card, "m")
    assert values["enable_icr"] is False and values["tiling_depth"] == 6
    assert values["compiler_mode"] == "quantize_only"
    assert "backend_config" not in values and "quantize_only" not in values
    assert values["constant_memory_pool"] == "global.l2"  # from the shipped digits_cnn.toml


def test_null_inline_values_are_left_out(tmp_path: Path) -> None:
    write(tmp_path / "base.toml", "force_h_tiling = 2\n")
    card = write(
        tmp_path / "card.yaml",
        card_text(
            {
                "m": {
                    "compiler_config_file": "base.toml",
                    "compilation_config": {"force_h_tiling": None},
                }
            }
        ),
    )
    assert _roundtrip(tmp_path, card) == {}


def test_header_names_card_and_sources(tmp_path: Path) -> None:
    card = write(
        tmp_path / "card.yaml", card_text({"m": {"compilation_config": {"tiling_depth": 6}}})
    )
    text = convert_card(card)
    assert text.startswith(
        f"# axc compiler configuration of model m, converted from {card} by ax-config convert\n"
        f"# settings from: {card}\n\ntiling_depth = 6\n"
    )


def test_to_standard_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    card = write(
        tmp_path / "card.yaml", card_text({"m": {"compilation_config": {"tiling_depth": 6}}})
    )
    assert main(["convert", "--from-yaml", str(card)]) == 0
    assert tomllib.loads(capsys.readouterr().out) == {"tiling_depth": 6}


@pytest.mark.parametrize(
    "settings",
    [{"tiling_depth": 0}, {"tilling_depth": 6}, {"resources_used": 0.3}],
)
def test_nothing_written_on_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], settings: dict
) -> None:
    card = write(tmp_path / "card.yaml", card_text({"m": {"compilation_config": settings}}))
    out = tmp_path / "out.toml"
    assert main(["convert", "--from-yaml", str(card), "-o", str(out)]) == 1
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [card]  # no temporary file left either
    err = capsys.readouterr().err
    assert err.startswith("ax-config: error: ") and err.count("\n") == 1


def test_existing_output_untouched_on_error(tmp_path: Path) -> None:
    card = write(
        tmp_path / "card.yaml", card_text({"m": {"compilation_config": {"aipu_cores_used": 9}}})
    )
    out = write(tmp_path / "out.toml", "tiling_depth = 2\n")
    assert main(["convert", "--from-yaml", str(card), "-o", str(out)]) == 1
    assert out.read_text() == "tiling_depth = 2\n"


def test_existing_output_replaced(tmp_path: Path) -> None:
    card = write(
        tmp_path / "card.yaml", card_text({"m": {"compilation_config": {"tiling_depth": 6}}})
    )
    out = write(tmp_path / "out.toml", "junk")
    assert main(["convert", "--from-yaml", str(card), "-o", str(out)]) == 0
    assert tomllib.loads(out.read_text()) == {"tiling_depth": 6}
    assert out.stat().st_mode & 0o644 == 0o644


def test_convert_needs_a_card(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path / "c.toml", "")
    assert main(["convert", "--from-yaml", str(path)]) == 1
    assert "--from-yaml expects a YAML model card" in capsys.readouterr().err


def test_unwritable_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    card = write(tmp_path / "card.yaml", card_text({"m": {}}))
    assert (
        main(["convert", "--from-yaml", str(card), "-o", str(tmp_path / "no" / "dir" / "o.toml")])
        == 1
    )
    assert "cannot write" in capsys.readouterr().err
