"""ax-config: show, check, list, schema, and every kind of bad input as a one-line error."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib
from axc.config import json_schema, load_config
from axc.tools.ax_config import main
from config_helpers import card_text, write


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_show_prints_each_source(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = write(tmp_path / "base.toml", "max_tiling_attempts = 4\ntiling_depth = 2\n")
    card = write(
        tmp_path / "card.yaml",
        card_text(
            {"m": {"compiler_config_file": "base.toml", "compilation_config": {"tiling_depth": 6}}}
        ),
    )
    status, out, err = run(capsys, "show", str(card), "--set", "frequency=400000000")
    assert (status, err) == (0, "")
    lines = {
        line.split("=")[0].strip(): line
        for line in out.splitlines()
        if "=" in line and not line.startswith("#")
    }
    assert lines["max_tiling_attempts"].endswith(f"# TOML {base}")
    assert lines["tiling_depth"].endswith(f"# inline {card} (not acted on by axc yet)")
    assert lines["frequency"].endswith("# command line")
    assert lines["apply_pword_padding"].endswith("# default")
    assert "model m" in out.splitlines()[0]


def test_show_output_loads_to_the_same_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    card = write(
        tmp_path / "card.yaml",
        card_text(
            {
                "m": {
                    "compiler_config_file": "vgg19.toml",
                    "compilation_config": {"profiling_levels": ["[B]"]},
                }
            }
        ),
    )
    status, out, _ = run(capsys, "show", str(card), "--set", "output_dir=build/x")
    assert status == 0
    shown = write(tmp_path / "shown.toml", out)
    assert (
        load_config(shown).config == load_config(card, overrides={"output_dir": "build/x"}).config
    )
    assert "# graph_cleaner_node is unset" in out


def test_show_defaults_and_toml(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "show")
    assert status == 0 and "defaults" in out.splitlines()[0]
    assert tomllib.loads(out)["frequency"] == 800_000_000
    path = write(tmp_path / "c.toml", "resources_used = 0.5\n")
    status, out, _ = run(capsys, "show", str(path))
    assert status == 0 and tomllib.loads(out)["resources_used"] == 0.5


def test_show_checks_the_cascade(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    card = write(
        tmp_path / "card.yaml",
        card_text({"a": {}, "b": {"compilation_config": {"resources_used": 0.25}}}),
    )
    status, out, err = run(capsys, "show", str(card), "--model", "b")
    assert status == 1 and out == ""
    assert err == (
        f"ax-config: error: {card}: resources_used: the models of the cascade must sum to at most"
        " 1.0, got 1 (a) + 0.25 (b) = 1.25\n"
    )


def test_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    card = write(
        tmp_path / "card.yaml",
        card_text(
            {
                "a": {"compilation_config": {"aipu_cores_used": 3, "resources_used": 0.75}},
                "b": {"compiler_config_file": "batch1-4core.toml"},
            }
        ),
    )
    status, out, _ = run(capsys, "check", str(card))
    assert status == 0 and out.endswith("total resources_used 1 of 1: ok\n")
    path = write(tmp_path / "c.toml", "")
    assert run(capsys, "check", str(path)) == (0, f"{path}: ok\n", "")


def test_list(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "list")
    names = [line.split()[0] for line in out.splitlines()]
    assert status == 0 and "resnet50.toml" in names and "batch4.toml" in names
    assert all(len(line.split(None, 1)) == 2 for line in out.splitlines())  # each has a description


def test_schema(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "schema")
    assert status == 0 and json.loads(out) == json_schema()


def test_warnings_are_printed_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    card = write(
        tmp_path / "card.yaml",
        card_text(
            {"m": {"compilation_config": {"backend_config": {"in_core_replication": False}}}}
        ),
    )
    status, _, err = run(capsys, "show", str(card))
    assert status == 0
    assert err == (
        f"ax-config: warning: {card}: models.m.extra_kwargs.compilation_config.backend_config."
        "in_core_replication: deprecated nested layout, write enable_icr at the top level instead\n"
    )


BAD_INPUTS = {
    "unknown key": (
        "c.toml",
        "aipu_core_used = 2\n",
        "c.toml: aipu_core_used: unknown key (did you mean 'aipu_cores_used'?)",
    ),
    "wrong type": (
        "c.toml",
        'aipu_cores_used = "4"\n',
        'c.toml: aipu_cores_used: must be an integer, got "4"',
    ),
    "out of range": (
        "c.toml",
        "icrx_max_factor = 9\n",
        "c.toml: icrx_max_factor: must be <= 8, got 9",
    ),
    "enum typo": (
        "c.toml",
        'quantization_scheme = "per_tensor_minmax"\n',
        'c.toml: quantization_scheme: must be one of "per_tensor_histogram", "per_tensor_min_max", '
        '"hybrid_per_tensor_per_channel", got "per_tensor_minmax" '
        "(did you mean 'per_tensor_min_max'?)",
    ),
    "not in quarters": (
        "c.toml",
        "resources_used = 0.3\n",
        "c.toml: resources_used: must be a multiple of 0.25, got 0.3",
    ),
    "cross-field rule": (
        "c.toml",
        "l2_reserved_nbytes_tasklist = 1048576\n",
        "c.toml: l2_reserved_nbytes_tasklist: must be 0 when elf_in_ddr is true "
        "(the ELF is in DDR, not L2), got 1048576 (elf_in_ddr from default)",
    ),
    "TOML syntax": (
        "c.toml",
        "tiling_depth = 2\nfrequency 3\n",
        "c.toml:2:11: TOML syntax error: Expected '=' after a key in a key/value pair",
    ),
    "YAML syntax": (
        "card.yaml",
        "models:\n  m:\n    extra_kwargs: [\n",
        "card.yaml:4:1: YAML syntax error: while parsing a flow node expected the node content, "
        "but found '<stream end>'",
    ),
    "duplicate YAML key": (
        "card.yaml",
        "models:\n  m: {}\n  m: {}\n",
        "card.yaml:3:3: YAML syntax error: duplicate key 'm'",
    ),
    "missing referenced file": (
        "card.yaml",
        "models:\n  m:\n    extra_kwargs:\n      compiler_config_file: x.toml\n",
        "card.yaml: models.m.extra_kwargs.compiler_config_file: 'x.toml' not found "
        "(looked in x.toml, {shipped}/x.toml)",
    ),
    "over budget": (
        "card.yaml",
        "models:\n  a: {}\n  b: {}\n",
        "card.yaml: resources_used: the models of the cascade must sum to at most 1.0, "
        "got 1 (a) + 1 (b) = 2",
    ),
}


@pytest.mark.parametrize("command", ["show", "check"])
@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_is_one_line_error(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    case: str,
    command: str,
) -> None:
    from axc.config.sources import SHIPPED_DIR

    name, text, expected = BAD_INPUTS[case]
    monkeypatch.chdir(tmp_path)
    write(tmp_path / name, text)
    argv = [command, name] + (
        ["--model", "a"] if case == "over budget" and command == "show" else []
    )
    status, out, err = run(capsys, *argv)
    assert (status, out) == (1, "")
    assert err == f"ax-config: error: {expected.format(shipped=SHIPPED_DIR)}\n"


# convert writes one model: the budget of the whole card is checked by show and check.
CARD_CASES = [
    c for c, (name, _, _) in BAD_INPUTS.items() if name == "card.yaml" and c != "over budget"
]


@pytest.mark.parametrize("case", CARD_CASES)
def test_bad_card_convert_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    name, text, _ = BAD_INPUTS[case]
    monkeypatch.chdir(tmp_path)
    write(tmp_path / name, text)
    status, out, err = run(capsys, "convert", "--from-yaml", name, "-o", "out.toml")
    assert (
        (status, out) == (1, "") and err.startswith("ax-config: error: ") and err.count("\n") == 1
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


def test_bad_set_argument(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "show", "--set", "tiling_depth") == (
        1,
        "",
        "ax-config: error: command line: 'tiling_depth': expected KEY=VALUE\n",
    )
    assert run(capsys, "show", "--set", "tiling_depth=0") == (
        1,
        "",
        "ax-config: error: command line: tiling_depth: must be >= 1, got 0\n",
    )


def test_console_script_has_no_traceback(tmp_path: Path) -> None:
    bad = write(tmp_path / "c.toml", "tiling_depth = 0\n")
    script = Path(sys.executable).parent / "ax-config"
    argv = [str(script)] if script.exists() else [sys.executable, "-m", "axc.tools.ax_config"]
    result = subprocess.run([*argv, "check", str(bad)], capture_output=True, text=True, check=False)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr == f"ax-config: error: {bad}: tiling_depth: must be >= 1, got 0\n"
