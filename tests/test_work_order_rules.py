"""Labour dispatch's pure rules at their boundaries: the rotation (cursor, wrap-around, every reason a worker is
passed over, refusers, all unavailable, fairness over hundreds of random jobs), the 30,000 yuan limit, the week's
plan, pay from attendance, bank only, and the personal numbers checked before they are sealed."""

from __future__ import annotations

import random
from collections import Counter
from datetime import date

import pytest

from edge.kernel.errors import InputError, Refused
from edge.modules.work_order import rules as R
from edge.modules.work_order.rules import Candidate as C


def pool(n: int, **states: str) -> list[C]:
    """``n`` workers w1..wn with order 10, 20, ... (the order numbers, not the positions, decide)."""
    return [C(f"w{i}", i * 10, states.get(f"w{i}") != "away", states.get(f"w{i}") == "black") for i in range(1, n + 1)]


def test_the_first_job_starts_at_the_lowest_order_whatever_the_list_order() -> None:
    shuffled = list(reversed(pool(5)))
    d = R.rotate(shuffled, None, 2)
    assert d.workers == ("w1", "w2") and d.skipped == () and (d.cursor_before, d.cursor_after) == (None, 20)


def test_the_next_job_continues_after_the_cursor_and_wraps_around() -> None:
    d = R.rotate(pool(5), 40, 3)
    assert d.workers == ("w5", "w1", "w2") and d.cursor_after == 20
    # a cursor past the last order (its worker left the pool) wraps to the first
    assert R.rotate(pool(5), 55, 1).workers == ("w1",)
    # a cursor between two orders (the worker at it left) continues with the next one
    assert R.rotate(pool(5), 25, 1).workers == ("w3",)


@pytest.mark.parametrize(
    ("states", "reason"), [({"w2": "away"}, R.UNAVAILABLE), ({"w2": "black"}, R.BLACKLISTED)]
)  # fmt: skip
def test_an_unavailable_or_blacklisted_worker_is_passed_over_with_the_reason(states: dict[str, str], reason: str) -> None:
    d = R.rotate(pool(4, **states), 10, 2)
    assert d.workers == ("w3", "w4") and d.skipped == (("w2", reason),) and d.cursor_after == 40


def test_blacklisted_takes_precedence_over_unavailable() -> None:
    both = [C("w1", 1, available=False, blacklisted=True), C("w2", 2)]
    assert R.rotate(both, None, 1).skipped == (("w1", R.BLACKLISTED),)


def test_a_relative_of_the_applicant_is_passed_over_and_keeps_no_turn_in_this_job() -> None:
    d = R.rotate(pool(4), None, 2, relatives={"w1"})
    assert d.workers == ("w2", "w3") and d.skipped == (("w1", "relative"),)


def test_a_refuser_is_passed_over_as_if_dispatched_the_cursor_moves_past_them() -> None:
    d = R.rotate(pool(5), None, 2, refused={"w3"})
    assert d.workers == ("w1", "w2") and d.skipped == () and d.cursor_after == 20  # not reached: nothing to refuse
    d = R.rotate(pool(5), 20, 2, refused={"w3"})
    assert d.workers == ("w4", "w5") and d.skipped == (("w3", "refused"),) and d.cursor_after == 50
    # a refuser as the last one looked at: the cursor still passes them, so refusing never keeps one's turn
    d = R.rotate(pool(3), None, 1, refused={"w2"}, relatives={"w1"})
    assert d.workers == ("w3",) and d.cursor_after == 30
    d = R.rotate(pool(4), 30, 1, refused={"w4"})
    assert d.workers == ("w1",) and d.skipped == (("w4", "refused"),) and d.cursor_after == 10


def test_an_ineligible_worker_after_the_last_taken_is_not_looked_at() -> None:
    d = R.rotate(pool(4, w3="away"), None, 2)
    assert d.workers == ("w1", "w2") and d.skipped == ()


def test_each_worker_is_looked_at_once_per_job_even_when_the_job_takes_everyone() -> None:
    d = R.rotate(pool(4, w2="black"), 30, 3)
    assert d.workers == ("w4", "w1", "w3") and d.skipped == (("w2", R.BLACKLISTED),) and d.cursor_after == 30


@pytest.mark.parametrize(
    ("states", "headcount"),
    [({"w1": "away", "w2": "away", "w3": "black"}, 1), ({"w1": "away"}, 3), ({}, 4)],
)  # fmt: skip
def test_too_few_eligible_workers_refuses_the_whole_job(states: dict[str, str], headcount: int) -> None:
    with pytest.raises(InputError) as err:
        R.rotate(pool(3, **states), 10, headcount)
    assert err.value.code == "too_few_workers" and "可派工人不足" in err.value.message


def test_refusers_and_relatives_count_against_the_eligible() -> None:
    with pytest.raises(InputError, match="可派 1 人"):
        R.rotate(pool(3), None, 2, refused={"w1"}, relatives={"w2"})


@pytest.mark.parametrize("bad", [0, -1, R.MAX_HEADCOUNT + 1, True, 1.0])
def test_a_headcount_outside_one_to_fifty_is_refused(bad: object) -> None:
    with pytest.raises(InputError):
        R.rotate(pool(3), None, bad)  # type: ignore[arg-type]


def test_a_pool_with_two_workers_at_one_order_is_refused() -> None:
    with pytest.raises(InputError, match="轮派序号重复"):
        R.rotate([C("a", 1), C("b", 1)], None, 1)
    with pytest.raises(InputError, match="编号重复"):
        R.rotate([C("a", 1), C("a", 2)], None, 1)


def test_rotation_is_fair_over_hundreds_of_random_jobs() -> None:
    rnd = random.Random(20)
    for _ in range(20):
        size = rnd.randint(1, 15)
        workers = [C(f"w{i}", rnd.randint(0, 10_000) * 100 + i) for i in range(size)]
        eligible = [w for w in workers if rnd.random() > 0.25] or workers[:1]
        standing = [w if w in eligible else C(w.id, w.order, available=False, blacklisted=rnd.random() < 0.5) for w in workers]
        counts: Counter[str] = Counter({w.id: 0 for w in eligible})
        cursor = None
        for _ in range(rnd.randint(100, 300)):
            d = R.rotate(standing, cursor, rnd.randint(1, len(eligible)))
            assert d.cursor_before == cursor and len(set(d.workers)) == len(d.workers)
            cursor = d.cursor_after
            counts.update(d.workers)
            assert R.fairness(counts) <= 1, counts
        assert set(counts) == {w.id for w in eligible}


def test_posted_job_goes_to_the_first_qualified_takers_and_leaves_the_cursor() -> None:
    d = R.take_posted(pool(5, w2="black"), ["w4", "w2", "w4", "w1", "w5"], 2, relatives={"w1"})
    assert d.workers == ("w4", "w5") and d.skipped == (("w2", R.BLACKLISTED), ("w1", "relative")) and d.cursor_after is None
    with pytest.raises(InputError, match="合格报名人不足"):
        R.take_posted(pool(5), ["w1"], 2)
    with pytest.raises(InputError, match="不在此工种名库"):
        R.take_posted(pool(2), ["w9"], 1)


def test_the_limit_is_thirty_thousand_yuan_and_points_at_small_projects() -> None:
    R.check_limit(2_999_999)  # 29,999.99 is a work order
    with pytest.raises(R.OverLimit) as err:
        R.check_limit(3_000_000, "村口排水沟清淤", "村口")
    assert err.value.code == "over_limit" and "限额工程" in err.value.message and "¥30,000.00" in err.value.message
    assert isinstance(err.value, Refused) and (err.value.amount_fen, err.value.content, err.value.place) == (3_000_000, "村口排水沟清淤", "村口")


def test_amount_and_days_of_an_order() -> None:
    assert R.order_days(date(2026, 11, 30), date(2026, 12, 6)) == 7  # Monday to Sunday
    assert R.order_amount(16_000, 3, 2) == 96_000
    with pytest.raises(InputError, match="跨周"):
        R.order_days(date(2026, 12, 6), date(2026, 12, 7))
    with pytest.raises(InputError, match="早于"):
        R.order_days(date(2026, 12, 2), date(2026, 12, 1))
    assert R.week_of(date(2026, 12, 3)) == "2026-W49" and R.week_days("2026-W49") == (date(2026, 11, 30), date(2026, 12, 6))
    assert R.week_of(date(2027, 1, 1)) == "2026-W53"
    for bad in ("2026-W54", "2026-49", "W49"):
        with pytest.raises(InputError):
            R.week_days(bad)
    for bad_day in ("2026-02-30", "2026/12/01", "", None, "２０２６-12-01"):
        with pytest.raises(InputError):
            R.parse_day(bad_day, "日期")


def test_only_an_approved_plan_or_the_emergency_path_lets_an_order_be_worked() -> None:
    R.check_plan_allows("approved", True, False)
    R.check_plan_allows(None, False, True)
    with pytest.raises(Refused, match="尚未经两委会审定"):
        R.check_plan_allows("drafted", True, False)
    with pytest.raises(Refused, match="紧急通道"):
        R.check_plan_allows("approved", False, False)


def test_pay_follows_attendance_half_days_round_half_up_once_per_worker() -> None:
    lines = R.pay_lines([("a", 2), ("b", 1), ("a", 1), ("c", 0), ("b", 1)], 16_001)
    assert [(line.worker, line.half_days, line.amount_fen, str(line.days)) for line in lines] == [
        ("a", 3, 24_002, "1.5"), ("b", 2, 16_001, "1")]  # fmt: skip  # 1.5 × 160.01 = 240.015 → 240.02
    with pytest.raises(InputError):
        R.pay_lines([("a", 3)], 100)
    R.check_pay(96_000, 96_000)
    with pytest.raises(Refused, match="超过计划核定金额"):
        R.check_pay(96_001, 96_000)
    with pytest.raises(InputError):
        R.check_pay(0, 96_000)


@pytest.mark.parametrize("method", ["cash", "现金", "", None, "BANK"])
def test_only_a_bank_transfer_may_be_recorded(method: object) -> None:
    with pytest.raises(Refused) as err:
        R.check_method(method)
    assert err.value.code == "cash_refused"
    R.check_method("bank")


def test_personal_numbers_are_checked() -> None:
    assert R.check_id_number(" 11010519491231002x ") == "11010519491231002X"
    for bad in ("110105194912310021", "11010519491231002", "1101051949123100２X", 110105194912310021):
        with pytest.raises(InputError):
            R.check_id_number(bad)
    assert R.check_bank_account("6228 4803 1234 5678 901") == "6228480312345678901"
    with pytest.raises(InputError):
        R.check_bank_account("12345")
    assert R.check_phone("138-5710-0001") == "13857100001"
    with pytest.raises(InputError):
        R.check_phone("2385710001")


def test_an_unavailable_worker_is_away_only_on_the_days_their_dates_cover() -> None:
    start, end = date(2026, 12, 1), date(2026, 12, 3)
    assert R.away_during(R.UNAVAILABLE, "2026-12-03", "2026-12-10", start, end)  # overlaps the last day
    assert R.away_during(R.UNAVAILABLE, "2026-11-20", "2026-12-01", start, end)  # overlaps the first day
    assert not R.away_during(R.UNAVAILABLE, "2026-11-20", "2026-11-30", start, end)  # back the day before
    assert not R.away_during(R.UNAVAILABLE, "2026-12-04", "2026-12-10", start, end)  # leaves the day after
    assert R.away_during(R.UNAVAILABLE, None, None, start, end)
    assert not R.away_during(R.AVAILABLE, None, None, start, end) and not R.away_during(R.BLACKLISTED, None, None, start, end)


def test_a_favourite_is_more_than_one_dispatch_above_the_trades_median() -> None:
    assert R.favoured({}) == set() and R.favoured({"a": 7}) == set()
    assert R.favoured({"a": 2, "b": 1, "c": 1, "d": 1}) == set()  # the rotation's own unevenness: one ahead
    assert R.favoured({"a": 3, "b": 1, "c": 1, "d": 1}) == {"a"}  # two ahead of the median
    assert R.favoured({"a": 3, "b": 2, "c": 2, "d": 1}) == set()  # median 2: 3 is not above 3
    assert R.favoured({"a": 3, "b": 2, "c": 1, "d": 1}) == {"a"}  # median 1.5: 3 is above 2.5
    assert R.favoured({"away": 0, "a": 5, "b": 5, "c": 5}) == set()  # one back from a long absence flags no one


def test_the_attendance_sheet_is_kept_by_the_station_head_or_the_areas_supervisor() -> None:
    areas = {"红丰一片": "zhaolei", "红丰二片": "chenjing"}
    assert R.may_keep_attendance("anyone", None, {}, {"红丰一片"})  # nothing configured: the village's practice
    assert R.may_keep_attendance("wangfang", "wangfang", areas, {"红丰一片"})
    assert R.may_keep_attendance("zhaolei", "wangfang", areas, {"红丰三片", "红丰一片"})
    assert not R.may_keep_attendance("chenjing", "wangfang", areas, {"红丰一片"})  # another area's member
    assert not R.may_keep_attendance("liming", None, areas, {"红丰一片"})
    assert not R.may_keep_attendance("zhaolei", "wangfang", areas, set())
