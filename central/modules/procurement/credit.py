"""The supplier credit index (信用分): the rules, pure, in tenths of a point so 79.5 is exact.

Every supplier starts at 100. A county officer deducts points for a recorded reason of one of the kinds below
(the county's own amounts, terms.py; these are the defaults; each a decision with its reason and evidence); at less than 80 the supplier is blacklisted at once and its bids
in open tenders are withdrawn. Only a county decision with a reason reinstates it, back at the line (80).
"""

from __future__ import annotations

START = 1000  # 100.0 points
LINE = 800  # 80.0: below it, blacklisted
#: What the county deducts for, and how many tenths of a point unless the county's terms say otherwise.
DEDUCTIONS = {"late_delivery": 25, "failed_acceptance": 100, "refused_to_sign": 200, "complaint_upheld": 100}
DEDUCTION_NAMES = {
    "late_delivery": "逾期交货",
    "failed_acceptance": "验收不合格",
    "refused_to_sign": "拒签合同",
    "complaint_upheld": "投诉查实",
}


def points(tenths: int) -> str:
    """Tenths of a point as people read them: ``79.5``."""
    return f"{tenths // 10}.{tenths % 10}"


def after(score: int, tenths: int) -> int:
    """The index after a deduction of ``tenths`` of a point (never below 0)."""
    return max(score - tenths, 0)


def blacklisted(score: int) -> bool:
    """80.0 still trades; 79.5 does not."""
    return score < LINE
