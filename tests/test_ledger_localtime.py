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


def test_the_central_stores_day_per_hour_is_local_day() -> None:
    """The central store works a batch's days out once per UTC hour; each must be local_day's own answer, for
    valid timestamps, impossible ones (an hour 24, a 30 February) and ones past year 9999 in Shanghai."""
    from central.store import _days_by_hour

    day = _days_by_hour()
    stamps = [f"2026-12-03T{h:02d}:{m:02d}:{s:02d}.{us:06d}Z" for h in (0, 15, 16, 23) for m in (0, 59) for s in (0, 59)
              for us in (0, 999999)]  # fmt: skip
    stamps += ["2026-02-30T10:00:00.000000Z", "2026-02-30T10:30:00.000000Z", "2026-12-03T24:00:00.000000Z",
               "9999-12-31T15:59:59.999999Z", "9999-12-31T16:00:00.000000Z", "2026-12-03 16:00:00", "x"]  # fmt: skip
    for ts in stamps + list(reversed(stamps)):
        assert day(ts) == local_day(ts), ts
