"""The working state of labour dispatch: tables, the handler of each ledger kind, and the queries that read them.

Each handler is a function of its entry only (times and decisions are in it), so a replay from an empty
database gives the same pool, the same cursors and the same pay lists: the cursor of a trade is the
``cursor_after`` of its last rotation dispatch.
"""

from __future__ import annotations

import json
from typing import Any

import aiosqlite

from edge.kernel.routing import Routed
from edge.ledger import Entry
import edge.modules.work_order.kinds as K
from edge.modules.work_order.rules import AVAILABLE, ROTATION

SCHEMA = """
CREATE TABLE IF NOT EXISTS wo_key (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    nonce      TEXT NOT NULL,
    ciphertext TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS wo_workers (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    trade         TEXT NOT NULL,
    area          TEXT NOT NULL,     -- the area (片区) and group (小组) a committee member supervises
    grp           TEXT NOT NULL,
    rotation      INTEGER NOT NULL,  -- the public rotation order within the trade
    phone         TEXT NOT NULL,
    id_sealed     TEXT NOT NULL,     -- ID number, sealed (sealing.py)
    id_digest     TEXT NOT NULL UNIQUE,
    bank_sealed   TEXT NOT NULL,     -- bank account for pay, sealed
    relatives     TEXT NOT NULL,     -- JSON: roster persons declared as relatives
    status        TEXT NOT NULL,     -- available | unavailable | blacklisted
    status_reason TEXT NOT NULL DEFAULT '',
    status_from   TEXT,
    status_to     TEXT,
    status_by     TEXT,
    registered_at TEXT NOT NULL,
    UNIQUE (trade, rotation)
);
CREATE TABLE IF NOT EXISTS wo_orders (
    id               TEXT PRIMARY KEY,
    week             TEXT NOT NULL,
    content          TEXT NOT NULL,
    trade            TEXT NOT NULL,
    headcount        INTEGER NOT NULL,
    place            TEXT NOT NULL,
    start_day        TEXT NOT NULL,
    end_day          TEXT NOT NULL,
    rate_fen         INTEGER NOT NULL,
    amount_fen       INTEGER NOT NULL,
    applicant        TEXT NOT NULL,
    route            TEXT NOT NULL,  -- JSON, frozen at filing
    emergency        INTEGER NOT NULL,
    emergency_reason TEXT NOT NULL DEFAULT '',
    status           TEXT NOT NULL,  -- pending | approved | rejected | dispatched
    approvers        TEXT NOT NULL DEFAULT '[]',
    reason           TEXT NOT NULL DEFAULT '',
    filed_at         TEXT NOT NULL,
    decided_at       TEXT,
    reviewed_week    TEXT            -- an emergency order: the meeting (plan week) that took note of it
);
CREATE TABLE IF NOT EXISTS wo_plans (
    week        TEXT PRIMARY KEY,
    status      TEXT NOT NULL,       -- drafted | approved (frozen)
    orders      TEXT NOT NULL,       -- JSON: the plan's lines, one per order id
    total_fen   INTEGER NOT NULL,
    drafted_by  TEXT NOT NULL,
    drafted_at  TEXT NOT NULL,
    meeting_day TEXT,
    attendees   TEXT,
    minutes     TEXT,
    emergencies TEXT,                -- JSON: emergency orders reported at the meeting
    approved_at TEXT
);
CREATE TABLE IF NOT EXISTS wo_cursors (
    trade  TEXT PRIMARY KEY,
    cursor INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS wo_dispatches (
    order_id      TEXT PRIMARY KEY,
    mode          TEXT NOT NULL,
    workers       TEXT NOT NULL,
    skipped       TEXT NOT NULL,
    cursor_before INTEGER,
    cursor_after  INTEGER,
    by            TEXT NOT NULL,
    at            TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS wo_attendance (
    order_id  TEXT NOT NULL,
    day       TEXT NOT NULL,
    worker    TEXT NOT NULL,
    half_days INTEGER NOT NULL,
    by        TEXT NOT NULL,
    at        TEXT NOT NULL,
    PRIMARY KEY (order_id, day, worker)
);
CREATE TABLE IF NOT EXISTS wo_pays (
    id          TEXT PRIMARY KEY,
    order_id    TEXT NOT NULL UNIQUE,
    lines       TEXT NOT NULL,       -- JSON: [{worker, half_days, amount_fen}]
    total_fen   INTEGER NOT NULL,
    route       TEXT NOT NULL,
    status      TEXT NOT NULL,       -- pending | approved | rejected | paid
    approvers   TEXT NOT NULL DEFAULT '[]',
    filed_by    TEXT NOT NULL,
    filed_at    TEXT NOT NULL,
    transfer_ref TEXT,
    paid_at     TEXT
);
"""
SCHEMA_VERSION = 1

ORDER_STATUS = {"pending": "待村主要负责人签批", "approved": "已批准", "rejected": "已驳回", "dispatched": "已派工"}
PAY_STATUS = {"pending": "待审核", "approved": "已批准待转账", "rejected": "已驳回", "paid": "已转账"}
PLAN_STATUS = {"drafted": "草拟（待两委会审定）", "approved": "两委会已审定（冻结）"}


# -- handlers ------------------------------------------------------------------------------------------


async def key(conn: aiosqlite.Connection, entry: Entry) -> None:
    b = entry.body
    await conn.execute("INSERT INTO wo_key (id, nonce, ciphertext) VALUES (1, ?, ?)", (b["nonce"], b["ciphertext"]))


async def worker_registered(conn: aiosqlite.Connection, entry: Entry) -> None:
    b = entry.body
    await conn.execute(
        "INSERT INTO wo_workers (id, name, trade, area, grp, rotation, phone, id_sealed, id_digest, bank_sealed, relatives,"
        " status, registered_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (b["worker_id"], b["name"], b["trade"], b["area"], b["group"], int(b["rotation"]), b["phone"], b["id_sealed"],
         b["id_digest"], b["bank_sealed"], json.dumps(list(b["relatives"])), AVAILABLE, entry.ts),
    )  # fmt: skip


async def worker_status(conn: aiosqlite.Connection, entry: Entry) -> None:
    b = entry.body
    cur = await conn.execute(
        "UPDATE wo_workers SET status = ?, status_reason = ?, status_from = ?, status_to = ?, status_by = ? WHERE id = ?",
        (b["status"], b["reason"], b.get("from"), b.get("to"), b["by"], b["worker_id"]),
    )
    if cur.rowcount != 1:
        raise KeyError(f"没有工人 {b['worker_id']!r:.40}")  # an anomaly, never a stop


async def order_filed(conn: aiosqlite.Connection, entry: Entry) -> None:
    b = entry.body
    await conn.execute(
        "INSERT INTO wo_orders (id, week, content, trade, headcount, place, start_day, end_day, rate_fen, amount_fen,"
        " applicant, route, emergency, emergency_reason, status, filed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?)",
        (b["order_id"], b["week"], b["content"], b["trade"], int(b["headcount"]), b["place"], b["start"], b["end"],
         int(b["rate_fen"]), int(b["amount_fen"]), b["applicant"], json.dumps(b["route"]), int(bool(b["emergency"])),
         b.get("emergency_reason", ""), entry.ts),
    )  # fmt: skip


def _table(body: dict[str, Any]) -> tuple[str, str]:
    """Which routed item a decision of the desk is about: an order or a pay list."""
    return ("wo_pays", body["pay_id"]) if "pay_id" in body else ("wo_orders", body["order_id"])


async def approval(conn: aiosqlite.Connection, entry: Entry) -> None:
    table, item = _table(entry.body)
    await conn.execute(f"UPDATE {table} SET approvers = json_insert(approvers, '$[#]', ?) WHERE id = ?", (entry.body["approver"], item))


async def approved(conn: aiosqlite.Connection, entry: Entry) -> None:
    table, item = _table(entry.body)
    extra = ", decided_at = ?" if table == "wo_orders" else ""
    args = (entry.ts, item) if extra else (item,)
    await conn.execute(f"UPDATE {table} SET status = 'approved'{extra} WHERE id = ? AND status = 'pending'", args)


async def rejected(conn: aiosqlite.Connection, entry: Entry) -> None:
    table, item = _table(entry.body)
    if table == "wo_orders":
        await conn.execute("UPDATE wo_orders SET status = 'rejected', reason = ?, decided_at = ? WHERE id = ?", (entry.body["reason"], entry.ts, item))
    else:
        await conn.execute("UPDATE wo_pays SET status = 'rejected' WHERE id = ?", (item,))


async def plan_drafted(conn: aiosqlite.Connection, entry: Entry) -> None:
    b = entry.body
    await conn.execute(
        "INSERT INTO wo_plans (week, status, orders, total_fen, drafted_by, drafted_at) VALUES (?, 'drafted', ?, ?, ?, ?) "
        "ON CONFLICT (week) DO UPDATE SET orders = excluded.orders, total_fen = excluded.total_fen,"
        " drafted_by = excluded.drafted_by, drafted_at = excluded.drafted_at WHERE wo_plans.status = 'drafted'",
        (b["week"], json.dumps(b["lines"]), int(b["total_fen"]), b["by"], entry.ts),
    )


async def plan_approved(conn: aiosqlite.Connection, entry: Entry) -> None:
    b = entry.body
    await conn.execute(
        "UPDATE wo_plans SET status = 'approved', meeting_day = ?, attendees = ?, minutes = ?, emergencies = ?, approved_at = ?"
        " WHERE week = ?",
        (b["meeting_day"], json.dumps(b["attendees"]), b["minutes"], json.dumps(b["emergencies"]), entry.ts, b["week"]),
    )
    for order_id in b["emergencies"]:
        await conn.execute("UPDATE wo_orders SET reviewed_week = ? WHERE id = ?", (b["week"], order_id))


async def dispatched(conn: aiosqlite.Connection, entry: Entry) -> None:
    b = entry.body
    await conn.execute(
        "INSERT INTO wo_dispatches (order_id, mode, workers, skipped, cursor_before, cursor_after, by, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (b["order_id"], b["mode"], json.dumps(b["workers"]), json.dumps(b["skipped"]), b["cursor_before"], b["cursor_after"], b["by"], entry.ts),
    )
    await conn.execute("UPDATE wo_orders SET status = 'dispatched' WHERE id = ?", (b["order_id"],))
    if b["mode"] == ROTATION and b["cursor_after"] is not None:
        await conn.execute(
            "INSERT INTO wo_cursors (trade, cursor) VALUES (?, ?) ON CONFLICT (trade) DO UPDATE SET cursor = excluded.cursor",
            (b["trade"], int(b["cursor_after"])),
        )


async def attendance(conn: aiosqlite.Connection, entry: Entry) -> None:
    b = entry.body
    for worker, half in b["marks"].items():
        await conn.execute(
            "INSERT INTO wo_attendance (order_id, day, worker, half_days, by, at) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (order_id, day, worker) DO UPDATE SET half_days = excluded.half_days, by = excluded.by, at = excluded.at",
            (b["order_id"], b["day"], worker, int(half), b["by"], entry.ts),
        )


async def pay_filed(conn: aiosqlite.Connection, entry: Entry) -> None:
    b = entry.body
    await conn.execute(
        "INSERT INTO wo_pays (id, order_id, lines, total_fen, route, status, filed_by, filed_at) VALUES (?, ?, ?, ?, ?, 'pending', ?, ?)",
        (b["pay_id"], b["order_id"], json.dumps(b["lines"]), int(b["total_fen"]), json.dumps(b["route"]), b["by"], entry.ts),
    )


async def paid(conn: aiosqlite.Connection, entry: Entry) -> None:
    b = entry.body
    await conn.execute(
        "UPDATE wo_pays SET status = 'paid', transfer_ref = ?, paid_at = ? WHERE id = ? AND status = 'approved'",
        (b["transfer_ref"], entry.ts, b["pay_id"]),
    )


PROJECTION = {
    K.KEY: key, K.WORKER_REGISTERED: worker_registered, K.WORKER_STATUS: worker_status, K.ORDER_FILED: order_filed,
    K.APPROVAL: approval, K.APPROVED: approved, K.REJECTED: rejected, K.PLAN_DRAFTED: plan_drafted,
    K.PLAN_APPROVED: plan_approved, K.DISPATCHED: dispatched, K.ATTENDANCE: attendance, K.PAY_FILED: pay_filed, K.PAID: paid,
}  # fmt: skip


# -- queries ---------------------------------------------------------------------------------------------------

_JSON = {"relatives", "route", "approvers", "orders", "attendees", "emergencies", "workers", "skipped", "lines"}


async def rows(conn: aiosqlite.Connection, sql: str, args: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    """Rows as dicts, their JSON columns read."""
    async with conn.execute(sql, args) as cur:
        names = [d[0] for d in cur.description]
        out = [dict(zip(names, row, strict=True)) for row in await cur.fetchall()]
    for r in out:
        for k in _JSON.intersection(r):
            if r[k] is not None:
                r[k] = json.loads(r[k])
    return out


async def one(conn: aiosqlite.Connection, sql: str, args: tuple[Any, ...] = ()) -> dict[str, Any] | None:
    found = await rows(conn, sql, args)
    return found[0] if found else None


async def workers(conn: aiosqlite.Connection, trade: str | None = None) -> list[dict[str, Any]]:
    where = " WHERE trade = ?" if trade else ""
    return await rows(conn, f"SELECT * FROM wo_workers{where} ORDER BY trade, rotation", (trade,) if trade else ())


async def cursor(conn: aiosqlite.Connection, trade: str) -> int | None:
    found = await one(conn, "SELECT cursor FROM wo_cursors WHERE trade = ?", (trade,))
    return None if found is None else int(found["cursor"])


async def orders(conn: aiosqlite.Connection, where: str = "", args: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    return await rows(conn, f"SELECT * FROM wo_orders {where} ORDER BY start_day DESC, id DESC", args)


async def unreviewed_emergencies(conn: aiosqlite.Connection) -> list[dict[str, Any]]:
    """Emergency orders the head signed that no committee meeting has taken note of yet: flagged for the next one."""
    return await orders(conn, "WHERE emergency = 1 AND reviewed_week IS NULL AND status IN ('approved', 'dispatched')")


async def order(conn: aiosqlite.Connection, order_id: str) -> dict[str, Any] | None:
    return await one(conn, "SELECT * FROM wo_orders WHERE id = ?", (order_id,))


async def plan(conn: aiosqlite.Connection, week: str) -> dict[str, Any] | None:
    return await one(conn, "SELECT * FROM wo_plans WHERE week = ?", (week,))


async def dispatch(conn: aiosqlite.Connection, order_id: str) -> dict[str, Any] | None:
    return await one(conn, "SELECT * FROM wo_dispatches WHERE order_id = ?", (order_id,))


async def attendance_of(conn: aiosqlite.Connection, order_id: str) -> list[dict[str, Any]]:
    return await rows(conn, "SELECT * FROM wo_attendance WHERE order_id = ? ORDER BY day, worker", (order_id,))


async def pay_of(conn: aiosqlite.Connection, order_id: str) -> dict[str, Any] | None:
    return await one(conn, "SELECT * FROM wo_pays WHERE order_id = ?", (order_id,))


async def pays(conn: aiosqlite.Connection, status: str | None = None) -> list[dict[str, Any]]:
    where = " WHERE status = ?" if status else ""
    return await rows(conn, f"SELECT * FROM wo_pays{where} ORDER BY filed_at, id", (status,) if status else ())


def routed_order(o: dict[str, Any]) -> Routed:
    """An order as the routing rules read it: the village head decides; the applicant never approves their own."""
    pending = o["status"] == "pending"
    barred = {o["applicant"]: ("self_approval", "不能审批自己提交的派工单")}
    return Routed(o["id"], o["status"], ORDER_STATUS[o["status"]], pending, o["route"], tuple(o["approvers"]), barred)


def routed_pay(p: dict[str, Any]) -> Routed:
    """A pay list as the routing rules read it: checked by the supervising lead, then approved by finance."""
    pending = p["status"] == "pending"
    barred = {p["filed_by"]: ("self_approval", "不能审核自己造册的工资")}
    return Routed(p["id"], p["status"], PAY_STATUS[p["status"]], pending, p["route"], tuple(p["approvers"]), barred)
