"""What each ledger entry means for the working state: every registered part's handlers, applied in order.

Everything the edge decides is first appended to the ledger, then applied here. ``apply_entries`` is a pure
function of the database and the entries (time comes from the entry, decisions are in its body), so the
database can always be brought up to date from the ledger alone — after a crash between the two commits, or
from an empty database. Each part declares the kinds it writes and the handlers of those that change its
tables (:class:`edge.kernel.contract.Part`); the registry comes with the database (``WorkingDB.parts``).

No accepted entry can stop that, and none is skipped silently: an entry the database cannot take (a number
beyond SQLite's 64 bits, a body missing a field, a clash with a row already there) is rolled back to its
savepoint, and an entry under a registered part's prefix whose kind that part does not declare (a handler
that is missing, a kind nobody should write) is not applied; both are recorded in ``projection_anomalies``
with their ledger index and the reason (the console lists them on its ledger page), and the next entry
follows. The ledger is append-only, so without this one such entry would stop every step and every start of
the agent for good. Entries under no registered prefix (``config_received`` and its kin) change no table.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from collections.abc import Sequence

import aiosqlite

from edge.kernel.contract import Handler
from edge.kernel.db import WorkingDB
from edge.ledger import Entry

log = logging.getLogger("edge.kernel.projection")

# What an entry's own content can raise in a handler: a missing field (KeyError), a field of the wrong shape
# (TypeError, ValueError, AttributeError, IndexError), a number SQLite cannot hold (OverflowError), a value it
# cannot bind or store (InterfaceError, ProgrammingError, DataError), a clash with the rows already there
# (IntegrityError). Not listed, so they propagate: OperationalError (database locked, disk I/O error, disk
# full), a corrupt file (DatabaseError), MemoryError, cancellation. Those are about this host, not the entry:
# marking the entry as an anomaly would drop its effects for good although a later start could apply it, so
# the step, or the start, fails as before and the entry is applied once the host is sound. A host fault
# that shows up as one of the listed errors (a closed connection) fails again on the anomaly's own INSERT
# below, and propagates from there.
ENTRY_ERRORS: tuple[type[BaseException], ...] = (
    KeyError, TypeError, ValueError, AttributeError, IndexError, OverflowError,
    sqlite3.IntegrityError, sqlite3.InterfaceError, sqlite3.ProgrammingError, sqlite3.DataError,
)  # fmt: skip
_MAX_REASON_CHARS = 500
_CHINESE = re.compile(r"[\u3400-\u9fff]")

#: The anomaly reason of an entry whose kind its part does not declare starts with this.
UNDECLARED = "条目种类未在所属部分声明"


async def apply_entries(db: WorkingDB, entries: Sequence[Entry]) -> None:
    """Apply committed ledger entries, in one transaction with the new ``applied_upto``.

    Entries at or below ``applied_upto`` are skipped, so applying twice is harmless.
    """
    parts = db.parts
    if entries and not parts.registered:
        # Every entry would count as applied with no effect: a database opened without the parts must not move.
        raise RuntimeError("工作数据库未登记任何部分 the working database was opened without the registered parts")
    async with db.transaction() as conn:
        async with conn.execute("SELECT value FROM meta WHERE key = 'applied_upto'") as cur:
            row = await cur.fetchone()
        upto = int(row[0]) if row else -1
        for entry in entries:
            if entry.index <= upto:
                continue
            if entry.index != upto + 1:
                raise RuntimeError(f"台账条目不连续 ledger entry {entry.index} applied after {upto}")
            part = parts.owner(entry.kind)
            if part is not None and entry.kind not in part.kinds:
                detail = f"part {part.name} does not declare the kind {entry.kind!r:.100}"
                await _anomaly(conn, entry, f"{UNDECLARED}：{part.title}不写这类条目", detail)
            elif (handler := parts.handlers.get(entry.kind)) is not None:
                await apply_guarded(conn, handler, entry)
            upto = entry.index
        await conn.execute("UPDATE meta SET value = ? WHERE key = 'applied_upto'", (str(upto),))


async def apply_guarded(conn: aiosqlite.Connection, handler: Handler, entry: Entry) -> None:
    """Apply one entry inside its own savepoint: all of its rows, or none of them and an anomaly row."""
    await conn.execute("SAVEPOINT entry")
    try:
        await handler(conn, entry)
    except ENTRY_ERRORS as exc:
        await conn.execute("ROLLBACK TO entry")
        await conn.execute("RELEASE entry")
        await _anomaly(conn, entry, _reason(exc), f"{type(exc).__name__}: {exc}")
        return
    await conn.execute("RELEASE entry")


async def _anomaly(conn: aiosqlite.Connection, entry: Entry, reason: str, detail: str) -> None:
    """Record why an entry could not be applied: ``reason`` in Chinese for the ledger page, the technical
    ``detail`` for the log only."""
    log.error(
        "台账条目 %d (%s) 无法应用，已记为异常 ledger entry cannot be applied: %s (%.300s)",
        entry.index, entry.kind, reason, detail,
    )  # fmt: skip
    request_id = entry.body.get("request_id")
    await conn.execute(
        "INSERT OR IGNORE INTO projection_anomalies (entry, kind, request_id, reason, ts) VALUES (?, ?, ?, ?, ?)",
        (entry.index, entry.kind, request_id if isinstance(request_id, str) else None, reason, entry.ts),
    )


def _reason(exc: BaseException) -> str:
    """Why an entry could not be applied, in Chinese for the ledger page (the exception itself goes to the log):
    a part's own explanation (one in Chinese, as a handler raises it) stands alone, else the kind of problem."""
    said = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
    if _CHINESE.search(said):
        text = said
    elif isinstance(exc, KeyError):
        text = "条目缺少必需的字段"
    elif isinstance(exc, OverflowError):
        text = "数值超出 64 位整数范围"
    elif isinstance(exc, sqlite3.IntegrityError):
        text = "与工作数据库中已有记录冲突"
    else:
        text = "条目内容格式错误"
    return text[:_MAX_REASON_CHARS]
