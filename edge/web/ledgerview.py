"""Reading the ledger for supervisors: a filtered timeline, Chinese summaries, CSV export.

Reads ``ledger.sqlite3`` through its own read-only connection (WAL: readers
never block the agent's appends) and never writes.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import aiosqlite

from edge.kernel.accounts import ACCOUNT_CREATED, ACCOUNTS, ROLE_NAMES
from edge.kernel.config import EdgeConfig
from edge.kernel.errors import InputError
from edge.kernel.parts import Parts
from edge.kernel.wording import actor_name, person_name
from edge.ledger import Entry
from edge.ledger.localtime import local_time, utc_bound
from edge.ledger.schema import DB_FILENAME, ENTRY_COLUMNS
from edge.ledger.wire import ANOMALY_NAMES as WIRE_ANOMALY_NAMES

PROJECTION_FAILED = "projection_failed"  # an entry the working state could not take (edge/projection.py)

ANOMALY_NAMES = {**WIRE_ANOMALY_NAMES, PROJECTION_FAILED: "台账条目无法应用"}
NO_PARTS = Parts(())  # no part registered: the kernel words its own account entries, shows any other as written


def anomaly_name(code: object) -> str:
    code = str(code)
    if code in ANOMALY_NAMES:
        return ANOMALY_NAMES[code]
    if code.startswith("grant_refused_"):
        return f"设备拒绝授权({code.removeprefix('grant_refused_')})"
    return code


@dataclass(frozen=True)
class LedgerFilter:
    kind: str | None = None  # an exact kind, or a group "seal.*"
    groups: tuple[str, ...] | None = None  # any of these groups ("seal.*", ...)
    device_ids: tuple[str, ...] | None = None  # None: any
    since: date | None = None  # local (Asia/Shanghai) dates, inclusive
    until: date | None = None
    anomaly: bool = False
    request_id: str | None = None
    failed_entries: tuple[int, ...] = ()  # entries the working state could not take: anomalies too

    def where(self) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        if self.kind:
            if self.kind.endswith(".*"):
                clauses.append("kind LIKE ? ESCAPE '\\'")
                params.append(self.kind[:-1].replace("_", "\\_") + "%")
            else:
                clauses.append("kind = ?")
                params.append(self.kind)
        if self.groups:
            clauses.append("(" + " OR ".join("kind LIKE ? ESCAPE '\\'" for _ in self.groups) + ")")
            params.extend(g[:-1].replace("_", "\\_") + "%" for g in self.groups)
        if self.device_ids is not None:
            marks = ",".join("?" for _ in self.device_ids) or "NULL"
            clauses.append(f"json_extract(body, '$.device_id') IN ({marks})")
            params.extend(self.device_ids)
        if self.since is not None:
            clauses.append("ts >= ?")
            params.append(utc_bound(self.since))
        if self.until is not None:
            clauses.append("ts < ?")
            params.append(utc_bound(self.until + timedelta(days=1)))
        if self.anomaly:
            flagged = "json_extract(body, '$.anomaly') IS NOT NULL"
            if self.failed_entries:
                flagged = f"({flagged} OR idx IN ({','.join('?' * len(self.failed_entries))}))"
                params.extend(self.failed_entries)
            clauses.append(flagged)
        if self.request_id:
            clauses.append("json_extract(body, '$.request_id') = ?")
            params.append(self.request_id)
        return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


def local_day(text: str | None, what: str) -> date | None:
    """A date typed in a filter form (YYYY-MM-DD, local), None when left empty; a clear error otherwise."""
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(f"{what}格式应为 年-月-日，例如 2025-03-01", "bad_date") from None


class LedgerReader:
    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / DB_FILENAME
        self._conn: aiosqlite.Connection | None = None

    async def _connection(self) -> aiosqlite.Connection:
        if self._conn is None:
            self._conn = await aiosqlite.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True)
            await self._conn.execute("PRAGMA busy_timeout=5000")
        return self._conn

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    async def query(self, flt: LedgerFilter, before: int | None = None, limit: int = 100) -> list[Entry]:
        """Newest first; ``before``: only entries with a lower index (paging)."""
        where, params = flt.where()
        if before is not None:
            where += (" AND " if where else " WHERE ") + "idx < ?"
            params.append(before)
        conn = await self._connection()
        rows = await conn.execute_fetchall(
            f"SELECT {ENTRY_COLUMNS} FROM entries{where} ORDER BY idx DESC LIMIT ?", (*params, limit)
        )
        return [Entry.from_row(r) for r in rows]

    async def iterate(self, flt: LedgerFilter, batch: int = 1000) -> AsyncIterator[Entry]:
        """Oldest first, every matching entry (for CSV export)."""
        where, params = flt.where()
        conn = await self._connection()
        last = -1
        while True:
            clause = where + (" AND " if where else " WHERE ") + "idx > ?"
            rows = await conn.execute_fetchall(
                f"SELECT {ENTRY_COLUMNS} FROM entries{clause} ORDER BY idx LIMIT ?", (*params, last, batch)
            )
            if not rows:
                return
            for row in rows:
                entry = Entry.from_row(row)
                last = entry.index
                yield entry

    async def count(self, flt: LedgerFilter) -> int:
        where, params = flt.where()
        conn = await self._connection()
        rows = list(await conn.execute_fetchall(f"SELECT COUNT(*) FROM entries{where}", params))
        return int(rows[0][0])

    async def kinds(self) -> list[str]:
        conn = await self._connection()
        rows = await conn.execute_fetchall("SELECT DISTINCT kind FROM entries ORDER BY kind")
        return [r[0] for r in rows]


def summarize(entry: Entry, config: EdgeConfig, device_names: dict[str, str], parts: Parts = NO_PARTS) -> str:
    """One line of Chinese for a person reading the timeline: an entry as the part that writes it words it
    (``Part.summarize``), the kernel's account entries as the kernel does, any other its kind's name and body.

    A part's words are a function of the entry and the config: the board an entry is about (``device_id``) is
    handed to them under ``device_name`` as the console names it (an enrolled board's name)."""
    b = entry.body
    k = entry.kind
    if k in ACCOUNTS.kinds:
        person = f"，名册人员 {person_name(config, b['person'])}" if b.get("person") else ""
        text = f"{actor_name(b.get('by'))} {parts.kind_name(k)} {b.get('username')}{person}"
        if k == ACCOUNT_CREATED:
            roles = "、".join(ROLE_NAMES.get(r, r) for r in b.get("roles", []))
            text += f"（{roles}）" + ("，本人须先改密码才能审批" if b.get("must_change_password") else "")
        return text
    device = device_names.get(str(b.get("device_id")))
    worded = parts.summarize(replace(entry, body={**b, "device_name": device}) if device else entry, config)
    if worded:
        return worded
    return f"{parts.kind_name(k)} " + json.dumps(b, ensure_ascii=False, sort_keys=True)[:200]


def summary(entry: Entry, config: EdgeConfig, device_names: dict[str, str], parts: Parts = NO_PARTS) -> str:
    """:func:`summarize`, or for a body without the fields its kind promises (such an entry could not be
    applied either: it is a projection anomaly) its kind's name, so one bad entry never breaks a page. The body
    as written follows only where no part words the kind: a part that words its kinds may hold in a body what
    only its own pages show (a whistleblower's lookup tag, a ciphertext)."""
    try:
        return summarize(entry, config, device_names, parts)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError):
        incomplete = f"{parts.kind_name(entry.kind)}（内容不完整）"
        owner = parts.owner(entry.kind)
        if owner is not None and owner.summarize is not None:
            return incomplete
        return incomplete + json.dumps(entry.body, ensure_ascii=False, sort_keys=True)[:200]


CSV_COLUMNS = ("序号", "时间(北京时间)", "类型", "类型名称", "设备", "申请编号", "异常", "摘要", "条目哈希", "内容JSON")


def csv_row(
    entry: Entry, config: EdgeConfig, device_names: dict[str, str], failed: Collection[int] = (), parts: Parts = NO_PARTS
) -> list[str]:
    """One CSV line; ``failed``: the entries the working state could not take, flagged as anomalies; ``parts``:
    the registered parts, whose kinds' names and summaries the line shows."""
    b = entry.body
    device = device_names.get(str(b.get("device_id")), str(b.get("device_id") or ""))
    anomaly = str(b.get("anomaly") or (PROJECTION_FAILED if entry.index in failed else ""))
    return [
        str(entry.index), local_time(entry.ts), entry.kind, parts.kind_name(entry.kind), device, str(b.get("request_id") or ""),
        anomaly_name(anomaly) if anomaly else "", summary(entry, config, device_names, parts), entry.hash.hex(),
        json.dumps(b, ensure_ascii=False, sort_keys=True),
    ]  # fmt: skip


