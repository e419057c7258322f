"""``CompilerConfig``: every property of the compiler configuration, its bounds and its rules.

This is the one definition: the JSON schema (config/schema.json), the generated page
docs/configuration.md and the parametrized tests are all derived from it. The fields live in option
groups (fields_*.py), one per section of the docs; the rules between fields live here.
"""

from __future__ import annotations

import re
from typing import Any

from axc.config.fields_backend import (
    ComputeOptions,
    MemoryOptions,
    SchedulingOptions,
    TilingOptions,
)
from axc.config.fields_device import DebugOptions, DeviceOptions, RuntimeOptions
from axc.config.fields_frontend import (
    GeneralOptions,
    GraphCleanerOptions,
    GraphRewriteOptions,
    QuantizationOptions,
)
from axc.config.types import OptionGroup
from pydantic import ConfigDict, model_validator
from pydantic_core import PydanticCustomError

OPTION_GROUPS: tuple[type[OptionGroup], ...] = (
    GraphRewriteOptions,
    GeneralOptions,
    QuantizationOptions,
    GraphCleanerOptions,
    SchedulingOptions,
    TilingOptions,
    MemoryOptions,
    ComputeOptions,
    DeviceOptions,
    RuntimeOptions,
    DebugOptions,
)
"""The sections of the configuration, in the reference's order of properties."""

API_ALIASES: dict[str, str] = {
    "aipu_cores": "aipu_cores_used",
    "resources": "resources_used",
    "ptq_scheme": "quantization_scheme",
}
"""Python API name -> property. Accepted as ``CompilerConfig(...)`` keyword arguments only;
configuration files use the property names."""

AXC_ADDITIONS: dict[str, str] = {
    "l2_reserved_nbytes_tasklist": "legacy backend_config key, carried as a property (default 0, "
    "minimum 0; must be 0 when elf_in_ddr is true)",
    "resources_used": "must be a multiple of 0.25 (multi-core reference)",
    "dpu_instructions_home": "restricted to the values the reference calls 'Ok values'",
    "dwpu_instructions_home": "restricted to the values the reference calls 'Ok values'",
    "output_dir": "no default: unset (null) means the compiling tool chooses",
    "compiler_dir": "no default: unset (null) means the installed axc package",
    "model_debug_save_dir": "no default: unset (null) means the compiling tool chooses",
    "runtime_dir": "no default: unset (null) means the installed axc.runtime package",
    "device_dir": "no default: unset (null) means no device directory",
    "ddr_size_used": "minimum 0, and at most ddr_size_max",
    **{
        key: "minimum 0 (a size or address is never negative)"
        for key in (
            "l1_size_reserved",
            "l1_size_used",
            "l1_virtual_address",
            "l1_core0_physical_address",
            "l2_size_reserved",
            "l2_size_reserved_tasklist",
            "l2_size_used",
            "ddr_size_max",
            "ddr_size_reserved",
            "l1_constraint",
            "l2_constraint",
            "ddr_constraint",
        )
    },
    "host_processes_used": "minimum 1",
}
"""Where axc's definition is stricter than, or fills a gap of, the full reference (documented)."""


def _rule(keys: tuple[str, ...], message: str, **ctx: Any) -> PydanticCustomError:
    """A cross-field error; ``keys`` are the properties involved (first: the one to change)."""
    return PydanticCustomError("cross_field", message, {"keys": keys, **ctx})


def _tidy_schema(schema: dict[str, Any]) -> None:
    """One-line descriptions and no generated titles in the JSON schema."""
    schema["description"] = "The configuration of the axc compiler."
    for prop in schema.get("properties", {}).values():
        prop.pop("title", None)
        if "description" in prop:
            prop["description"] = re.sub(r"\s+", " ", prop["description"]).strip()


# pydantic collects the fields of the bases in reverse order: reversing the bases keeps the
# reference's order of properties.
class CompilerConfig(*reversed(OPTION_GROUPS)):  # type: ignore[misc]
    """The configuration of the axc compiler.

    Construct it from keyword arguments with the reference's property names, or the Python API
    names ``aipu_cores``, ``resources``, ``ptq_scheme``: ``CompilerConfig(aipu_cores=4,
    resources=1.0)``. Unknown names, wrong types and values out of range raise
    ``pydantic.ValidationError``; ``axc.config.load_config`` turns them into a ``ConfigError``
    naming the file and the key. Instances are frozen: use ``replace(**changes)``.
    """

    model_config = ConfigDict(
        use_attribute_docstrings=True,
        extra="forbid",
        frozen=True,
        title="CompilerConfig",
        json_schema_extra=_tidy_schema,
    )

    @model_validator(mode="before")
    @classmethod
    def _one_name_per_property(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for alias, name in API_ALIASES.items():
                if alias in data and name in data:
                    raise _rule(
                        (name,),
                        "{name} is given twice, as {name} and as its Python API name {alias}",
                        name=name,
                        alias=alias,
                    )
        return data

    @model_validator(mode="after")
    def _cross_field_rules(self) -> CompilerConfig:
        if self.elf_in_ddr and self.l2_reserved_nbytes_tasklist != 0:
            raise _rule(
                ("l2_reserved_nbytes_tasklist", "elf_in_ddr"),
                "must be 0 when elf_in_ddr is true (the ELF is in DDR, not L2), got {value}",
                value=self.l2_reserved_nbytes_tasklist,
            )
        if self.ddr_size_used > self.ddr_size_max:
            raise _rule(
                ("ddr_size_used", "ddr_size_max"),
                "must be at most ddr_size_max ({limit}), got {value}",
                limit=self.ddr_size_max,
                value=self.ddr_size_used,
            )
        return self

    def replace(self, **changes: Any) -> CompilerConfig:
        """A copy with ``changes`` applied, validated again (``model_copy`` does not validate)."""
        return type(self).model_validate({**self.model_dump(), **changes})


def property_names() -> list[str]:
    """Every property name, in the order of the definition."""
    return list(CompilerConfig.model_fields)


def json_schema() -> dict[str, Any]:
    """The JSON schema of the configuration (what config/schema.json holds)."""
    schema = CompilerConfig.model_json_schema(mode="validation")
    for definition in schema.get("$defs", {}).values():  # the enums, added after _tidy_schema
        definition["description"] = re.sub(r"\s+", " ", definition["description"]).strip()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema
