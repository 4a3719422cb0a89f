"""What each small-project entry does to the working state: a function of the entry only.

A body the tables cannot take (a catalogue that does not parse, an approval of a project not pending) raises,
and the kernel's projection records the entry as an anomaly and goes on (``edge.kernel.projection``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import aiosqlite

import edge.modules.small_project.kinds as K
import edge.modules.small_project.rules as rules  # noqa: PLR0402 (no cycle through the package)
from edge.kernel.contract import Handler
from edge.ledger import Entry

SCHEMA = """
CREATE TABLE IF NOT EXISTS small_project_catalogues (
    version   TEXT PRIMARY KEY,
    effective TEXT NOT NULL,
    items     TEXT NOT NULL,   -- JSON, as the township's document carries them
    document  TEXT NOT NULL,   -- the document's id (or "demo")
    entry     INTEGER NOT NULL,
    at        TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS small_project_projects (
    id        TEXT PRIMARY KEY,
    name      TEXT NOT NULL,
    category  TEXT NOT NULL,
    place     TEXT NOT NULL,
    scope     TEXT NOT NULL,
    catalogue_version TEXT NOT NULL,
    lines     TEXT NOT NULL,   -- JSON: each priced line
    total_fen INTEGER NOT NULL,
    flagged   INTEGER NOT NULL, -- lines priced above their guide price
    route     TEXT NOT NULL,
    done      TEXT NOT NULL DEFAULT '[]',
    status    TEXT NOT NULL,   -- pending | approved | rejected
    reason    TEXT,
    account   TEXT NOT NULL,
    person    TEXT,
    filed_at  TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
"""
STATUS = {"pending": "待审批", "approved": "已批准", "rejected": "已驳回"}


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


async def catalogue(conn: aiosqlite.Connection, entry: Entry) -> None:
    parsed = rules.parse_catalogue(entry.body)  # a document that does not parse is an anomaly
    document = entry.body.get("document") or {}
    await conn.execute(
        "INSERT INTO small_project_catalogues (version, effective, items, document, entry, at) VALUES (?, ?, ?, ?, ?, ?)",
        (parsed.version, parsed.effective, _json(rules.catalogue_body(parsed)["items"]), str(document.get("id", "")), entry.index, entry.ts),
    )  # fmt: skip


async def filed(conn: aiosqlite.Connection, entry: Entry) -> None:
    b = entry.body
    await conn.execute(
        "INSERT INTO small_project_projects (id, name, category, place, scope, catalogue_version, lines, total_fen, flagged, route,"
        " status, account, person, filed_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?)",
        (b["id"], b["name"], b["category"], b["place"], b["scope"], b["catalogue_version"], _json(b["lines"]), int(b["total_fen"]),
         sum(1 for line in b["lines"] if line["above_guide"]), _json(b["route"]), b["account"], b.get("person"), entry.ts, entry.ts),
    )  # fmt: skip


async def approval(conn: aiosqlite.Connection, entry: Entry) -> None:
    project_id = entry.body["project_id"]
    async with conn.execute(
        "SELECT done FROM small_project_projects WHERE id = ? AND status = 'pending'", (project_id,)
    ) as cur:
        row = await cur.fetchone()
    if row is None:
        raise KeyError(f"{project_id} 不在待审批状态")
    done = _json([*json.loads(row[0]), entry.body["approver"]])
    await conn.execute(
        "UPDATE small_project_projects SET done = ?, updated_at = ? WHERE id = ?", (done, entry.ts, project_id)
    )


def _decided(status: str) -> Handler:
    async def apply(conn: aiosqlite.Connection, entry: Entry) -> None:
        cur = await conn.execute(
            "UPDATE small_project_projects SET status = ?, reason = ?, updated_at = ? WHERE id = ? AND status = 'pending'",
            (status, entry.body.get("reason"), entry.ts, entry.body["project_id"]),
        )
        if cur.rowcount != 1:
            raise KeyError(f"{entry.body['project_id']} 不在待审批状态")

    return apply


PROJECTION: Mapping[str, Handler] = {
    K.CATALOGUE: catalogue,
    K.FILED: filed,
    K.APPROVAL: approval,
    K.APPROVED: _decided("approved"),
    K.REJECTED: _decided("rejected"),
}


# -- reading the working state ------------------------------------------------------------------------------


def _rows(cur: aiosqlite.Cursor, rows: Any) -> list[dict[str, Any]]:
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in rows]


async def current_catalogue(conn: aiosqlite.Connection) -> rules.Catalogue | None:
    """The catalogue in force: the latest effective date, then the latest received."""
    async with conn.execute(
        "SELECT version, effective, items FROM small_project_catalogues ORDER BY effective DESC, entry DESC LIMIT 1"
    ) as cur:
        row = await cur.fetchone()
    if row is None:
        return None
    return rules.parse_catalogue({"version": row[0], "effective": row[1], "items": json.loads(row[2])})


def _project(row: dict[str, Any]) -> dict[str, Any]:
    return {
        **row,
        "lines": json.loads(row["lines"]),
        "route": json.loads(row["route"]),
        "done": json.loads(row["done"]),
    }


async def projects(conn: aiosqlite.Connection, status: str | None = None) -> list[dict[str, Any]]:
    sql = (
        "SELECT * FROM small_project_projects"
        + (" WHERE status = ?" if status else "")
        + " ORDER BY filed_at DESC, id DESC"
    )
    async with conn.execute(sql, (status,) if status else ()) as cur:
        return [_project(r) for r in _rows(cur, await cur.fetchall())]


async def project(conn: aiosqlite.Connection, project_id: str) -> dict[str, Any] | None:
    async with conn.execute("SELECT * FROM small_project_projects WHERE id = ?", (project_id,)) as cur:
        found = _rows(cur, await cur.fetchall())
    return _project(found[0]) if found else None


async def count(conn: aiosqlite.Connection) -> int:
    async with conn.execute("SELECT COUNT(*) FROM small_project_projects") as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0
