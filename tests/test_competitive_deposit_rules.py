"""Competitive deposit's rules at their boundaries: the amount (2,999,999.99 vs 3,000,000.00), the months
(exactly 6 vs 6 and a day, month ends included), the idle funds from a balance history, the signing clock (day 3
vs day 4), the interest in fen, and the scoring with its tie-breaks."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from edge.modules.competitive_deposit import rules
from edge.modules.competitive_deposit.rules import Bid, DayBalance, eligibility, idle_funds, months_elapsed

D = date.fromisoformat
MIN = 300_000_000  # 3,000,000.00 yuan in fen


@pytest.mark.parametrize(("since", "as_of", "more"), [
    ("2026-03-15", "2026-09-15", False),  # exactly 6 months
    ("2026-03-15", "2026-09-16", True),  # 6 months and a day
    ("2026-08-31", "2027-02-28", False),  # month end: 08-31 + 6 months is 02-28
    ("2026-08-31", "2027-03-01", True),
    ("2027-08-31", "2028-02-28", False),
    ("2027-08-31", "2028-02-29", False),  # leap year: exactly 6 months on the 29th
    ("2027-08-31", "2028-03-01", True),
    ("2026-08-30", "2027-02-28", False),
])  # fmt: skip
def test_idle_for_more_than_six_months_exactly_at_the_boundary(since: str, as_of: str, more: bool) -> None:
    assert rules.idle_long_enough(D(since), D(as_of), 6) is more


def test_whole_months_elapsed() -> None:
    assert months_elapsed(D("2026-03-15"), D("2026-10-14")) == 6
    assert months_elapsed(D("2026-03-15"), D("2026-10-15")) == 7
    assert months_elapsed(D("2026-08-31"), D("2027-02-28")) == 6
    assert months_elapsed(D("2026-08-31"), D("2027-02-27")) == 5
    assert months_elapsed(D("2026-05-01"), D("2026-04-01")) == 0


def _flat(fen: int, since: str) -> list[DayBalance]:
    return [DayBalance(D(since), fen, fen)]


@pytest.mark.parametrize(("fen", "eligible"), [(299_999_999, False), (300_000_000, True), (300_000_001, True)])
def test_the_amount_boundary_is_inclusive(fen: int, eligible: bool) -> None:
    e = eligibility(idle_funds(_flat(fen, "2026-01-10"), D("2026-12-01"), MIN), MIN, 6)
    assert e.eligible is eligible
    if not eligible:
        assert "未达 3,000,000.00 元" in e.explanation and "闲置 2,999,999.99 元，自 2026-01-10 起，已 10 个月" in e.explanation


def test_the_explanation_as_the_issue_writes_it() -> None:
    history = [DayBalance(D("2025-12-01"), 100_000_000, 100_000_000), DayBalance(D("2026-03-15"), 320_000_000, 320_000_000)]
    e = eligibility(idle_funds(history, D("2026-10-20"), MIN), MIN, 6)
    assert e.eligible and e.explanation == "闲置 3,200,000.00 元，自 2026-03-15 起，已 7 个月：应竞争性存放"
    assert e.eligible_from == D("2026-09-16")


def test_exactly_six_months_is_not_yet_eligible_one_day_more_is() -> None:
    h = _flat(320_000_000, "2026-08-31")
    on = eligibility(idle_funds(h, D("2027-02-28"), MIN), MIN, 6)
    assert not on.eligible and "未超过 6 个月（满 6 个月后一天为 2027-03-01）" in on.explanation
    assert eligibility(idle_funds(h, D("2027-03-01"), MIN), MIN, 6).eligible


def test_idle_funds_is_the_lowest_balance_of_the_run_at_or_above_the_amount() -> None:
    history = [
        DayBalance(D("2026-01-05"), 250_000_000, 250_000_000),  # below: the run begins after it
        DayBalance(D("2026-02-10"), 400_000_000, 500_000_000),  # the day's low counts, not only its close
        DayBalance(D("2026-06-01"), 330_000_000, 330_000_000),
        DayBalance(D("2026-09-01"), 800_000_000, 800_000_000),  # new money: not idle long, the floor stays
    ]
    idle = idle_funds(history, D("2026-10-01"), MIN)
    assert idle == rules.Idle(330_000_000, D("2026-02-10"), D("2026-10-01"), True)


def test_a_dip_within_a_day_breaks_the_run_and_it_starts_again_the_next_day() -> None:
    history = [DayBalance(D("2026-01-05"), 500_000_000, 500_000_000), DayBalance(D("2026-04-01"), 299_999_999, 450_000_000)]
    idle = idle_funds(history, D("2026-10-01"), MIN)
    assert idle is not None and (idle.since, idle.amount_fen) == (D("2026-04-02"), 450_000_000)


def test_below_the_amount_now_reports_what_is_held_now_and_since_when() -> None:
    history = [DayBalance(D("2026-01-05"), 500_000_000, 500_000_000), DayBalance(D("2026-04-01"), 100_000_000, 100_000_000)]
    assert idle_funds(history, D("2026-10-01"), MIN) == rules.Idle(100_000_000, D("2026-01-05"), D("2026-10-01"), False)
    history = [DayBalance(D("2025-01-05"), 180_000_000, 180_000_000), DayBalance(D("2025-02-01"), 299_999_999, 299_999_999)]
    assert idle_funds(history, D("2026-10-01"), MIN) == rules.Idle(299_999_999, D("2025-02-01"), D("2026-10-01"), False)
    history = [DayBalance(D("2026-01-05"), 0, 0)]
    assert idle_funds(history, D("2026-10-01"), MIN) == rules.Idle(0, D("2026-01-05"), D("2026-10-01"), False)
    assert idle_funds([], D("2026-10-01"), MIN) is None
    with pytest.raises(rules.RuleError):
        idle_funds(history, D("2025-12-31"), MIN)  # a balance after the day asked about


def test_days_of_statement_rows_take_the_lowest_and_the_last() -> None:
    days = rules.days_of([(D("2026-01-05"), 500), (D("2026-01-05"), 200), (D("2026-01-05"), 300), (D("2026-01-06"), 900)])
    assert days == [DayBalance(D("2026-01-05"), 200, 300), DayBalance(D("2026-01-06"), 900, 900)]


@pytest.mark.parametrize(("signed", "late"), [("2026-06-01", False), ("2026-06-04", False), ("2026-06-05", True)])
def test_signing_within_three_days_of_the_notice(signed: str, late: bool) -> None:
    assert rules.signing_deadline(D("2026-06-01")) == D("2026-06-04")  # day 3 is on time, day 4 is late
    assert rules.signed_late(D("2026-06-01"), D(signed)) is late


def test_interest_and_extra_income_in_fen_half_up() -> None:
    # 3,200,000.00 at 1.85% for 12 months: 59,200.00; demand 0.10%: 3,200.00; extra 56,000.00
    assert rules.extra_income(320_000_000, Decimal("1.85"), Decimal("0.10"), 12) == rules.Income(5_920_000, 320_000, 5_600_000)
    # 1,000,000.01 at 1.5% for 3 months = 3,750.0000375 yuan: 375,000 fen (the .00375 fen rounds down)
    assert rules.interest_fen(100_000_001, Decimal("1.5"), 3) == 375_000
    # 0.5 fen rounds up: 100 fen at 6% for 1 month = 0.5 fen
    assert rules.interest_fen(100, Decimal(6), 1) == 1


def _bid(bank: str, rate: str, op: str = "8", agri: str = "8", order: int = 0) -> Bid:
    return Bid(bank, Decimal(rate), Decimal(op), Decimal(agri), order)


def test_scoring_80_times_rate_over_the_highest_plus_the_two_scores() -> None:
    ranking = rules.score_bids([_bid("农商银行", "1.85", "9", "10", 0), _bid("农业银行", "1.80", "10", "9.5", 1), _bid("工商银行", "1.60", "10", "6", 2)])
    # 80 × 1.80 / 1.85 = 77.8378…; + 19.5 = 97.34; 80 × 1.6 / 1.85 = 69.189… + 16 = 85.19
    assert [(s.bank, str(s.score), str(s.rate_points)) for s in ranking] == [
        ("农商银行", "99.00", "80.00"), ("农业银行", "97.34", "77.84"), ("工商银行", "85.19", "69.19")]


def test_rounding_is_half_up_on_the_total() -> None:
    # 80 × 1.0001 / 1.6 = 50.005 exactly: half up gives 50.01 (half-even would give 50.00)
    s = rules.score_bids([_bid("A", "1.6", "0", "0"), _bid("B", "1.0001", "0", "0")])
    assert [str(x.score) for x in s] == ["80.00", "50.01"]
    assert rules.half_up(Decimal("97.345")) == Decimal("97.35") and rules.half_up(Decimal("97.344999")) == Decimal("97.34")


def test_equal_scores_go_to_the_higher_rate_then_the_earlier_bid() -> None:
    # A: 80 + 8 + 8 = 96.00; B: 80 × 1.80 / 2.00 = 72 + 10 + 10 = 92.00 ... make equal totals with different rates
    a = _bid("A", "2.00", "6", "6", order=2)  # 80 + 12 = 92.00
    b = _bid("B", "1.80", "10", "10", order=1)  # 72 + 20 = 92.00
    assert [s.bank for s in rules.score_bids([b, a])] == ["A", "B"]  # equal score: the higher rate first
    c = _bid("C", "2.00", "7", "5", order=0)  # 92.00 at the same rate as A, bid earlier
    assert [s.bank for s in rules.score_bids([a, b, c])] == ["C", "A", "B"]


def test_bad_bids_are_refused() -> None:
    with pytest.raises(rules.RuleError):
        rules.score_bids([_bid("A", "1.8"), _bid("A", "1.9")])
    with pytest.raises(rules.RuleError):
        rules.score_bids([_bid("A", "1.8", "11")])
    for text in ("0", "-1.5", "1.23456", "1e2", "NaN", "Infinity", "１.５", 1.5, "100"):
        with pytest.raises(rules.RuleError):
            rules.parse_rate(text)
    assert rules.parse_rate(" 1.8500 ") == Decimal("1.85")
    for text in ("10.01", "-1", "abc", 8):
        with pytest.raises(rules.RuleError):
            rules.parse_score(text)


def test_the_tender_command_rule_takes_eligible_accounts_and_ranks() -> None:
    accounts = [
        rules.IdleAccount("青莲村", "A1", 300_000_000, D("2026-03-01")),  # exactly 6 months on 09-01: not yet
        rules.IdleAccount("青莲村", "A2", 300_000_000, D("2026-02-28")),
        rules.IdleAccount("白石村", "B1", 299_999_999, D("2025-01-01")),
    ]
    result = rules.tender(D("2026-09-01"), accounts, [_bid("X", "1.5"), _bid("Y", "1.6")])
    assert [a.account for a in result.eligible] == ["A2"] and result.total_fen == 300_000_000 and result.winner == "Y"
