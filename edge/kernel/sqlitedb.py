"""Opening the edge's own SQLite files (the working database, the console's store) the one way.

Autocommit mode (each class opens its own ``BEGIN IMMEDIATE`` transactions), rows by column name, WAL so
readers in other processes (CLI, console) never block the writer, a busy timeout because several processes
share a file, foreign keys on. ``synchronous`` is the caller's: FULL where a lost commit is lost for good.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

import aiosqlite

from edge.ledger.private import create_private


async def open_database(
    path: Path, synchronous: str, prepare: Callable[[aiosqlite.Connection], Awaitable[None]]
) -> aiosqlite.Connection:
    """Connect to ``path`` (created 0600 in a 0700 folder if missing) and ``prepare`` it (schema, upgrades);
    closed again if that fails, so a refused file is not left open."""
    create_private(path)
    conn = await aiosqlite.connect(path, isolation_level=None)
    try:
        conn.row_factory = aiosqlite.Row
        for pragma in ("journal_mode=WAL", f"synchronous={synchronous}", "busy_timeout=10000", "foreign_keys=ON"):
            await conn.execute(f"PRAGMA {pragma}")
        await prepare(conn)
    except BaseException:
        await conn.close()
        raise
    return conn


class Queries:
    """The two reads of a class that owns one connection (the working database, the console's store)."""

    conn: aiosqlite.Connection

    async def _one(self, sql: str, params: Iterable[Any] = ()) -> aiosqlite.Row | None:
        async with self.conn.execute(sql, tuple(params)) as cur:
            return await cur.fetchone()

    async def _all(self, sql: str, params: Iterable[Any] = ()) -> list[aiosqlite.Row]:
        async with self.conn.execute(sql, tuple(params)) as cur:
            return list(await cur.fetchall())
