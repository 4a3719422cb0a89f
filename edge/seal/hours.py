"""A seal's hours of use (用印时间): whether a grant may open the lock at an instant, and until when.

Pure functions of the configured hours (``[devices.hours]``, edge/kernel/config.py: ``UseHours``) and an
instant; the desk and the device manager ask them with the edge's clock, the tests with theirs.

The rule for the custodian, one everywhere: an approval becomes final only inside the hours. The final
approval outside them is refused with the next opening named (it does not wait: an approved request never
sits overnight with a grant the custodian cannot use), and the grant sent to the device ends with the hours
(approved at 17:29 → a window to 17:30). An approved request whose device came online only after the hours
waits for the next opening, then expires by its approval's lifetime as always. An urgent use outside the
hours takes its own path (a written reason and one more approver, desk.SealDesk.mark_urgent), which lifts
the hours for that request alone.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from edge.kernel.config import EdgeConfig, UseHours

_SEARCH_DAYS = 400  # a year of holidays in a row is a config mistake, not a calendar


def hours_of_device(config: EdgeConfig, device_name: str) -> UseHours | None:
    """The configured hours of the named seal device (None: any time, or no such device in the config)."""
    return next((d.hours for d in config.devices if d.name == device_name), None)


def is_workday(hours: UseHours, day: date) -> bool:
    """Monday to Friday, less the holidays, plus the weekend days worked instead (调休)."""
    if day in hours.workdays:
        return True
    return day.weekday() < 5 and day not in hours.holidays


def _bounds(hours: UseHours, day: date) -> tuple[datetime, datetime]:
    zone = ZoneInfo(hours.timezone)
    return datetime.combine(day, hours.opens, zone), datetime.combine(day, hours.closes, zone)


def window_end(hours: UseHours, now: datetime) -> datetime | None:
    """The end of the window ``now`` falls in ([opens, closes) of a workday), or None outside the hours."""
    day = now.astimezone(ZoneInfo(hours.timezone)).date()
    if not is_workday(hours, day):
        return None
    start, end = _bounds(hours, day)
    return end if start <= now < end else None


def next_opening(hours: UseHours, now: datetime) -> datetime | None:
    """The next time the hours open after ``now`` (None if no workday within a long search)."""
    day = now.astimezone(ZoneInfo(hours.timezone)).date()
    for offset in range(_SEARCH_DAYS):
        candidate = day + timedelta(days=offset)
        if is_workday(hours, candidate):
            start, _ = _bounds(hours, candidate)
            if start > now:
                return start
    return None


def grant_window_s(hours: UseHours | None, now: datetime, use_window_s: int) -> int | None:
    """The window a grant sent at ``now`` gets on the device: the configured one, cut to the end of the hours;
    None when no grant may be sent now (outside the hours, or less than a second left)."""
    if hours is None:
        return use_window_s
    end = window_end(hours, now)
    if end is None:
        return None
    left = math.floor((end - now).total_seconds())
    return min(use_window_s, left) if left >= 1 else None


def describe(hours: UseHours) -> str:
    """The hours in words, for messages and the request page."""
    zone = "北京时间" if hours.timezone == "Asia/Shanghai" else hours.timezone
    return f"工作日 {hours.opens:%H:%M}–{hours.closes:%H:%M}（{zone}，节假日除外）"


def closed_message(hours: UseHours, now: datetime) -> str:
    """Why the final approval is refused now, what to do instead (Chinese, shown to the approver)."""
    opening = next_opening(hours, now)
    when = opening.strftime("%m月%d日 %H:%M") if opening is not None else "（未找到下一个工作日，请检查节假日配置）"
    return (
        f"现在不在用印时间内（用印时间为{describe(hours)}），不能批准：请在 {when} 后审批；"
        "确需紧急用印，由申请人填写加急理由，并增加一位审批人"
    )


def urgent_route(route: Mapping[str, Any], extra: str | None, barred: Collection[str], reason: str) -> dict[str, Any] | None:
    """The route of an urgent use outside the hours: one more approval than before — the next one a
    "n of m" route still has room for, else ``extra`` (the configured urgent approver) added at its end —
    marked urgent with its reason; None when no one can be added (every eligible approver is needed already)."""
    approvers = list(route["approvers"])
    eligible = [a for a in approvers if a not in barred]
    if route["mode"] == "n_of_m" and route["n"] < len(eligible):
        return {**route, "n": route["n"] + 1, "urgent": reason}
    if extra is None or extra in approvers or extra in barred:
        return None
    approvers.append(extra)
    n = len(approvers) if route["mode"] == "chain" else route["n"] + 1
    return {**route, "approvers": approvers, "n": n, "urgent": reason}
