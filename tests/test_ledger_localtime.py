"""Ledger timestamps shown in Asia/Shanghai: the day a view files an entry under, and text that is no time."""

from __future__ import annotations

from edge.ledger.localtime import local_day, local_time


def test_the_local_day_is_shanghais() -> None:
    assert local_day("2026-12-03T15:59:59.999999Z") == "2026-12-03"
    assert local_day("2026-12-03T16:00:00.000000Z") == "2026-12-04"  # midnight in Shanghai
    assert local_time("2026-12-03T16:00:00.000000Z") == "2026-12-04 00:00:00"


def test_a_time_past_year_9999_in_shanghai_or_no_time_at_all_stops_nothing() -> None:
    # 9999-12-31T16:00Z is already 10000-01-01 in Shanghai: a hostile batch or a broken clock, shown as stored
    assert local_day("9999-12-31T23:00:00.000000Z") == "9999-12-31"
    assert local_time("9999-12-31T23:00:00.000000Z") == "9999-12-31T23:00:00.000000Z"
    assert local_day("not a time") == "not a time"
    assert local_time("") == "-"
