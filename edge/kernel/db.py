"""The edge's working database (``edge.sqlite3``): a projection of the ledger, plus the command queue.

The ledger is the record; this database follows it (:mod:`edge.kernel.projection`). ``meta.applied_upto``
is the index of the last ledger entry applied here, written in the same transaction as its effects, so after
a crash between the ledger's commit and this one the agent re-applies exactly what is missing: nothing is
lost and nothing applied twice. Each registered part adds its own tables (``Part.schema``); the kernel's are
the bookkeeping every part shares: ``meta``, the queue of steps other processes hand to the writer
(``commands``), and the entries the working state could not take (``projection_anomalies``).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Self

import aiosqlite

from edge.kernel.contract import Part
from edge.kernel.parts import Parts
from edge.kernel.sqlitedb import Queries, open_database

DB_FILENAME = "edge.sqlite3"
SCHEMA_VERSION = 4  # 2: firmware releases; 3: press photos; 4: request records. Older versions upgrade by running the schema again

KERNEL_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS commands (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL,
    args        TEXT NOT NULL,
    status      TEXT NOT NULL,     -- queued | running | done | failed | cancelled
    result      TEXT,
    created_at  TEXT NOT NULL,
    finished_at TEXT
);
CREATE TABLE IF NOT EXISTS projection_anomalies (  -- ledger entries the working state could not take (kernel/projection.py)
    entry      INTEGER PRIMARY KEY,  -- the entry's ledger index; the entry itself stays in the ledger as written
    kind       TEXT NOT NULL,
    request_id TEXT,                 -- the request it names, if any: a new request never takes that id
    reason     TEXT NOT NULL,        -- why it could not be applied, for the admin and the supervisors
    ts         TEXT NOT NULL         -- the entry's time
);
"""


class WorkingDB(Queries):
    """One aiosqlite connection to ``edge.sqlite3``; the caller serialises steps (see Recorder)."""

    #: The tables a subclass's own queries read (a part's view of the database), made even when it is opened
    #: without the parts, as a reader of a new data folder may be.
    TABLES = ""

    def __init__(self, conn: aiosqlite.Connection, path: Path, parts: Sequence[Part] = ()) -> None:
        self.conn = conn
        self.path = path
        self.parts = Parts(parts)

    @classmethod
    async def open(cls, data_dir: Path, parts: Sequence[Part] = ()) -> Self:
        """Open (creating or upgrading) the working database with the tables of ``parts``: the registered parts
        (``edge.modules.PARTS``) wherever entries are applied; a reader or the command queue may pass none."""
        path = data_dir / DB_FILENAME
        registry = Parts(parts)

        async def prepare(conn: aiosqlite.Connection) -> None:
            async with conn.execute("PRAGMA user_version") as cur:
                row = await cur.fetchone()
            version = row[0] if row else 0
            if version > SCHEMA_VERSION:
                raise RuntimeError(f"边缘数据库版本 {version} 不支持 unsupported edge database version {version}")
            # One transaction (left open by the script) for every part's tables and their migrations.
            schema = KERNEL_SCHEMA + cls.TABLES + "".join(p.schema for p in registry.parts if p.schema != cls.TABLES)
            await conn.executescript(f"BEGIN IMMEDIATE;{schema}INSERT OR IGNORE INTO meta VALUES ('applied_upto', '-1');")
            try:
                for part in registry.parts:
                    if part.migrate is not None:
                        await part.migrate(conn, version)
                await conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
                await conn.execute("COMMIT")
            except BaseException:
                await conn.execute("ROLLBACK")
                raise

        # FULL: sealed keys and queued steps are not in the ledger, so keep every commit durable
        return cls(await open_database(path, "FULL", prepare), path, parts)

    async def close(self) -> None:
        await self.conn.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """``BEGIN IMMEDIATE`` … ``COMMIT``, rolled back on any error (also cancellation)."""
        await self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
            await self.conn.execute("COMMIT")
        except BaseException:
            if self.conn.in_transaction:
                await self.conn.execute("ROLLBACK")
            raise

    # -- meta ------------------------------------------------------------------

    async def applied_upto(self) -> int:
        row = await self._one("SELECT value FROM meta WHERE key = 'applied_upto'")
        return int(row["value"]) if row else -1

    async def projection_anomalies(self) -> list[dict[str, Any]]:
        """Ledger entries that could not be applied ({entry, kind, request_id, reason, ts}), oldest first."""
        rows = await self._all("SELECT entry, kind, request_id, reason, ts FROM projection_anomalies ORDER BY entry")
        return [dict(r) for r in rows]

    async def unapplied_request_ids(self) -> set[str]:
        """Request ids named by entries that could not be applied: taken in the ledger, though not in this database."""
        rows = await self._all("SELECT request_id FROM projection_anomalies WHERE request_id IS NOT NULL")
        return {r["request_id"] for r in rows}


    # -- the command queue (steps handed over by other processes) ----------------

    async def enqueue(self, kind: str, args: dict[str, Any], created_at: str) -> int:
        cur = await self.conn.execute(
            "INSERT INTO commands (kind, args, status, created_at) VALUES (?, ?, 'queued', ?)",
            (kind, json.dumps(args, ensure_ascii=False), created_at),
        )
        assert cur.lastrowid is not None
        return cur.lastrowid

    async def claim_command(self) -> tuple[int, str, dict[str, Any]] | None:
        """Take the oldest queued command (atomically, so two writers never run one twice)."""
        async with self.transaction() as conn:
            async with conn.execute("SELECT id, kind, args FROM commands WHERE status = 'queued' ORDER BY id LIMIT 1") as cur:
                row = await cur.fetchone()
            if row is None:
                return None
            await conn.execute("UPDATE commands SET status = 'running' WHERE id = ?", (row["id"],))
        return row["id"], row["kind"], json.loads(row["args"])

    async def has_queued_commands(self) -> bool:
        return await self._one("SELECT 1 FROM commands WHERE status = 'queued' LIMIT 1") is not None

    async def finish_command(self, command_id: int, ok: bool, result: dict[str, Any], finished_at: str) -> None:
        await self.conn.execute(
            "UPDATE commands SET status = ?, result = ?, finished_at = ? WHERE id = ?",
            ("done" if ok else "failed", json.dumps(result, ensure_ascii=False), finished_at, command_id),
        )

    async def command(self, command_id: int) -> tuple[str, dict[str, Any] | None]:
        row = await self._one("SELECT status, result FROM commands WHERE id = ?", (command_id,))
        if row is None:
            return "missing", None
        return row["status"], json.loads(row["result"]) if row["result"] else None

    async def cancel_command(self, command_id: int, finished_at: str) -> bool:
        """Withdraw a command nobody has started; False if a writer already took it."""
        cur = await self.conn.execute(
            "UPDATE commands SET status = 'cancelled', finished_at = ? WHERE id = ? AND status = 'queued'",
            (finished_at, command_id),
        )
        return cur.rowcount == 1

    async def interrupt_running_commands(self, finished_at: str) -> None:
        """A writer died while running these: say so instead of leaving their callers guessing."""
        result = json.dumps(
            {"ok": False, "error": {"code": "interrupted", "type": "Unavailable",
                                    "message": "处理中断，请查看申请状态 interrupted; check the request's state"}},
            ensure_ascii=False,
        )  # fmt: skip
        await self.conn.execute(
            "UPDATE commands SET status = 'failed', result = ?, finished_at = ? WHERE status = 'running'",
            (result, finished_at),
        )
