"""Every property's default, bounds, type and enumeration, generated from the JSON schema.

Each case goes through a real TOML file and ``load_config``, so it also checks that the error names
the file, the key and the rule.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import tomli_w
from axc.config import CompilerConfig, load_config
from config_helpers import COMPANIONS, SCHEMA, error_of, resolve, write

PROPS: dict[str, dict[str, Any]] = SCHEMA["properties"]


def _write_toml(tmp_path: Path, key: str, value: Any) -> Path:
    values = {**COMPANIONS.get(key, {}), key: value}
    return write(tmp_path / "cfg.toml", tomli_w.dumps(values))


def other_value(key: str) -> Any:
    """A valid value of ``key`` other than its default, derived from the schema."""
    prop = PROPS[key]
    default = prop.get("default")
    option = resolve(prop)[0]
    kind = option.get("type")
    if "enum" in option:
        return next(v for v in option["enum"] if v != default)
    if kind == "boolean":
        return not default
    if kind == "array":
        return [resolve(option["items"])[0]["enum"][0]]
    if kind == "string":
        return "model.onnx" if option.get("format") != "path" else "some/dir"
    if kind == "integer":
        start = 0 if default is None else default
        low = option.get("minimum")
        if low is not None and low != default:
            return low
        high = option.get("maximum")
        return start + 1 if high is None or start + 1 <= high else start - 1
    if kind == "number":
        step = option.get("multipleOf", 0.125)
        if "minimum" in option and option["minimum"] != default:
            return option["minimum"]
        if "exclusiveMinimum" in option:
            return option["exclusiveMinimum"] + step
        return default + 1.0
    raise AssertionError(f"no test value for {key}: {prop}")


@pytest.mark.parametrize("key", list(PROPS))
def test_default(key: str) -> None:
    eff = load_config(None)
    assert eff.sources[key] == "default"
    assert eff.config.model_dump(mode="json")[key] == PROPS[key]["default"]
    assert CompilerConfig().model_dump(mode="json")[key] == PROPS[key]["default"]


@pytest.mark.parametrize("key", list(PROPS))
def test_set_from_toml(tmp_path: Path, key: str) -> None:
    value = other_value(key)
    path = _write_toml(tmp_path, key, value)
    eff = load_config(path)
    assert eff.config.model_dump(mode="json")[key] == value
    assert eff.sources[key] == f"toml:{path}"


def _bound_cases() -> list[tuple[str, Any, str | None]]:
    """(key, value, None if valid else the rule the error must state)."""
    cases: list[tuple[str, Any, str | None]] = []
    for key, prop in PROPS.items():
        for option in resolve(prop):
            kind = option.get("type")
            if kind not in ("integer", "number"):
                continue
            step = 1 if kind == "integer" else option.get("multipleOf", 0.001)
            if "minimum" in option:
                low = option["minimum"]
                cases += [(key, low, None), (key, low - step, f"must be >= {low}")]
            if "exclusiveMinimum" in option:
                low = option["exclusiveMinimum"]
                cases += [(key, low, f"must be > {low}"), (key, low + step, None)]
            if "maximum" in option:
                high = option["maximum"]
                cases += [(key, high, None), (key, high + step, f"must be <= {high}")]
            if "exclusiveMaximum" in option:
                high = option["exclusiveMaximum"]
                cases += [(key, high, f"must be < {high}"), (key, high - step, None)]
            if "multipleOf" in option:
                unit = option["multipleOf"]
                cases += [(key, unit * 2, None), (key, unit * 1.2, f"must be a multiple of {unit}")]
    return cases


BOUND_CASES = _bound_cases()


def test_bound_cases_cover_the_reference_rules() -> None:
    keys = {key for key, _, _ in BOUND_CASES}
    assert {
        "aipu_cores_used",
        "resources_used",
        "frequency",
        "mvm_utilization_limit",
        "profiling_drop_percentile",
        "icrx_max_factor",
        "force_h_tiling",
    } <= keys


@pytest.mark.parametrize(("key", "value", "rule"), BOUND_CASES, ids=lambda v: str(v))
def test_bound(tmp_path: Path, key: str, value: Any, rule: str | None) -> None:
    path = _write_toml(tmp_path, key, value)
    if rule is None:
        assert load_config(path).config.model_dump(mode="json")[key] == value
        return
    message = error_of(path)
    assert message.startswith(f"{path}: {key}: {rule}, got ")


def _wrong_types() -> list[tuple[str, Any]]:
    cases = []
    for key, prop in PROPS.items():
        kinds = {option.get("type") for option in resolve(prop)}
        if "boolean" in kinds:
            cases += [(key, "true"), (key, 1)]
        elif "integer" in kinds:
            cases += [(key, "1"), (key, 1.5), (key, True)]
        elif "number" in kinds:
            cases += [(key, "0.5"), (key, True)]
        elif "array" in kinds:
            cases += [(key, "[B]")]
        else:  # strings, paths, enumerations
            cases += [(key, 1), (key, [])]
    return cases


@pytest.mark.parametrize(("key", "value"), _wrong_types(), ids=lambda v: repr(v))
def test_wrong_type(tmp_path: Path, key: str, value: Any) -> None:
    path = _write_toml(tmp_path, key, value)
    message = error_of(path)
    assert message.startswith(f"{path}: {key}"), message
    assert ": must be " in message


ENUM_CASES = [
    (key, value)
    for key, prop in PROPS.items()
    for option in resolve(prop if prop.get("type") != "array" else prop["items"])
    for value in option.get("enum", [])
]


@pytest.mark.parametrize(("key", "value"), ENUM_CASES)
def test_enum_value_accepted(tmp_path: Path, key: str, value: str) -> None:
    if PROPS[key].get("type") == "array":
        value = [value]
    path = _write_toml(tmp_path, key, value)
    assert load_config(path).config.model_dump(mode="json")[key] == value


@pytest.mark.parametrize(("key", "value"), ENUM_CASES)
def test_enum_typo_suggests(tmp_path: Path, key: str, value: str) -> None:
    typo = value + value[-1]  # a doubled last letter
    if PROPS[key].get("type") == "array":
        path, where = _write_toml(tmp_path, key, [typo]), f"{key}[0]"
    else:
        path, where = _write_toml(tmp_path, key, typo), key
    message = error_of(path)
    assert message.startswith(f"{path}: {where}: must be one of ")
    assert f"(did you mean '{value}'?)" in message


@pytest.mark.parametrize("key", [k for k, p in PROPS.items() if p.get("default", 0) is None])
def test_nullable_accepts_null_in_yaml(tmp_path: Path, key: str) -> None:
    card = write(
        tmp_path / "card.yaml",
        f"""\
        models:
          m:
            extra_kwargs:
              compilation_config:
                {key}: null
        """,
    )
    eff = load_config(card)
    assert getattr(eff.config, key) is None
    assert eff.sources[key] == f"inline:{card}"
