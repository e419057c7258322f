"""Multi-core budgets: the models of one card (a cascade) share the AIPU.

Per model, ``aipu_cores_used`` (1 to 4) and ``resources_used`` (a multiple of 0.25 in (0, 1]) are
checked by ``CompilerConfig``: Batch-1 is ``aipu_cores_used = 1, resources_used = 0.25`` (the
runtime runs one instance per core), Batch-x is ``aipu_cores_used = x, resources_used = 1.0``.
Across the models of a cascade, the ``resources_used`` values must sum to at most 1.0.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from axc.config.errors import ConfigError
from axc.config.sources import (
    CARD_SUFFIXES,
    EffectiveConfig,
    card_layers,
    merge,
    override_layer,
    read_card,
    select_model,
)

BUDGET = Fraction(1)
"""The whole AIPU: all cores' share of on-chip memory."""


@dataclass
class CardBudget:
    """The effective configuration of every model of a card, and their total ``resources_used``."""

    card: Path
    models: dict[str, EffectiveConfig]
    total: float

    def summary(self) -> str:
        """One line: each model's cores and resources, and the total against the budget."""
        parts = [
            f"{name} ({eff.config.aipu_cores_used} core{'s' * (eff.config.aipu_cores_used > 1)}, "
            f"resources_used {eff.config.resources_used:g})"
            for name, eff in self.models.items()
        ]
        return f"{self.card}: {'; '.join(parts)}; total resources_used {self.total:g} of 1"


def check_card_budget(
    card_path: str | Path, model: str | None = None, overrides: Mapping[str, Any] | None = None
) -> CardBudget:
    """Load every model of a card and check that their ``resources_used`` sum to at most 1.0.

    ``overrides`` (command-line values) apply to ``model`` only, or to every model when ``model``
    is None: pass the same ``model`` and ``overrides`` as to ``load_config`` so the check sees what
    will be compiled. Raises ``ConfigError`` naming the card, each model's share and the total.
    """
    card = Path(card_path)
    if card.suffix not in CARD_SUFFIXES:
        raise ConfigError(f"{card}: a budget is checked on a YAML model card (.yaml, .yml)")
    models = read_card(card)
    if model is not None:
        select_model(card, models, model)  # an unknown model raises, with a suggestion
    configs: dict[str, EffectiveConfig] = {}
    for name, entry in models.items():
        layers = card_layers(card, name, entry)
        if overrides and model in (None, name):
            layers.append(override_layer(overrides))
        configs[name] = merge(layers, f"{card}: models.{name}")
    total = sum((Fraction(eff.config.resources_used) for eff in configs.values()), Fraction(0))
    budget = CardBudget(card, configs, float(total))
    if total > BUDGET:
        shares = " + ".join(
            f"{eff.config.resources_used:g} ({name})" for name, eff in configs.items()
        )
        raise ConfigError(
            f"{card}: resources_used: the models of the cascade must sum to at most 1.0, "
            f"got {shares} = {float(total):g}"
        )
    return budget
