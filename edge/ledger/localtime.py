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
    try:
        moment = datetime.fromisoformat(ts)
    except ValueError:
        return ts
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(SHANGHAI).strftime(fmt)


def local_day(ts: str) -> str:
    """The Asia/Shanghai date of a stored timestamp (views by local day and month)."""
    try:
        moment = datetime.fromisoformat(ts)
    except ValueError:
        return ts[:10]
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(SHANGHAI).date().isoformat()


def utc_bound(day: date) -> str:
    """Local midnight of ``day`` as a ledger timestamp (UTC, same format, so strings compare)."""
    return datetime.combine(day, time(0), SHANGHAI).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def local_today() -> date:
    return datetime.now(SHANGHAI).date()
