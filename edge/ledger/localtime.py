"""Ledger timestamps on screen: stored in UTC (``utc_now``), shown in Asia/Shanghai.

Defined here, in the ledger library, because everything that shows an entry's time may import it: the
edge's kernel, parts and web shell, ``qinglian ledger`` and the central store.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone

SHANGHAI = timezone(timedelta(hours=8), "CST")  # China has no DST; no tz database needed on the Pi
SECONDS = "%Y-%m-%d %H:%M:%S"
MINUTES = "%Y-%m-%d %H:%M"


def local_time(ts: str | None, fmt: str = SECONDS, missing: str = "-") -> str:
    """A stored timestamp as a wall-clock time in Asia/Shanghai; text that is no timestamp as it is."""
    if not ts:
        return missing
    moment = _shanghai(ts)
    return ts if moment is None else moment.strftime(fmt)


def local_day(ts: str) -> str:
    """The Asia/Shanghai date of a stored timestamp (views by local day and month)."""
    moment = _shanghai(ts)
    return ts[:10] if moment is None else moment.date().isoformat()


def _shanghai(ts: str) -> datetime | None:
    """A stored timestamp in Asia/Shanghai; None for text that is none, or one past year 9999 there (an
    edge's clock or a hostile batch may say 9999-12-31T23:00Z, which must not stop an ingest)."""
    try:
        moment = datetime.fromisoformat(ts)
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(SHANGHAI)
    except (ValueError, OverflowError):
        return None


def utc_bound(day: date) -> str:
    """Local midnight of ``day`` as a ledger timestamp (UTC, same format, so strings compare)."""
    return datetime.combine(day, time(0), SHANGHAI).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def local_today() -> date:
    return datetime.now(SHANGHAI).date()
