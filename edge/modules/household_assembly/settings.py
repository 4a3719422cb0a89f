"""``[household_assembly]``: how the village computes a satisfaction rate, and the line below which a cadre is
flagged to the township for a talk.

    [household_assembly]
    formula = "satisfied_and_basic"   # 满意率 = (满意 + 基本满意) / 有效票 (the default); or "satisfied_only": 满意 / 有效票
    line_percent = "80"               # a percent, at most two decimals; the meeting form starts from it

Each meeting records the formula and the line it was created with, so a change of config never changes a
result already published.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from edge.kernel.toml import ConfigSection, Table
from edge.modules.household_assembly.kinds import NAME
from edge.modules.household_assembly.rules import (
    DEFAULT_FORMULA,
    DEFAULT_LINE_PERCENT,
    FORMULAS,
    RuleError,
    line_percent,
)


@dataclass(frozen=True)
class Settings:
    formula: str = DEFAULT_FORMULA
    line_percent: str = DEFAULT_LINE_PERCENT


def parse(table: Table) -> Settings:
    formula = table.string("formula", False) or DEFAULT_FORMULA
    line = table.string("line_percent", False) or DEFAULT_LINE_PERCENT
    table.done()
    if formula not in FORMULAS:
        raise table.fail(
            "formula", f"应为 {' 或 '.join(FORMULAS)}，收到 {formula!r}"
        )
    try:
        line_percent(line)
    except RuleError as exc:
        raise table.fail("line_percent", exc.message) from None
    return Settings(formula, line)


SECTION = ConfigSection(NAME, parse)


def settings(config: Any) -> Settings:
    """This edge's settings (the defaults without the table)."""
    found = config.sections.get(NAME)
    return found if isinstance(found, Settings) else Settings()
