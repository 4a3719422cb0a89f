"""Calendar months, one reading for every module (edge.kernel.months)."""

from __future__ import annotations

from datetime import date

import pytest

from edge.kernel.months import add_months

D = date.fromisoformat


@pytest.mark.parametrize(("start", "months", "expected"), [
    ("2026-08-31", 6, "2027-02-28"),  # a shorter month: its last day
    ("2027-08-31", 6, "2028-02-29"),  # a leap year's February
    ("2026-03-15", 6, "2026-09-15"),
    ("2026-01-31", 1, "2026-02-28"),
    ("2026-01-31", 2, "2026-03-31"),  # always from the original day, never chained
    ("2026-12-31", -10, "2026-02-28"),
    ("2026-11-30", 3, "2027-02-28"),
    ("2026-03-31", -1, "2026-02-28"),  # back as well as forward
    ("2023-12-30", 2, "2024-02-29"),
])  # fmt: skip
def test_month_arithmetic_keeps_the_day_or_takes_the_months_last(start: str, months: int, expected: str) -> None:
    assert add_months(D(start), months) == D(expected)
