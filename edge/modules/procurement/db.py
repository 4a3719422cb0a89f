"""The procurement module's tables in the working database, and the reads its desk and pages make.

Every row is written by the projection (``projection.py``) from a ledger entry; nothing here writes. JSON
columns hold an entry's lists (item lines, documents, the route) as the entry wrote them.
"""

from __future__ import annotations

import json
from typing import Any

import aiosqlite

SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS procurement_purchases (
    id          TEXT PRIMARY KEY,
    day         TEXT NOT NULL,      -- YYYY-MM-DD, the purchase's date (local)
    category    TEXT NOT NULL,
    project     TEXT NOT NULL,      -- '' : for no project
    supplier    TEXT NOT NULL,
    channel     TEXT NOT NULL,      -- platform | offline
    amount_fen  INTEGER NOT NULL,
    lines       TEXT NOT NULL,      -- JSON [{name, unit, quantity, unit_fen, amount_fen}]
    invoice     TEXT,               -- JSON {sha256, name, size}
    account     TEXT NOT NULL,
    person      TEXT,
    override    TEXT,               -- JSON {id, reason, approvers}: recorded against the rule, flagged
    demand_id   TEXT,               -- a platform purchase: the demand it was awarded for
    entry       INTEGER NOT NULL,
    recorded_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS procurement_purchases_day ON procurement_purchases (day);
CREATE TABLE IF NOT EXISTS procurement_refusals (
    entry      INTEGER PRIMARY KEY,  -- the ledger entry of the refusal
    purchase   TEXT NOT NULL,        -- JSON: the purchase as it was asked for
    groups     TEXT NOT NULL,        -- JSON [{rule, key, ids, total_fen, start, end}]
    message    TEXT NOT NULL,
    account    TEXT NOT NULL,
    at         TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS procurement_overrides (
    id         TEXT PRIMARY KEY,
    purchase   TEXT NOT NULL,        -- JSON: the purchase to record once approved
    reason     TEXT NOT NULL,
    groups     TEXT NOT NULL,
    message    TEXT NOT NULL,
    account    TEXT NOT NULL,
    person     TEXT,
    route      TEXT NOT NULL,
    done       TEXT NOT NULL DEFAULT '[]',
    status     TEXT NOT NULL,        -- pending | approved | rejected
    purchase_id TEXT,                -- recorded as, once approved
    decided_reason TEXT,
    filed_at   TEXT NOT NULL,
    decided_at TEXT
);
CREATE TABLE IF NOT EXISTS procurement_demands (
    id            TEXT PRIMARY KEY,
    title         TEXT NOT NULL,
    category      TEXT NOT NULL,
    project       TEXT NOT NULL,
    lines         TEXT NOT NULL,     -- JSON [{name, spec, unit, quantity, ceiling_unit_fen}]
    ceiling_fen   INTEGER NOT NULL,
    place         TEXT NOT NULL,
    delivery_date TEXT NOT NULL,
    documents     TEXT NOT NULL,     -- JSON [{sha256, name, size}]
    account       TEXT NOT NULL,
    person        TEXT,
    route         TEXT NOT NULL,
    done          TEXT NOT NULL DEFAULT '[]',
    status        TEXT NOT NULL,
    reason        TEXT,              -- a rejection, a return by the township, a failed tender
    award         TEXT,              -- JSON: the award as it came down
    contract      TEXT,              -- JSON {contract_no, signed_on, file}
    delivery      TEXT,              -- JSON {received, passed, message, photo, checked_on}
    paid_fen      INTEGER NOT NULL DEFAULT 0,
    filed_at      TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS procurement_payments (
    entry      INTEGER PRIMARY KEY,  -- the ledger entry of the payment
    demand_id  TEXT NOT NULL,
    amount_fen INTEGER NOT NULL,
    paid_on    TEXT NOT NULL,        -- YYYY-MM-DD
    at         TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS procurement_files (
    sha256  TEXT NOT NULL,
    name    TEXT NOT NULL,
    size    INTEGER NOT NULL,
    account TEXT NOT NULL,
    entry   INTEGER NOT NULL,
    at      TEXT NOT NULL,
    PRIMARY KEY (entry, sha256)
);
"""

DEMAND_STATUS = {
    "pending": "村内审批中", "rejected": "村内驳回", "approved": "村内已同意", "submitted": "已报送乡镇", "bidding": "乡镇已通过，竞价中", "returned": "乡镇退回",
    "awarded": "已定标", "failed": "流标", "contracted": "已签合同", "accepted": "验收合格",
    "delivery_failed": "验收不合格", "paid": "已付款",
}  # fmt: skip
OVERRIDE_STATUS = {"pending": "待第二人审批", "approved": "已同意", "rejected": "已驳回"}
JSON_COLUMNS = (
    "lines",
    "invoice",
    "override",
    "purchase",
    "groups",
    "route",
    "done",
    "documents",
    "award",
    "contract",
    "delivery",
)


def _row(row: aiosqlite.Row) -> dict[str, Any]:
    out = dict(row)
    for key in JSON_COLUMNS:
        if isinstance(out.get(key), str):
            out[key] = json.loads(out[key])
    return out


async def _all(conn: aiosqlite.Connection, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    async with conn.execute(sql, params) as cur:
        return [_row(r) for r in await cur.fetchall()]


async def purchases(conn: aiosqlite.Connection) -> list[dict[str, Any]]:
    """Every recorded purchase, by date then id."""
    return await _all(conn, "SELECT * FROM procurement_purchases ORDER BY day, id")


async def purchase(conn: aiosqlite.Connection, purchase_id: str) -> dict[str, Any] | None:
    found = await _all(conn, "SELECT * FROM procurement_purchases WHERE id = ?", (purchase_id,))
    return found[0] if found else None


async def refusals(conn: aiosqlite.Connection, limit: int = 50) -> list[dict[str, Any]]:
    return await _all(conn, "SELECT * FROM procurement_refusals ORDER BY entry DESC LIMIT ?", (limit,))


async def overrides(conn: aiosqlite.Connection, status: str | None = None) -> list[dict[str, Any]]:
    where = " WHERE status = ?" if status else ""
    return await _all(
        conn, f"SELECT * FROM procurement_overrides{where} ORDER BY filed_at DESC, id DESC", (status,) if status else ()
    )


async def override(conn: aiosqlite.Connection, override_id: str) -> dict[str, Any] | None:
    found = await _all(conn, "SELECT * FROM procurement_overrides WHERE id = ?", (override_id,))
    return found[0] if found else None


async def demands(conn: aiosqlite.Connection, status: str | None = None) -> list[dict[str, Any]]:
    where = " WHERE status = ?" if status else ""
    return await _all(
        conn, f"SELECT * FROM procurement_demands{where} ORDER BY filed_at DESC, id DESC", (status,) if status else ()
    )


async def demand(conn: aiosqlite.Connection, demand_id: str) -> dict[str, Any] | None:
    found = await _all(conn, "SELECT * FROM procurement_demands WHERE id = ?", (demand_id,))
    return found[0] if found else None


async def payments(conn: aiosqlite.Connection, demand_id: str) -> list[dict[str, Any]]:
    return await _all(conn, "SELECT * FROM procurement_payments WHERE demand_id = ? ORDER BY entry", (demand_id,))


async def count(conn: aiosqlite.Connection, table: str) -> int:
    assert table in ("procurement_purchases", "procurement_overrides", "procurement_demands")
    async with conn.execute(f"SELECT COUNT(*) FROM {table}") as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def bytes_uploaded(conn: aiosqlite.Connection, account: str, since: str) -> int:
    """What ``account`` has stored through this module since ``since`` (UTC), against the daily quota."""
    async with conn.execute(
        "SELECT COALESCE(SUM(size), 0) FROM procurement_files WHERE account = ? AND at >= ?", (account, since)
    ) as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def file_known(conn: aiosqlite.Connection, sha256: str) -> str | None:
    """The name a file was filed under by this module, or None when this module never stored it."""
    async with conn.execute("SELECT name FROM procurement_files WHERE sha256 = ? LIMIT 1", (sha256,)) as cur:
        row = await cur.fetchone()
    return str(row[0]) if row else None
