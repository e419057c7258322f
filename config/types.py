"""Field types of the configuration: strict scalars, so a file's ``"4"`` is not taken for ``4``.

Pydantic's default (lax) mode converts ``"4"`` to 4 and ``1`` to ``True``; a configuration file that
says ``aipu_cores_used = "4"`` or ``enable_icr = 1`` has the wrong type and is rejected. ``Float``
still accepts integers (``resources_used = 1``).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Strict

Bool = Annotated[bool, Strict()]
Int = Annotated[int, Strict()]
Float = Annotated[float, Strict()]
Str = Annotated[str, Strict()]
MemoryPool = Literal["global.ddr", "global.l2", "global.l1"]
"""Memory spaces a buffer can start in before buffer promotion."""

ConstantsHome = Literal["global.ddr", "global.l2"]
"""Memory spaces DPU constants can be placed in."""

InstructionsHome = Literal["default", "l2"]
"""Where DPU / DWPU instructions are placed ('Ok values' of the reference)."""


class OptionGroup(BaseModel):
    """Base of the option groups that make up ``CompilerConfig``.

    The docstring under each field is its description (in the JSON schema and the generated docs);
    the class docstring of a group is the heading of its section in docs/configuration.md.
    """

    model_config = ConfigDict(use_attribute_docstrings=True, extra="forbid", frozen=True)
