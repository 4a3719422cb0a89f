"""Periods of calendar months, counted one way everywhere (a leaf: nothing from the rest of the project).

A date plus N months lands on the same day of the month N months later, or on that month's last day when it
is shorter (2026-08-31 + 6 → 2027-02-28; 2026-03-31 + 2 → 2026-05-31), as the Civil Code counts a period of
months. The procurement window of 2 months, the deposit's 6 months of idleness and its term, a whistleblower's
3 months for feedback: every module's rules read a month here, so no two of them disagree on one.
"""

from __future__ import annotations

import calendar
from datetime import date


def add_months(day: date, months: int) -> date:
    """``day`` plus ``months`` calendar months (negative: back), clamped to the last day of a shorter month."""
    year, month0 = divmod(day.year * 12 + day.month - 1 + months, 12)
    return date(year, month0 + 1, min(day.day, calendar.monthrange(year, month0 + 1)[1]))
