"""The split-purchase rule at its edges: 4,999.99 vs 5,000.00 yuan, the last day of two months and the day
after (month ends included), one project across a year; delivery acceptance and payments."""

from __future__ import annotations

from datetime import date

import pytest

from edge.modules.procurement.rules import (
    OFFLINE,
    PLATFORM,
    SAME_CATEGORY,
    SAME_PROJECT,
    THRESHOLD_FEN,
    Purchase,
    audit,
    check_delivery,
    delivery_message,
    offline_refusal,
    payment_due,
    refusal_message,
    window_end,
)  # fmt: skip

D = date.fromisoformat


def buy(
    pid: str, day: str, fen: int, category: str = "办公用品", project: str = "", channel: str = OFFLINE
) -> Purchase:
    return Purchase(pid, D(day), category, fen, channel, project)


@pytest.mark.parametrize(
    ("start", "end"),
    [("2026-03-31", "2026-05-31"), ("2026-01-31", "2026-03-31"), ("2025-12-31", "2026-02-28"), ("2023-12-30", "2024-02-29"),
     ("2026-01-15", "2026-03-15"), ("2026-11-30", "2027-01-30"), ("2026-12-31", "2027-02-28")],
)  # fmt: skip
def test_two_months_end_on_the_same_day_or_the_last_day_of_a_shorter_month(start: str, end: str) -> None:
    assert window_end(D(start)) == D(end)


def test_4999_99_passes_and_5000_00_is_refused() -> None:
    earlier = [buy("A", "2026-03-01", 300_000)]
    assert offline_refusal(buy("B", "2026-03-10", 199_999), earlier) == []
    [group] = offline_refusal(buy("B", "2026-03-10", 200_000), earlier)
    assert (group.rule, group.key, group.ids, group.total_fen) == (SAME_CATEGORY, "办公用品", ("A", "B"), THRESHOLD_FEN)


def test_the_last_day_of_the_two_months_counts_and_the_day_after_does_not() -> None:
    earlier = [buy("A", "2026-03-31", 300_000)]
    assert [g.ids for g in offline_refusal(buy("B", "2026-05-31", 200_000), earlier)] == [("A", "B")]
    assert offline_refusal(buy("B", "2026-06-01", 200_000), earlier) == []
    # A shorter month: from 2025-12-31 the window ends on 2026-02-28.
    earlier = [buy("A", "2025-12-31", 300_000)]
    assert offline_refusal(buy("B", "2026-02-28", 200_000), earlier) != []
    assert offline_refusal(buy("B", "2026-03-01", 200_000), earlier) == []


def test_a_purchase_dated_before_earlier_records_counts_forwards() -> None:
    # Recorded late: the candidate is the start of the window that holds the later purchase.
    earlier = [buy("A", "2026-05-31", 300_000)]
    assert offline_refusal(buy("B", "2026-03-31", 200_000), earlier) != []
    assert offline_refusal(buy("B", "2026-03-30", 200_000), earlier) == []


def test_the_largest_window_is_shown() -> None:
    earlier = [buy("A", "2026-01-05", 100_000), buy("B", "2026-02-20", 200_000), buy("C", "2026-04-10", 250_000)]
    [group] = offline_refusal(buy("N", "2026-03-01", 100_000), earlier)
    # windows holding N: from A (A,B,N = 4,000: under), from B (B,N,C = 5,500): the one shown
    assert (group.ids, group.total_fen, group.start, group.end) == (
        ("B", "N", "C"),
        550_000,
        D("2026-02-20"),
        D("2026-04-20"),
    )


def test_one_project_adds_up_across_a_year_and_any_channel() -> None:
    earlier = [
        buy("A", "2025-01-10", 400_000, "水泥", "村道硬化", PLATFORM),
        buy("B", "2025-12-20", 50_000, "钢筋", "村道硬化"),
    ]
    [group] = offline_refusal(buy("C", "2026-01-09", 50_000, "砂石", "村道硬化"), earlier)
    assert (group.rule, group.ids, group.total_fen) == (SAME_PROJECT, ("A", "B", "C"), THRESHOLD_FEN)
    assert offline_refusal(buy("C", "2026-01-09", 49_999, "砂石", "村道硬化"), earlier) == []
    assert offline_refusal(buy("C", "2026-01-09", 50_000, "砂石", "另一项目"), earlier) == []


def test_a_platform_purchase_is_never_refused() -> None:
    assert offline_refusal(buy("B", "2026-03-10", 900_000, channel=PLATFORM), [buy("A", "2026-03-01", 300_000)]) == []


def test_both_rules_at_once_and_the_message_lists_every_purchase() -> None:
    earlier = [buy("A", "2026-03-01", 300_000, project="文化礼堂")]
    candidate = buy("B", "2026-03-10", 200_000, project="文化礼堂")
    groups = offline_refusal(candidate, earlier)
    assert [g.rule for g in groups] == [SAME_PROJECT, SAME_CATEGORY]
    text = refusal_message(groups, {"A": 300_000, "B": 200_000}, {"A": D("2026-03-01"), "B": D("2026-03-10")})
    assert (
        "项目“文化礼堂”的采购累计 ¥5,000.00" in text
        and "A（2026-03-01，¥3,000.00）" in text
        and "B（2026-03-10，¥2,000.00）" in text
    )
    assert "2026-03-01 至 2026-05-01 两个月内累计" in text


def test_the_audit_flags_each_group_with_an_offline_purchase() -> None:
    purchases = [
        buy("1", "2026-03-31", 300_000), buy("2", "2026-05-31", 199_999), buy("3", "2026-06-01", 100_000),
        buy("4", "2026-01-01", 600_000, "电脑", channel=PLATFORM),  # platform only: no flag
        buy("5", "2025-02-01", 249_999, "水泥", "村道", PLATFORM), buy("6", "2026-01-20", 250_000, "沙", "村道"),
    ]  # fmt: skip
    assert audit(purchases) == []  # 1+2 = 4,999.99; 2+3 = 2,999.99; 村道 4,999.99; 电脑 platform only
    purchases[1] = buy("2", "2026-05-31", 200_000)
    purchases[4] = buy("5", "2025-02-01", 250_000, "水泥", "村道", PLATFORM)  # the same project a year on
    flagged = [(g.rule, g.key, g.ids, g.total_fen) for g in audit(purchases)]
    assert flagged == [(SAME_PROJECT, "村道", ("5", "6"), 500_000), (SAME_CATEGORY, "办公用品", ("1", "2"), 500_000)]


def test_the_audit_reports_maximal_windows_once() -> None:
    purchases = [buy("1", "2026-01-01", 200_000), buy("2", "2026-01-15", 200_000), buy("3", "2026-02-01", 200_000)]
    assert [g.ids for g in audit(purchases)] == [("1", "2", "3")]


def test_a_delivery_passes_only_when_every_line_matches() -> None:
    assert all(c.ok for c in check_delivery([10, 2], [10, 2]))
    checks = check_delivery([10, 2], [9, 3])
    assert delivery_message(checks, ["水泥", "钢筋"]) == "验收不合格：水泥 需求 10，到货 9；钢筋 需求 2，到货 3"
    with pytest.raises(ValueError):
        check_delivery([10, 2], [10])


def test_payment_never_goes_beyond_the_award() -> None:
    assert payment_due(500_000, 200_000) == 300_000
    assert payment_due(500_000, 500_000) == 0
