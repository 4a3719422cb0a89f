"""What each competitive-deposit entry means for the working state (a function of the entry only), and the
queries the desk, the pages and the lists read.

The path of one deposit: ``plan`` (the joint meeting's decision, which goes up to the central as the village's
plan for the monthly tender) → ``award`` (the central's signed document, recorded by the kernel when it
arrives) → ``signed`` (the contract, on time or late; ``signing_late`` when the clock ran out first) →
``matured`` (the interest against the demand rate). Beside it: the accounts and their balances, and
``unplanned`` when an eligible account was not put into a tender.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import aiosqlite

import edge.modules.competitive_deposit.rules as rules
from edge.ledger import Entry

NAME = "competitive_deposit"
ACCOUNT_ADDED, BALANCES, PLAN, UNPLANNED, AWARD, SIGNING_LATE, SIGNED, MATURED = (
    f"{NAME}.{k}" for k in ("account_added", "balances", "plan", "unplanned", "award", "signing_late", "signed", "matured")
)
KINDS = {
    ACCOUNT_ADDED: "登记存款账户", BALANCES: "账户余额（导入或录入）", PLAN: "联席会议存放决定（上报）",
    UNPLANNED: "应竞争性存放未上报（提示乡镇）", AWARD: "竞争性存放中标通知（下达）", SIGNING_LATE: "中标后 3 日内未签约",
    SIGNED: "存款合同签订", MATURED: "到期收益",
}  # fmt: skip
STATUS_NAMES = {"planned": "已上报，待招标", "awarded": "已中标，待签约", "signed": "已签约，存放中", "matured": "已到期"}

SCHEMA = """
CREATE TABLE IF NOT EXISTS deposit_accounts (
    account  TEXT PRIMARY KEY,          -- the account number, digits only
    name     TEXT NOT NULL,             -- e.g. 村集体经济基本户
    bank     TEXT NOT NULL,             -- where it is held now
    added_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS deposit_balances (
    account   TEXT NOT NULL,
    day       TEXT NOT NULL,            -- YYYY-MM-DD
    low_fen   INTEGER NOT NULL,         -- the day's lowest balance
    close_fen INTEGER NOT NULL,         -- its closing balance
    entry     INTEGER NOT NULL,         -- the ledger entry it came from (a later one for the same day replaces it)
    PRIMARY KEY (account, day)
);
CREATE TABLE IF NOT EXISTS deposit_plans (
    plan_id       TEXT PRIMARY KEY,
    account       TEXT NOT NULL,
    amount_fen    INTEGER NOT NULL,
    term_months   INTEGER NOT NULL,
    meeting_date  TEXT NOT NULL,
    minutes_sha256 TEXT NOT NULL,
    minutes_name  TEXT NOT NULL,
    idle_fen      INTEGER NOT NULL,
    idle_since    TEXT NOT NULL,
    decided_at    TEXT NOT NULL,
    status        TEXT NOT NULL,        -- planned | awarded | signed | matured
    tender_id     TEXT,
    bank          TEXT,
    rate_percent  TEXT,
    awarded_fen   INTEGER,
    notice_date   TEXT,
    sign_by       TEXT,                 -- the last day to sign on time
    document_id   TEXT,
    late          INTEGER NOT NULL DEFAULT 0,
    signed_on     TEXT,
    start_date    TEXT,
    maturity_date TEXT,
    contract_sha256 TEXT,
    contract_name TEXT,
    interest_fen  INTEGER,
    demand_fen    INTEGER,
    extra_fen     INTEGER,
    demand_rate_percent TEXT,
    matured_on    TEXT
);
CREATE TABLE IF NOT EXISTS deposit_flags (
    account TEXT NOT NULL,
    since   TEXT NOT NULL,              -- the idle run it was flagged for: a new run is flagged again
    at      TEXT NOT NULL,
    PRIMARY KEY (account, since)
);
"""


def _day(text: object) -> str:
    if not isinstance(text, str):
        raise TypeError(f"日期应为文字：{text!r:.40}")
    return date.fromisoformat(text).isoformat()


def _fen(value: object) -> int:
    if type(value) is not int or value < 0:
        raise ValueError(f"金额应为不小于 0 的整数（分）：{value!r:.40}")
    return value


async def account_added(conn: aiosqlite.Connection, entry: Entry) -> None:
    b = entry.body
    await conn.execute(
        "INSERT INTO deposit_accounts (account, name, bank, added_at) VALUES (?, ?, ?, ?)",
        (str(b["account"]), str(b["name"]), str(b["bank"]), entry.ts),
    )


async def balances(conn: aiosqlite.Connection, entry: Entry) -> None:
    b = entry.body
    account = str(b["account"])
    async with conn.execute("SELECT 1 FROM deposit_accounts WHERE account = ?", (account,)) as cur:
        if await cur.fetchone() is None:
            raise ValueError(f"账户 {account!r:.40} 未登记")
    for day, low, close in b["days"]:
        if _fen(low) > _fen(close):
            raise ValueError("当日最低余额高于日终余额")
        await conn.execute(
            "INSERT OR REPLACE INTO deposit_balances (account, day, low_fen, close_fen, entry) VALUES (?, ?, ?, ?, ?)",
            (account, _day(day), low, close, entry.index),
        )


async def plan(conn: aiosqlite.Connection, entry: Entry) -> None:
    b = entry.body
    await conn.execute(
        "INSERT INTO deposit_plans (plan_id, account, amount_fen, term_months, meeting_date, minutes_sha256, minutes_name,"
        " idle_fen, idle_since, decided_at, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'planned')",
        (str(b["plan_id"]), str(b["account"]), _fen(b["amount_fen"]), int(b["term_months"]), _day(b["meeting_date"]),
         str(b["minutes"]["sha256"]), str(b["minutes"]["name"]), _fen(b["idle"]["amount_fen"]), _day(b["idle"]["since"]), entry.ts),
    )  # fmt: skip


async def unplanned(conn: aiosqlite.Connection, entry: Entry) -> None:
    b = entry.body
    await conn.execute("INSERT INTO deposit_flags (account, since, at) VALUES (?, ?, ?)", (str(b["account"]), _day(b["since"]), entry.ts))


async def _plan_in(conn: aiosqlite.Connection, plan_id: object, status: str) -> dict[str, Any]:
    row = await plan_row(conn, str(plan_id))
    if row is None or row["status"] != status:
        raise ValueError(f"存放计划 {plan_id!r:.40} 不在“{STATUS_NAMES[status]}”状态")
    return row


async def award(conn: aiosqlite.Connection, entry: Entry) -> None:
    """The central's award, recorded by the kernel once its signature, village and freshness were checked."""
    b = entry.body
    row = await _plan_in(conn, b["plan_id"], "planned")
    amount = _fen(b["amount_fen"])
    if not 0 < amount <= row["amount_fen"] or int(b["term_months"]) != row["term_months"]:
        raise ValueError("中标结果与存放计划不符（金额高于计划或期限不同）")
    rules.parse_rate(b["rate_percent"])
    notice = date.fromisoformat(_day(b["notice_date"]))
    sign_days = int(b.get("sign_days", rules.DEFAULT_SIGN_DAYS))
    document = b.get("document") or {}
    await conn.execute(
        "UPDATE deposit_plans SET status = 'awarded', tender_id = ?, bank = ?, rate_percent = ?, awarded_fen = ?,"
        " notice_date = ?, sign_by = ?, document_id = ? WHERE plan_id = ?",
        (str(b["tender_id"]), str(b["bank"]), str(b["rate_percent"]).strip(), amount, notice.isoformat(),
         rules.signing_deadline(notice, sign_days).isoformat(), str(document.get("id", "")), row["plan_id"]),
    )  # fmt: skip


async def signing_late(conn: aiosqlite.Connection, entry: Entry) -> None:
    row = await _plan_in(conn, entry.body["plan_id"], "awarded")
    await conn.execute("UPDATE deposit_plans SET late = 1 WHERE plan_id = ?", (row["plan_id"],))


async def signed(conn: aiosqlite.Connection, entry: Entry) -> None:
    b = entry.body
    row = await _plan_in(conn, b["plan_id"], "awarded")
    await conn.execute(
        "UPDATE deposit_plans SET status = 'signed', signed_on = ?, start_date = ?, maturity_date = ?, contract_sha256 = ?,"
        " contract_name = ?, late = MAX(late, ?) WHERE plan_id = ?",
        (_day(b["signed_on"]), _day(b["start_date"]), _day(b["maturity_date"]), str(b["contract"]["sha256"]),
         str(b["contract"]["name"]), 1 if b["late"] is True else 0, row["plan_id"]),
    )  # fmt: skip


async def matured(conn: aiosqlite.Connection, entry: Entry) -> None:
    b = entry.body
    row = await _plan_in(conn, b["plan_id"], "signed")
    Decimal(str(b["demand_rate_percent"]))
    await conn.execute(
        "UPDATE deposit_plans SET status = 'matured', interest_fen = ?, demand_fen = ?, extra_fen = ?, demand_rate_percent = ?,"
        " matured_on = ? WHERE plan_id = ?",
        (_fen(b["interest_fen"]), _fen(b["demand_fen"]), int(b["extra_fen"]), str(b["demand_rate_percent"]),
         _day(b["matured_on"]), row["plan_id"]),
    )  # fmt: skip


PROJECTION = {
    ACCOUNT_ADDED: account_added, BALANCES: balances, PLAN: plan, UNPLANNED: unplanned, AWARD: award,
    SIGNING_LATE: signing_late, SIGNED: signed, MATURED: matured,
}  # fmt: skip


# -- queries ---------------------------------------------------------------------------------------------------


async def _all(conn: aiosqlite.Connection, sql: str, args: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    async with conn.execute(sql, args) as cur:
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in await cur.fetchall()]


async def accounts(conn: aiosqlite.Connection) -> list[dict[str, Any]]:
    return await _all(conn, "SELECT * FROM deposit_accounts ORDER BY added_at, account")


async def account_row(conn: aiosqlite.Connection, account: str) -> dict[str, Any] | None:
    found = await _all(conn, "SELECT * FROM deposit_accounts WHERE account = ?", (account,))
    return found[0] if found else None


async def history(conn: aiosqlite.Connection, account: str) -> list[rules.DayBalance]:
    rows = await _all(conn, "SELECT day, low_fen, close_fen FROM deposit_balances WHERE account = ? ORDER BY day", (account,))
    return [rules.DayBalance(date.fromisoformat(r["day"]), r["low_fen"], r["close_fen"]) for r in rows]


async def plans(conn: aiosqlite.Connection, account: str | None = None) -> list[dict[str, Any]]:
    if account is None:
        return await _all(conn, "SELECT * FROM deposit_plans ORDER BY decided_at, plan_id")
    return await _all(conn, "SELECT * FROM deposit_plans WHERE account = ? ORDER BY decided_at, plan_id", (account,))


async def plan_row(conn: aiosqlite.Connection, plan_id: str) -> dict[str, Any] | None:
    found = await _all(conn, "SELECT * FROM deposit_plans WHERE plan_id = ?", (plan_id,))
    return found[0] if found else None


async def flagged(conn: aiosqlite.Connection) -> set[tuple[str, str]]:
    return {(r["account"], r["since"]) for r in await _all(conn, "SELECT account, since FROM deposit_flags")}
