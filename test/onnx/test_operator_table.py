"""docs/operators.md is generated from the placement contract and up to date."""

from pathlib import Path

from axc.lowering.operator_table import AIPU_CONSTRAINTS, operator_table

DOC = Path(__file__).resolve().parents[2] / "docs" / "operators.md"


def test_operator_table_is_up_to_date() -> None:
    assert DOC.read_text() == operator_table(), "docs/operators.md is stale: run python -m axc.lowering.operator_table"


def test_table_lists_aipu_host_and_opsets() -> None:
    rows = {line.split(" | ")[0].removeprefix("| "): line for line in operator_table().splitlines() if line.startswith("| ")}
    assert "| AIPU |" in rows["Conv"] and "| host |" in rows["LayerNormalization"]
    assert rows["HardSwish"].endswith("| 14 |") and "| AIPU |" in rows["HardSwish"]
    assert rows["Resize"].endswith("| 10, 11, 13, 18, 19 |")
    assert set(AIPU_CONSTRAINTS) >= {"Sigmoid", "Clip", "Conv", "Concat"}
