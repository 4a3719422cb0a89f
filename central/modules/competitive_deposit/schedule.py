"""The monthly tender by itself: a county's (or township's) standing schedule, and the timer that keeps it.

The officer sets the schedule once (a decision, ``competitive_deposit.schedule``): the day of the month the
villages' plans are gathered, how many days the banks have to bid, the rate points and the signing days. From
then on the timer (:func:`run_due`, one pass; :class:`Timer`, the part's tick (central/ticks.py)) does what the
officer's buttons do, as ``timer:<scope>`` in the decision log:

- on the day (Asia/Shanghai), or the first pass after it that month, the waiting plans in scope are gathered
  into the month's tender and announced: the window opens then and closes at 17:00 on the day ``window_days``
  later; a month with no plan waiting gets no tender (a plan coming up later that month is gathered then);
- a tender whose window has closed is opened (scored, ranked, awarded, published, each award sent down), any
  tender, the officer's own too; while a bank that bid has no scores yet it waits, and its page says which.

Everything is read from the database on every pass (one tender per scope and month, the tender row held while
opening), so a pass repeated, two processes, or a restart after a day down neither doubles nor skips a step.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from central.accounts import roles as R
from central.decisions.log import DecisionLog
import central.modules.competitive_deposit.tender as T
from central.modules.competitive_deposit.reactions import NAME
from central.modules.competitive_deposit.tables import schedules, tenders
from central.store import CentralStore, Principal, Refusal
from edge.ledger.localtime import SHANGHAI

log = logging.getLogger("central.competitive_deposit")

SCHEDULE = f"{NAME}.schedule"
CLOSES_AT = time(17, 0)  # the window's last day ends at the close of office hours
LAST_DAY = 28  # every month has it


@dataclass(frozen=True)
class Schedule:
    day: int
    window_days: int
    rate_points: Decimal
    sign_days: int


def check_schedule(day: object, window_days: object, rate_points: object, sign_days: object) -> Schedule:
    """The officer's form, checked at the boundary: a Chinese sentence for each problem, nothing recorded."""
    return Schedule(
        T.whole_number(day, 1, LAST_DAY, f"每月汇总日应为 1 到 {LAST_DAY} 日（每个月都有的日子）"),
        T.whole_number(window_days, 1, 15, "报价期应为 1 到 15 天"),
        T.check_rate_points(rate_points),
        T.check_sign_days(sign_days),
    )


async def set_schedule(conn: AsyncConnection, decisions: DecisionLog, who: Principal, s: Schedule) -> None:
    """The scope's standing schedule (replacing its earlier one), a decision before its row."""
    scope = T.scope_of(who)
    entry = await decisions.decide(SCHEDULE, {
        "level": who.level, "scope": scope, "day": s.day, "window_days": s.window_days,
        "closes_at": CLOSES_AT.strftime("%H:%M"), "rate_points": str(s.rate_points), "sign_days": s.sign_days,
    }, actor=T.actor_of(who), conn=conn)  # fmt: skip
    await conn.execute(delete(schedules).where(schedules.c.scope_name == scope))
    await conn.execute(schedules.insert().values(
        scope_name=scope, level=who.level, day=s.day, window_days=s.window_days,
        rate_points=str(s.rate_points), sign_days=s.sign_days, set_by=who.account or "", decision_index=entry.index,
    ))  # fmt: skip


async def schedule_of(conn: AsyncConnection, scope: str) -> Any:
    return (await conn.execute(select(schedules).where(schedules.c.scope_name == scope))).first()


def timer_of(row: Any) -> Principal:
    """The scope's timer as the tender's steps see an officer: the schedule's scope, no account."""
    role = R.COUNTY_OFFICER if row.level == "county" else R.TOWNSHIP_OFFICER
    return Principal(row.level, row.scope_name, "定时招标", role)


def window_for(row: Any, now: datetime) -> T.Announcement:
    """This month's announcement by the schedule: open now, closing at 17:00 ``window_days`` later."""
    today = now.astimezone(SHANGHAI).date()
    closes = datetime.combine(today + timedelta(days=row.window_days), CLOSES_AT, SHANGHAI).astimezone(UTC)
    return T.Announcement(today.strftime("%Y-%m"), now, closes, Decimal(row.rate_points), row.sign_days)


@dataclass
class Pass:
    """What one pass did: tenders announced and opened, and those that wait (id -> why, in Chinese)."""

    announced: list[str] = field(default_factory=list)
    opened: list[str] = field(default_factory=list)
    waiting: dict[str, str] = field(default_factory=dict)


async def run_due(store: CentralStore, decisions: DecisionLog, now: datetime) -> Pass:
    """One pass of the timer at ``now``: gather the month's tender of each schedule on its day, open every tender
    whose window has closed. Each step in its own transaction; a step refused (nothing waiting, not scored)
    changes nothing and is tried again on the next pass."""
    done = Pass()
    local = now.astimezone(SHANGHAI)
    async with store.db.reader.connect() as conn:
        due = [r for r in await conn.execute(select(schedules)) if local.day >= r.day]
        closed = [t.tender_id for t in await conn.execute(select(tenders).where(tenders.c.status == "bidding"))
                  if now >= T.parse_iso(t.closes_at)]  # fmt: skip
    for row in due:
        month = local.strftime("%Y-%m")
        async with store.db.reader.connect() as conn:
            exists = await conn.execute(select(tenders.c.tender_id).where(
                tenders.c.tender_id == T.tender_id_of(row.scope_name, month)))  # fmt: skip
            if exists.first() is not None or not await T.waiting_plans(conn, timer_of(row), month):
                continue
        try:
            async with store.db.writer.begin() as conn:
                done.announced.append(await T.open_tender(conn, decisions, timer_of(row), window_for(row, now)))
        except Refusal as refused:  # another process took the month first, or plans of two counties
            log.warning("定时招标未发起 scheduled tender not announced (%s %s): %s", row.scope_name, month, refused.reason)
    for tender_id in closed:
        try:
            async with store.db.writer.begin() as conn:
                await T.opening(conn, decisions, tender_id, f"{T.TIMER}:{await scope_name(conn, tender_id)}", now)
            done.opened.append(tender_id)
        except Refusal as refused:
            if refused.code != "opened":  # opened meanwhile by its officer: nothing to say
                done.waiting[tender_id] = refused.reason
    return done


async def scope_name(conn: AsyncConnection, tender_id: str) -> str:
    return str((await T.tender_row(conn, tender_id)).scope_name)


class Timer:
    """The part's tick (central/ticks.py): one pass at the shell's time, saying in the log what it did, and why a
    tender waits once per reason rather than every minute."""

    def __init__(self) -> None:
        self._said: dict[str, str] = {}

    async def __call__(self, shell: Any) -> None:
        done = await run_due(shell.store, shell.state.decisions, datetime.fromtimestamp(shell.clock(), UTC))
        for tender_id in (*done.announced, *done.opened):
            log.info("定时招标 %s: %s", "已发布 announced" if tender_id in done.announced else "已开标 opened", tender_id)
        for tender_id, why in done.waiting.items():
            if self._said.get(tender_id) != why:
                log.warning("定时开标等待 tender %s waits: %s", tender_id, why)
        self._said = dict(done.waiting)
