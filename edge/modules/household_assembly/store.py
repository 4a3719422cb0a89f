"""Reading the household assembly's tables: the rows every page, list and step of the desk starts from."""

from __future__ import annotations

import json
from typing import Any

import aiosqlite

from edge.modules.household_assembly.rules import Household


async def _rows(conn: aiosqlite.Connection, sql: str, args: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    async with conn.execute(sql, args) as cur:
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in await cur.fetchall()]


async def households(conn: aiosqlite.Connection) -> dict[str, Household]:
    rows = await _rows(conn, "SELECT * FROM ha_households ORDER BY grp, id")
    return {r["id"]: Household(r["id"], r["head"], r["members"], r["grp"], r["phone"]) for r in rows}


def _meeting(row: dict[str, Any]) -> dict[str, Any]:
    row["agenda"] = json.loads(row["agenda"])
    row["cadres"] = json.loads(row["cadres"])
    row["results"] = json.loads(row["results"]) if row["results"] else None
    return row


async def meetings(conn: aiosqlite.Connection) -> list[dict[str, Any]]:
    return [_meeting(r) for r in await _rows(conn, "SELECT * FROM ha_meetings ORDER BY year DESC")]


async def meeting(conn: aiosqlite.Connection, meeting_id: str) -> dict[str, Any] | None:
    rows = await _rows(conn, "SELECT * FROM ha_meetings WHERE id = ?", (meeting_id,))
    return _meeting(rows[0]) if rows else None


async def notices(conn: aiosqlite.Connection, meeting_id: str) -> dict[str, dict[str, Any]]:
    return {
        r["household"]: r for r in await _rows(conn, "SELECT * FROM ha_notices WHERE meeting_id = ?", (meeting_id,))
    }


async def signins(conn: aiosqlite.Connection, meeting_id: str) -> dict[str, dict[str, Any]]:
    return {
        r["household"]: r
        for r in await _rows(conn, "SELECT * FROM ha_signins WHERE meeting_id = ? ORDER BY at", (meeting_id,))
    }


async def suggestions(conn: aiosqlite.Connection, meeting_id: str) -> list[dict[str, Any]]:
    return await _rows(conn, "SELECT * FROM ha_suggestions WHERE meeting_id = ? ORDER BY at, id", (meeting_id,))


async def questions(conn: aiosqlite.Connection, meeting_id: str) -> list[dict[str, Any]]:
    return await _rows(conn, "SELECT * FROM ha_questions WHERE meeting_id = ? ORDER BY at, id", (meeting_id,))


async def sheets(conn: aiosqlite.Connection, meeting_id: str) -> list[dict[str, Any]]:
    rows = await _rows(conn, "SELECT * FROM ha_sheets WHERE meeting_id = ? ORDER BY sheet", (meeting_id,))
    for r in rows:
        r["counts"] = json.loads(r["counts"])
    return rows


async def talks(conn: aiosqlite.Connection, meeting_id: str) -> list[dict[str, Any]]:
    return await _rows(conn, "SELECT * FROM ha_talks WHERE meeting_id = ? ORDER BY at", (meeting_id,))


async def commitments(conn: aiosqlite.Connection, meeting_id: str | None = None) -> list[dict[str, Any]]:
    where, args = ("WHERE meeting_id = ?", (meeting_id,)) if meeting_id else ("", ())
    return await _rows(conn, f"SELECT * FROM ha_commitments {where} ORDER BY deadline, id", args)


async def progress_history(conn: aiosqlite.Connection, commitment_id: str) -> list[dict[str, Any]]:
    return await _rows(conn, "SELECT * FROM ha_progress WHERE commitment = ? ORDER BY at", (commitment_id,))


async def count(conn: aiosqlite.Connection, table: str, meeting_id: str) -> int:
    assert table in ("ha_suggestions", "ha_questions", "ha_commitments")  # a constant of this module, never input
    async with conn.execute(f"SELECT COUNT(*) FROM {table} WHERE meeting_id = ?", (meeting_id,)) as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0
