"""The village's steps in competitive deposit: each validates its input with a clear Chinese message, then
records one ledger entry inside one recorder step (the entry first; the tables follow from it).

``host`` is the running agent (its recorder, working database and config); ``by`` the console account, or the
host's operator, that acts. The rules themselves are :mod:`rules`; the tick's deadlines are :func:`check_due`.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
import weakref
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import edge.modules.competitive_deposit.projection as P
import edge.modules.competitive_deposit.rules as rules
from edge.kernel.documents import StoredDocument, store_document
from edge.kernel.errors import InputError, NotFound, Refused
from edge.kernel.fmt import AmountError, parse_yuan
from edge.kernel.text import line
from edge.ledger.localtime import local_today
from edge.ledger.private import open_private, private_dir
from edge.modules.competitive_deposit.settings import MAX_FEN, DepositSettings, settings_of
from edge.modules.competitive_deposit.statements import StatementError, read_statement

ACCOUNT_RE = re.compile(r"[0-9]{6,32}", re.ASCII)
MAX_TEXT = 60
TERMS = (3, 6, 12, 24, 36, 60)  # months: the terms banks take term deposits for


@dataclass(frozen=True)
class AccountView:
    """An account as the page, the export and the tick read it on ``as_of``."""

    account: str
    name: str
    bank: str
    eligibility: rules.Eligibility
    open_plan: dict[str, Any] | None  # a plan of this idle run (decided since it began), if any
    flag: bool  # eligible and in no plan: shown to the township
    flag_due: date | None  # when the tick records it, if it is not put into a plan first


def settings(host: Any) -> DepositSettings:
    return settings_of(host.config)


def account_number(value: object) -> str:
    text = re.sub(r"[\s-]", "", value) if isinstance(value, str) else ""
    if ACCOUNT_RE.fullmatch(text) is None:
        raise InputError("账号应为 6 到 32 位数字（可含空格或短横线）", "bad_account")
    return text


def day_of(value: object, what: str, today: date) -> date:
    try:
        day = date.fromisoformat(value.strip()) if isinstance(value, str) and len(value.strip()) == 10 else None
    except ValueError:
        day = None
    if day is None:
        raise InputError(f"{what}应为日期，例如 2026-03-15", "bad_date")
    if day > today:
        raise InputError(f"{what}不能晚于今天（{today.isoformat()}）", "bad_date")
    if day.year < 2000:
        raise InputError(f"{what}过早", "bad_date")
    return day


def amount_of(value: object, what: str) -> int:
    try:
        return parse_yuan(value if isinstance(value, str) else "", MAX_FEN)
    except AmountError as exc:
        raise InputError(f"{what}：{exc.message}", "bad_amount") from None


async def _account(conn: Any, account: str) -> dict[str, Any]:
    row = await P.account_row(conn, account)
    if row is None:
        raise NotFound(f"没有账户 {account}")
    return row


# -- accounts and balances ---------------------------------------------------------------------------------


async def add_account(host: Any, by: str, account: object, name: object, bank: object) -> str:
    number, shown, held = account_number(account), line(name, "账户名称", MAX_TEXT), line(bank, "开户银行", MAX_TEXT)
    async with host.recorder.step():
        if await P.account_row(host.db.conn, number) is not None:
            raise InputError(f"账户 {number} 已登记", "duplicate")
        await host.recorder.record(P.ACCOUNT_ADDED, {"account": number, "name": shown, "bank": held, "by": by})
    return number


async def enter_balance(host: Any, by: str, account: str, day: object, amount: object, today: date) -> None:
    """One balance typed in (a day's closing balance from the passbook or the bank's slip)."""
    on = day_of(day, "余额日期", today)
    fen = 0 if isinstance(amount, str) and amount.strip() in ("0", "0.00") else amount_of(amount, "余额")
    async with host.recorder.step():
        await _account(host.db.conn, account)
        await host.recorder.record(P.BALANCES, {"account": account, "days": [[on.isoformat(), fen, fen]], "source": {"entered": True}, "by": by})


async def import_statement(host: Any, by: str, account: str, data: bytes, filename: str, today: date) -> dict[str, Any]:
    """A bank statement or an accounting export: read and checked whole (nothing kept if any row is doubtful),
    the file kept in the document store by its hash, its days recorded in one entry."""
    async with host.recorder.step():
        await _account(host.db.conn, account)
    try:
        statement = await asyncio.to_thread(read_statement, data, filename, account, today)
    except StatementError as exc:
        raise InputError(exc.message, "bad_statement") from None
    stored = await asyncio.to_thread(_keep, host.config.data_dir, data, filename)
    days = rules.days_of(statement.rows)
    body = {
        "account": account,
        "days": [[d.day.isoformat(), d.low_fen, d.close_fen] for d in days],
        "source": {**stored.to_body(), "format": statement.format, "rows": len(statement.rows), "skipped": statement.skipped},
        "by": by,
    }
    async with host.recorder.step():
        await _account(host.db.conn, account)
        await host.recorder.record(P.BALANCES, body)
    return {"days": len(days), "rows": len(statement.rows), "skipped": statement.skipped, "first": days[0].day, "last": days[-1].day}


def _keep(data_dir: Any, data: bytes, filename: str) -> StoredDocument:
    folder = private_dir(data_dir / "incoming")
    tmp = folder / f".statement-{os.getpid()}-{os.urandom(6).hex()}"
    try:
        with open_private(tmp, exclusive=True) as f:
            f.write(data)
        stored = store_document(data_dir, tmp)
    finally:
        tmp.unlink(missing_ok=True)
    return StoredDocument(stored.sha256, filename, stored.size)


# -- what each account holds idle ---------------------------------------------------------------------------


async def account_views(host: Any, today: date) -> list[AccountView]:
    """Every account's eligibility on ``today``; call inside a recorder step."""
    s = settings(host)
    conn = host.db.conn
    views = []
    all_plans = await P.plans(conn)
    for a in await P.accounts(conn):
        idle = rules.idle_funds(await P.history(conn, a["account"]), today, s.min_idle_fen)
        e = rules.eligibility(idle, s.min_idle_fen, s.min_idle_months)
        run_plans = [p for p in all_plans if p["account"] == a["account"] and idle is not None and p["meeting_date"] >= idle.since.isoformat()]
        open_plan = run_plans[-1] if run_plans else None
        flag = e.eligible and open_plan is None
        due = rules.flag_due(e.eligible_from, s.plan_grace_days) if flag and e.eligible_from else None
        views.append(AccountView(a["account"], a["name"], a["bank"], e, open_plan, flag, due))
    return views


# -- the joint meeting's decision: the plan that goes up ------------------------------------------------------


@dataclass(frozen=True)
class PlanInput:
    account: str
    amount_fen: int
    term_months: int
    meeting_date: date


def check_plan(account: str, amount: object, term: object, meeting: object, today: date) -> PlanInput:
    """The decision's fields, checked before its minutes are stored."""
    fen = amount_of(amount, "存放金额")
    try:
        months = int(term) if isinstance(term, str) and term.strip().isdigit() else 0
    except ValueError:
        months = 0
    if months not in TERMS:
        raise InputError(f"存放期限应为 {'、'.join(map(str, TERMS))} 个月之一", "bad_term")
    return PlanInput(account, fen, months, day_of(meeting, "联席会议日期", today))


async def record_plan(host: Any, by: str, plan: PlanInput, minutes: StoredDocument) -> str:
    """Record the joint meeting's decision: the account must be eligible on the meeting's day, the amount within
    what it holds idle, and no other plan of it open."""
    s = settings(host)
    conn = host.db.conn
    async with host.recorder.step():
        await _account(conn, plan.account)
        # As the meeting saw it: balances recorded since (a statement imported later) do not count.
        known = [d for d in await P.history(conn, plan.account) if d.day <= plan.meeting_date]
        idle = rules.idle_funds(known, plan.meeting_date, s.min_idle_fen)
        e = rules.eligibility(idle, s.min_idle_fen, s.min_idle_months)
        if not e.eligible or idle is None:
            raise Refused(f"会议当日该账户不符合竞争性存放条件：{e.explanation}", "not_eligible")
        if plan.amount_fen > idle.amount_fen:
            raise Refused(f"存放金额超过闲置资金 {rules.yuan_text(idle.amount_fen)} 元", "over_idle")
        existing = await P.plans(conn, plan.account)
        if any(p["status"] in ("planned", "awarded") for p in existing):
            raise Refused("该账户已有未完成的存放计划（待招标或待签约）", "plan_open")
        year = plan.meeting_date.year
        plan_id = f"CD-{year}-{sum(1 for p in await P.plans(conn) if p['plan_id'].startswith(f'CD-{year}-')) + 1:03d}"
        await host.recorder.record(P.PLAN, {
            "plan_id": plan_id, "account": plan.account, "account_name": (await _account(conn, plan.account))["name"],
            "amount_fen": plan.amount_fen, "term_months": plan.term_months,
            "meeting_date": plan.meeting_date.isoformat(), "minutes": minutes.to_body(),
            "idle": {"amount_fen": idle.amount_fen, "since": idle.since.isoformat(), "as_of": idle.as_of.isoformat()},
            "thresholds": {"min_idle_fen": s.min_idle_fen, "min_idle_months": s.min_idle_months}, "by": by,
        })  # fmt: skip
    return plan_id


# -- after the award comes down -------------------------------------------------------------------------------


async def _plan(conn: Any, plan_id: str, status: str, doing: str) -> dict[str, Any]:
    row = await P.plan_row(conn, plan_id)
    if row is None:
        raise NotFound(f"没有存放计划 {plan_id}")
    if row["status"] != status:
        raise Refused(f"{plan_id} 现在{P.STATUS_NAMES[row['status']]}，不能{doing}", "wrong_status")
    return row


def check_signing(signed: object, start: object, today: date) -> tuple[date, date]:
    on = day_of(signed, "签约日期", today)
    begins = day_of(start, "起存日期", today) if isinstance(start, str) and start.strip() else on
    if begins < on:
        raise InputError("起存日期不能早于签约日期", "bad_date")
    return on, begins


async def record_signed(host: Any, by: str, plan_id: str, signed_on: date, start: date, contract: StoredDocument) -> bool:
    """The signed contract; returns whether it was late (signed after the last day of the clock)."""
    async with host.recorder.step():
        row = await _plan(host.db.conn, plan_id, "awarded", "登记签约")
        if signed_on < date.fromisoformat(row["notice_date"]):
            raise InputError(f"签约日期不能早于中标通知日 {row['notice_date']}", "bad_date")
        late = rules.signed_late(date.fromisoformat(row["notice_date"]), signed_on, _sign_days(row))
        await host.recorder.record(P.SIGNED, {
            "plan_id": plan_id, "signed_on": signed_on.isoformat(), "start_date": start.isoformat(),
            "maturity_date": rules.maturity(start, row["term_months"]).isoformat(), "contract": contract.to_body(),
            "late": late, "sign_by": row["sign_by"], "by": by,
        })  # fmt: skip
    return late


def _sign_days(row: dict[str, Any]) -> int:
    return (date.fromisoformat(row["sign_by"]) - date.fromisoformat(row["notice_date"])).days


async def record_matured(host: Any, by: str, plan_id: str, today: date) -> rules.Income:
    """At maturity: the interest the term earned against the demand rate, computed by the rules and published."""
    s = settings(host)
    async with host.recorder.step():
        row = await _plan(host.db.conn, plan_id, "signed", "登记到期")
        if today < date.fromisoformat(row["maturity_date"]):
            raise Refused(f"{plan_id} 到 {row['maturity_date']} 才到期", "not_mature")
        income = rules.extra_income(row["awarded_fen"], Decimal(row["rate_percent"]), s.demand_rate_percent, row["term_months"])
        await host.recorder.record(P.MATURED, {
            "plan_id": plan_id, "matured_on": today.isoformat(), "amount_fen": row["awarded_fen"], "rate_percent": row["rate_percent"],
            "term_months": row["term_months"], "demand_rate_percent": str(s.demand_rate_percent),
            "interest_fen": income.interest_fen, "demand_fen": income.demand_fen, "extra_fen": income.extra_fen, "by": by,
        })  # fmt: skip
    return income


# -- the deadlines (the part's tick) ---------------------------------------------------------------------------


async def check_due(host: Any, today: date) -> list[str]:
    """Record what fell due on ``today``: an award not signed by its last day, an eligible account in no plan
    past the grace days. Each is recorded once; returns the kinds recorded."""
    recorded = []
    async with host.recorder.step():
        conn = host.db.conn
        for row in await P.plans(conn):
            if row["status"] == "awarded" and not row["late"] and today > date.fromisoformat(row["sign_by"]):
                await host.recorder.record(P.SIGNING_LATE, {"plan_id": row["plan_id"], "notice_date": row["notice_date"], "sign_by": row["sign_by"]})
                recorded.append(P.SIGNING_LATE)
        done = await P.flagged(conn)
        for v in await account_views(host, today):
            idle = v.eligibility.idle
            if v.flag and idle is not None and v.flag_due is not None and today >= v.flag_due and (v.account, idle.since.isoformat()) not in done:
                await host.recorder.record(P.UNPLANNED, {
                    "account": v.account, "since": idle.since.isoformat(), "idle_fen": idle.amount_fen,
                    "as_of": today.isoformat(), "explanation": v.eligibility.explanation,
                })  # fmt: skip
                recorded.append(P.UNPLANNED)
    return recorded


#: How often the tick looks: the agent's loop passes several times a second, and these deadlines are days.
TICK_EVERY_S = 60.0
_last_tick: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()  # per running agent


async def tick(host: Any) -> None:
    now = time.monotonic()
    if now - _last_tick.get(host, -TICK_EVERY_S) < TICK_EVERY_S:
        return
    _last_tick[host] = now
    await check_due(host, local_today())
