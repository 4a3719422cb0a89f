"""The bidding rules, as pure functions: who may bid, when, how much; the anti-sniping extension; ranks; the award.

A bid is accepted while the window is open (``opens_at <= now < closes_at``), from a supplier qualified for the
demand's category in its county and not blacklisted, for an amount above zero and at most the ceiling. A bid in
the last ``extend`` of the window moves its end to ``extend`` after that bid (anti-sniping), so every rival has
the same time to answer. The window and ``extend`` are the county's (terms.py); ``WINDOW`` and ``EXTEND`` are
the platform's defaults. A supplier may bid again; its lowest bid counts (the earlier one between equal
amounts). The award goes to the lowest counted bid at or below the ceiling; between equal amounts, to the
earlier bid. No valid bid: the tender fails.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

EXTEND = timedelta(minutes=5)  # anti-sniping by default: a bid in the last 5 minutes keeps the window open 5 more
WINDOW = timedelta(days=3)  # a tender's window from the township's approval, by default


def yuan(fen: int) -> str:
    return f"¥{fen // 100:,}.{fen % 100:02d}"


@dataclass(frozen=True)
class Bid:
    seq: int  # the order bids were taken in (the earlier wins a tie)
    supplier: str  # the supplier's account
    amount_fen: int
    at: datetime


def refusal(now: datetime, opens_at: datetime, closes_at: datetime, amount_fen: int, ceiling_fen: int,
            qualified: bool, blacklisted: bool) -> str | None:  # fmt: skip
    """Why a bid is refused, in Chinese; None when it is accepted."""
    if blacklisted:
        return "您的单位已被列入黑名单（信用分低于 80），不能参与竞价"
    if not qualified:
        return "您的单位不是该类物品在本县的合格供应商，不能参与此项竞价"
    if now < opens_at:
        return "竞价尚未开始"
    if now >= closes_at:
        return f"竞价已于 {closes_at.isoformat(timespec='seconds')} 结束，不再接受报价"
    if amount_fen <= 0:
        return "报价应大于 0"
    if amount_fen > ceiling_fen:
        return f"报价 {yuan(amount_fen)} 高于最高限价 {yuan(ceiling_fen)}，不予接受"
    return None


def extended(closes_at: datetime, now: datetime, extend: timedelta) -> datetime:
    """The window's end after an accepted bid at ``now``: moved to ``now + extend`` when the bid came within the last
    ``extend`` (at exactly ``extend`` before the end too), unchanged otherwise."""
    return max(closes_at, now + extend) if closes_at - now <= extend else closes_at


def counted(bids: Iterable[Bid]) -> list[Bid]:
    """Each supplier's counted bid (its lowest; the earlier of equal ones), best first (amount, then order)."""
    best: dict[str, Bid] = {}
    for bid in bids:
        held = best.get(bid.supplier)
        if held is None or (bid.amount_fen, bid.seq) < (held.amount_fen, held.seq):
            best[bid.supplier] = bid
    return sorted(best.values(), key=lambda b: (b.amount_fen, b.seq))


def standing(bids: Sequence[Bid], supplier: str) -> tuple[int | None, int | None, int]:
    """What one bidder may see: the current lowest price, its own rank (1 = lowest; None without a bid) and how many
    bid — never a rival's name."""
    ranked = counted(bids)
    rank = next((i for i, b in enumerate(ranked, 1) if b.supplier == supplier), None)
    return (ranked[0].amount_fen if ranked else None), rank, len(ranked)


def winner(bids: Sequence[Bid], ceiling_fen: int) -> Bid | None:
    """The award: the lowest counted bid at or below the ceiling (the earlier between equals), or None."""
    valid = [b for b in counted(bids) if 0 < b.amount_fen <= ceiling_fen]
    return valid[0] if valid else None
