"""The whistleblower module's pure rules at their boundaries: the 1+2+N roster, the 7-day and 3-month
deadlines to the microsecond (month ends clamped, in Asia/Shanghai), the loop's order, receipt codes and the
yearly rating."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from edge.kernel.errors import InputError
from edge.ledger.localtime import SHANGHAI
from edge.modules.whistleblower import rules as R
from edge.modules.whistleblower.crypto import new_receipt_code

TEAM = [
    {"role": "head", "id": "zhoujian", "name": "周建", "group": "veteran"},
    {"role": "liaison", "id": "wuxia", "name": "吴霞", "group": "committee"},
    {"role": "liaison", "id": "sunqiang", "name": "孙强", "group": "representative"},
    {"role": "informant", "id": "zhengli", "name": "郑丽", "group": "representative"},
]


def test_a_full_roster_is_one_head_two_liaisons_and_informants() -> None:
    assert [m.role for m in R.check_roster(TEAM)] == ["head", "liaison", "liaison", "informant"]
    more = [*TEAM, *({"role": "informant", "id": f"xy{n}", "name": f"信息员{n}", "group": "other"} for n in range(5))]
    assert len(R.check_roster(more)) == 9


@pytest.mark.parametrize(
    ("members", "message"),
    [
        (TEAM[1:], "站长应为 1 名（现有 0 名）"),
        ([*TEAM, {**TEAM[0], "id": "head2"}], "站长应为 1 名（现有 2 名）"),
        ([m for m in TEAM if m["id"] != "wuxia"], "联络员应为 2 名（现有 1 名）"),
        ([*TEAM, {**TEAM[1], "id": "liaison3"}], "联络员应为 2 名（现有 3 名）"),
        (TEAM[:3], "至少需要 1 名廉情信息员"),
        ([*TEAM, {**TEAM[3]}], "账号 zhengli 重复"),
        ([{**TEAM[0], "name": ""}, *TEAM[1:]], "请填写姓名"),
        ([{**TEAM[0], "role": "boss"}, *TEAM[1:]], "职位应为"),
        ([{**TEAM[0], "group": ""}, *TEAM[1:]], "来源应为"),
        ([{**TEAM[0], "id": "a b"}, *TEAM[1:]], "账号应为"),
    ],
)  # fmt: skip
def test_a_roster_that_is_not_1_2_n_names_what_is_wrong(members: list[dict[str, str]], message: str) -> None:
    with pytest.raises(InputError, match=message):
        R.check_roster(members)


def test_acknowledgement_is_due_7_days_after_receipt_to_the_microsecond() -> None:
    received = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    due = R.ack_due(received)
    assert due == datetime(2026, 3, 9, 1, 0, tzinfo=UTC)
    assert not R.overdue(due, due, done=False)
    assert R.overdue(due, due + timedelta(microseconds=1), done=False)
    assert not R.overdue(due, due + timedelta(days=30), done=True)


@pytest.mark.parametrize(
    ("received_local", "due_local"),
    [
        ((2026, 3, 2, 9), (2026, 6, 2, 9)),
        ((2026, 11, 30, 9), (2027, 2, 28, 9)),  # no 30 February: the month's last day
        ((2027, 11, 30, 9), (2028, 2, 29, 9)),  # a leap year
        ((2026, 1, 31, 1), (2026, 4, 30, 1)),  # the local date counts (UTC is still 30 January)
        ((2026, 10, 15, 23), (2027, 1, 15, 23)),  # across the year
    ],
)
def test_feedback_is_due_3_calendar_months_after_receipt(
    received_local: tuple[int, ...], due_local: tuple[int, ...]
) -> None:
    received = datetime(*received_local, tzinfo=SHANGHAI)
    due = R.feedback_due(received)
    assert due == datetime(*due_local, tzinfo=SHANGHAI) and due.tzinfo == UTC
    assert not R.overdue(due, due, done=False) and R.overdue(due, due + timedelta(microseconds=1), done=False)


def test_the_loop_goes_in_order() -> None:
    state = "received"
    for step, outcome, after in (
        ("acknowledge", None, "acknowledged"), ("triage", None, "triaged"), ("verify", None, "verified"),
        ("resolve", "dismissed", "dismissed"), ("feedback", None, "closed"),
    ):  # fmt: skip
        state = R.next_state(state, step, outcome)
        assert state == after
    assert R.next_state("verified", "resolve", "confirmed") == "resolved"
    with pytest.raises(InputError, match="办结结果"):
        R.next_state("verified", "resolve", "maybe")
    with pytest.raises(InputError, match="反馈须在「已查实办结、不予采信」之后"):
        R.next_state("verified", "feedback")
    with pytest.raises(InputError, match="确认收到须在「已收到」之后"):
        R.next_state("closed", "acknowledge")


def test_receipt_codes_are_20_digits_typed_any_way() -> None:
    codes = {new_receipt_code() for _ in range(200)}
    assert len(codes) == 200 and all(len(c) == 20 and c.isdigit() for c in codes)
    code = "01234567890123456789"
    assert R.normalize_code(R.show_code(code)) == code == R.normalize_code("0123-4567-8901-2345-6789")
    for bad in (
        "0123456789012345678",
        "012345678901234567890",
        "０１２３４５６７８９０１２３４５６７８９",
        "0123456789012345678x",
        None,
        12345678901234567890,
    ):
        assert R.normalize_code(bad) is None


def year(*people: R.PersonYear, **rules: int) -> dict[str, str]:
    return {r.person: r.rating for r in R.rate(people, R.RatingRules(**rules))}


def test_the_rating_rule() -> None:
    P = R.PersonYear
    # A cover-up outweighs the best year; no clue at all is mute.
    assert year(P("a", 5, 5, 5, misconduct=True), P("b", 0, 0, 0)) == {"a": "black", "b": "mute"}
    # Gold needs 2 confirmed and 1 solved; one gold a station; the next best with a confirmed clue are silver (two).
    ratings = year(P("a", 3, 2, 1), P("b", 4, 3, 2), P("c", 1, 1, 0), P("d", 2, 1, 1), P("e", 2, 1, 0), P("f", 3, 0, 0))
    assert ratings == {"a": "silver", "b": "gold", "c": "ordinary", "d": "silver", "e": "ordinary", "f": "ordinary"}
    # Exactly at the thresholds, and one below.
    assert (
        year(P("a", 2, 2, 1)) == {"a": "gold"}
        and year(P("a", 2, 1, 1)) == {"a": "silver"}
        and year(P("a", 2, 2, 0)) == {"a": "silver"}
    )
    # Ties at the quota go by roster order.
    assert year(P("x", 2, 2, 1), P("y", 2, 2, 1)) == {"x": "gold", "y": "silver"}
    assert year(P("x", 2, 2, 1), P("y", 2, 2, 1), gold_quota=2) == {"x": "gold", "y": "gold"}
    pay = {r.rating: r.pay_factor for r in R.rate([P("a", 2, 2, 1), P("b", 0, 0, 0)], R.RatingRules())}
    assert pay == {"gold": "1.2", "mute": "0.8"}


def test_rating_rules_from_a_config_are_checked() -> None:
    with pytest.raises(InputError, match="金哨的绩效系数"):
        R.check_rules(
            R.RatingRules(pay_factors={"gold": "1e3", "silver": "1", "ordinary": "1", "mute": "1", "black": "0"})
        )
    with pytest.raises(InputError, match="不能为负数"):
        R.check_rules(R.RatingRules(gold_quota=-1))
