"""axc.config: the compiler configuration.

``CompilerConfig`` defines every property (pydantic v2; the JSON schema config/schema.json and the
page docs/configuration.md are generated from it). ``load_config`` reads a YAML model card, a TOML
file or nothing, merges defaults < TOML < inline YAML < command line, and records where each value
came from. ``check_card_budget`` checks a cascade's multi-core budget. Errors are ``ConfigError``
with a one-line message naming the file, the key and the rule.
"""

from axc.config.budget import CardBudget, check_card_budget
from axc.config.enums import (
    CompilerMode,
    DPUAllocationAlgorithm,
    GraphCleanerCondition,
    GraphCleanerNode,
    MulticoreMode,
    ProfilingLevel,
    QuantizationScheme,
)
from axc.config.errors import ConfigDeprecationWarning, ConfigError
from axc.config.overrides import parse_override
from axc.config.schema import CompilerConfig, json_schema, property_names
from axc.config.sources import EffectiveConfig, load_config, shipped_configs

__all__ = [
    "CardBudget",
    "CompilerConfig",
    "CompilerMode",
    "ConfigDeprecationWarning",
    "ConfigError",
    "DPUAllocationAlgorithm",
    "EffectiveConfig",
    "GraphCleanerCondition",
    "GraphCleanerNode",
    "MulticoreMode",
    "ProfilingLevel",
    "QuantizationScheme",
    "check_card_budget",
    "json_schema",
    "load_config",
    "parse_override",
    "property_names",
    "shipped_configs",
]
