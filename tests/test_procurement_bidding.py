"""The bidding and credit rules at their edges (80 vs 79.5 points): the window's last instant, the ceiling exactly, a blacklisted or unqualified
supplier, the anti-sniping extension at exactly its span, ranks by each supplier's best bid, ties to the earlier."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from central.modules.procurement.bidding import EXTEND, Bid, counted, extended, refusal, standing, winner
from central.modules.procurement.credit import DEDUCTIONS, START, after, blacklisted, points
from central.modules.procurement.deals import Deal, savings, total

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
CLOSE = T0 + timedelta(days=3)


def test_a_bid_is_taken_up_to_the_ceiling_inside_the_window_only() -> None:
    assert refusal(CLOSE - timedelta(microseconds=1), T0, CLOSE, 500_000, 500_000, True, False) is None
    assert "结束" in (refusal(CLOSE, T0, CLOSE, 400_000, 500_000, True, False) or "")
    assert "高于最高限价 ¥5,000.00" in (refusal(T0, T0, CLOSE, 500_001, 500_000, True, False) or "")
    assert "尚未开始" in (refusal(T0 - timedelta(seconds=1), T0, CLOSE, 1, 500_000, True, False) or "")
    assert "黑名单" in (refusal(T0, T0, CLOSE, 1, 500_000, True, True) or "")
    assert "合格供应商" in (refusal(T0, T0, CLOSE, 1, 500_000, False, False) or "")
    assert "大于 0" in (refusal(T0, T0, CLOSE, 0, 500_000, True, False) or "")


def test_a_bid_in_the_last_minutes_extends_the_window() -> None:
    assert extended(CLOSE, CLOSE - EXTEND - timedelta(seconds=1), EXTEND) == CLOSE
    assert extended(CLOSE, CLOSE - EXTEND, EXTEND) == CLOSE  # at exactly the span: now + EXTEND is the same end
    late = CLOSE - timedelta(minutes=1)
    assert extended(CLOSE, late, EXTEND) == late + EXTEND
    ten = timedelta(minutes=10)  # a county's longer span
    assert extended(CLOSE, CLOSE - ten, ten) == CLOSE and extended(CLOSE, late, ten) == late + ten


def test_ranks_count_each_supplier_s_best_bid_and_ties_go_to_the_earlier() -> None:
    bids = [Bid(1, "a", 480_000, T0), Bid(2, "b", 470_000, T0), Bid(3, "a", 460_000, T0), Bid(4, "c", 460_000, T0)]
    assert [(b.supplier, b.amount_fen) for b in counted(bids)] == [("a", 460_000), ("c", 460_000), ("b", 470_000)]
    assert standing(bids, "b") == (460_000, 3, 3) and standing(bids, "d") == (460_000, None, 3)
    assert winner(bids, 500_000) == Bid(3, "a", 460_000, T0)
    assert winner(bids, 459_999) is None  # none at or below the ceiling: the tender fails
    assert winner([], 500_000) is None


def test_80_still_trades_and_79_5_is_blacklisted() -> None:
    assert not blacklisted(800) and blacklisted(795)
    assert after(START, DEDUCTIONS["refused_to_sign"]) == 800 and after(800, DEDUCTIONS["late_delivery"]) == 775
    assert points(795) == "79.5"
    assert after(50, DEDUCTIONS["refused_to_sign"]) == 0  # never below zero


def test_savings_per_key_in_fen_and_the_share_rounded_down() -> None:
    deals = [Deal("青莲村", "河上镇", "其他", 1_200_000, 1_090_000), Deal("白马村", "河上镇", "其他", 300_000, 300_000),
             Deal("青莲村", "河上镇", "办公用品", 100_000, 66_667)]  # fmt: skip
    by_village = savings(deals, lambda d: d.village)
    assert [(s.key, s.deals, s.saved_fen, s.share) for s in by_village] == [
        ("白马村", 1, 0, "0.0%"),
        ("青莲村", 2, 143_333, "11.0%"),
    ]
    assert total(deals).saved_fen == 143_333 and total([]).share == "0.0%"
