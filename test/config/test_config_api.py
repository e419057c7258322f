"""The Python API the compiler uses: names, aliases, immutability, error types."""

from __future__ import annotations

import dataclasses
import inspect

import axc.config as cfg
import pytest
from axc.config import CompilerConfig, ConfigError, EffectiveConfig, QuantizationScheme, load_config
from axc.runtime.errors import AxcError
from pydantic import BaseModel, ValidationError


def test_reference_python_api_names() -> None:
    config = CompilerConfig(aipu_cores=4, resources=1.0)
    assert (config.aipu_cores_used, config.resources_used) == (4, 1.0)
    config = CompilerConfig(
        aipu_cores=1, resources=0.25, ptq_scheme="per_tensor_min_max", save_error_artifact=True
    )
    assert (
        config.quantization_scheme == QuantizationScheme.PER_TENSOR_MIN_MAX == "per_tensor_min_max"
    )
    assert config.save_error_artifact is True


def test_property_names_work_too() -> None:
    config = CompilerConfig(
        aipu_cores_used=2, resources_used=0.5, quantization_scheme="per_tensor_min_max"
    )
    assert config.aipu_cores_used == 2


def test_alias_and_name_together_is_an_error() -> None:
    with pytest.raises(ValidationError, match="aipu_cores_used is given twice"):
        CompilerConfig(aipu_cores=2, aipu_cores_used=3)


def test_extra_forbidden_and_strict() -> None:
    assert CompilerConfig.model_config["extra"] == "forbid"
    with pytest.raises(ValidationError):
        CompilerConfig(aipu_core=2)
    with pytest.raises(ValidationError):
        CompilerConfig(aipu_cores_used="2")


def test_frozen_and_replace() -> None:
    config = CompilerConfig()
    with pytest.raises(ValidationError):
        config.tiling_depth = 3  # type: ignore[misc]
    assert config.replace(tiling_depth=3).tiling_depth == 3
    with pytest.raises(ValidationError):
        config.replace(tiling_depth=0)
    assert hash(config) == hash(CompilerConfig())


def test_config_error_is_an_axc_error() -> None:
    assert issubclass(ConfigError, Exception) and issubclass(ConfigError, AxcError)


def test_effective_config_shape() -> None:
    assert dataclasses.is_dataclass(EffectiveConfig)
    assert [f.name for f in dataclasses.fields(EffectiveConfig)] == ["config", "sources"]
    assert issubclass(CompilerConfig, BaseModel)


def test_load_config_signature() -> None:
    params = inspect.signature(load_config).parameters
    assert list(params) == ["path", "model", "overrides"]
    assert params["model"].default is None and params["overrides"].default is None


def test_exports() -> None:
    for name in (
        "ConfigError",
        "CompilerConfig",
        "EffectiveConfig",
        "load_config",
        "check_card_budget",
        "shipped_configs",
    ):
        assert hasattr(cfg, name)


def test_parse_override() -> None:
    assert cfg.parse_override("aipu_cores_used=4") == ("aipu_cores_used", 4)
    assert cfg.parse_override("resources_used = 0.25") == ("resources_used", 0.25)
    assert cfg.parse_override("enable_icr=false") == ("enable_icr", False)
    assert cfg.parse_override('profiling_levels=["[B]"]') == ("profiling_levels", ["[B]"])
    assert cfg.parse_override("quantization_scheme=per_tensor_min_max") == (
        "quantization_scheme",
        "per_tensor_min_max",
    )
    assert cfg.parse_override('model_name="2024"') == ("model_name", "2024")
    with pytest.raises(ConfigError, match="expected KEY=VALUE"):
        cfg.parse_override("aipu_cores_used")
