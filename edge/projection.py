"""What each ledger entry means for the working state: the kinds, and applying them to the database.

Everything the edge decides is first appended to the ledger, then applied
here. ``apply_entries`` is a pure function of the database and the entries
(time comes from the entry, decisions are in its body), so the database can
always be brought up to date from the ledger alone — after a crash between the
two commits, or from an empty database.

No accepted entry can stop that: an entry the database cannot take (a number
beyond SQLite's 64 bits, a body missing a field, a clash with a row already
there) is rolled back to its savepoint, recorded in ``projection_anomalies``
with its ledger index and the reason, and the next entry follows. The ledger
is append-only, so without this one such entry would stop every step and
every start of the agent for good.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import aiosqlite

from edge.db import APPROVED, EXPIRED, FAILED, G_ACCEPTED, G_CLOSED, G_REFUSED, G_SENT, GRANTED, IN_USE, PENDING, EdgeDB
from edge.db import CLOSED as R_CLOSED
from edge.db import REJECTED as R_REJECTED
from edge.ledger import Entry

# -- entry kinds -------------------------------------------------------------------

FILED = "seal_request.filed"
APPROVAL = "seal_request.approval"
APPROVED_KIND = "seal_request.approved"
APPROVAL_REFUSED = "seal_request.approval_refused"
REJECTED = "seal_request.rejected"
EXPIRED_KIND = "seal_request.expired"
CLOSED = "seal_request.closed"
FAILED_KIND = "seal_request.failed"
GRANT_ISSUED = "grant.issued"
GRANT_UNSENT = "grant.unsent"
GRANT_LAPSED = "grant.lapsed"
DEVICE_ENROLLED = "device.enrolled"
DEVICE_ONLINE = "device.online"
DEVICE_OFFLINE = "device.offline"
DEVICE_EVENTS_LOST = "device.events_lost"
DEVICE_ROGUE_GRANT = "device.rogue_grant"  # a grant the edge never issued was used: no grants until re-provisioned
DEVICE_MALFORMED_EVENT = "device.malformed_event"  # an authenticated event no firmware sends: recorded in its place
DEVICE_BLOCK_CLEARED = "device.block_cleared"  # re-provisioned with a new key: grants again
FIRMWARE_ALLOWED = "firmware.release_allowed"
FIRMWARE_REVOKED = "firmware.release_revoked"
SECURITY_FLOOR = "firmware.security_floor"
FIRMWARE_FLASHED = "firmware.flashed"
FIRMWARE_FLASH_FAILED = "firmware.flash_failed"
MAINTENANCE_ISSUED = "maintenance.issued"
AGENT_STARTED = "agent.started"
AGENT_STOPPED = "agent.stopped"
SEAL_PREFIX = "seal."  # + the device event kind: seal.press, seal.relocked, seal.boot, ...
# Photo evidence (edge/evidence.py): each names its press by the press's ledger entry.
PHOTO = "photo.taken"
CAPTURE_FAILED = "photo.capture_failed"
PHOTO_OCR = "photo.ocr"
PHOTO_CHECK = "photo.check"
DOCUMENT_OCR = "document.ocr"
PHOTO_KINDS = (PHOTO, CAPTURE_FAILED, PHOTO_OCR, PHOTO_CHECK)
# Console accounts (edge/web/accounts.py): who may act as which person of the roster, and who said so
# ("by": an admin's account, or "host:<user>" for the host's operator at the command line). The accounts
# themselves live in the console's store: these entries change nothing in the working database.
ACCOUNT_CREATED = "account.created"  # also binds the account to its roster person, for good
ACCOUNT_DISABLED = "account.disabled"
ACCOUNT_ENABLED = "account.enabled"
ACCOUNT_PASSWORD_RESET = "account.password_reset"  # by an admin: the owner must set their own before approving
ACCOUNT_PASSWORD_CHANGED = "account.password_changed"  # by the owner
ACCOUNT_KINDS = (ACCOUNT_CREATED, ACCOUNT_DISABLED, ACCOUNT_ENABLED, ACCOUNT_PASSWORD_RESET, ACCOUNT_PASSWORD_CHANGED)


log = logging.getLogger("edge.projection")

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


def seal_kind(event_kind: str) -> str:
    return SEAL_PREFIX + event_kind


_Apply = Callable[[aiosqlite.Connection, Entry], Awaitable[None]]
_APPLY: dict[str, _Apply] = {}


def _applies(kind: str) -> Callable[[_Apply], _Apply]:
    def register(fn: _Apply) -> _Apply:
        _APPLY[kind] = fn
        return fn

    return register


async def apply_entries(db: EdgeDB, entries: Sequence[Entry]) -> None:
    """Apply committed ledger entries, in one transaction with the new ``applied_upto``.

    Entries at or below ``applied_upto`` are skipped, so applying twice is harmless.
    """
    async with db.transaction() as conn:
        async with conn.execute("SELECT value FROM meta WHERE key = 'applied_upto'") as cur:
            row = await cur.fetchone()
        upto = int(row[0]) if row else -1
        for entry in entries:
            if entry.index <= upto:
                continue
            if entry.index != upto + 1:
                raise RuntimeError(f"台账条目不连续 ledger entry {entry.index} applied after {upto}")
            handler = _APPLY.get(entry.kind)
            if handler is None and entry.kind.startswith(SEAL_PREFIX):
                handler = _apply_seal_event
            if handler is not None:
                await _apply_guarded(conn, handler, entry)
            upto = entry.index
        await conn.execute("UPDATE meta SET value = ? WHERE key = 'applied_upto'", (str(upto),))


async def _apply_guarded(conn: aiosqlite.Connection, handler: _Apply, entry: Entry) -> None:
    """Apply one entry inside its own savepoint: all of its rows, or none of them and an anomaly row."""
    await conn.execute("SAVEPOINT entry")
    try:
        await handler(conn, entry)
    except ENTRY_ERRORS as exc:
        await conn.execute("ROLLBACK TO entry")
        await conn.execute("RELEASE entry")
        reason = _reason(exc)
        log.error("台账条目 %d (%s) 无法应用，已记为异常 ledger entry cannot be applied: %s", entry.index, entry.kind, reason)
        request_id = entry.body.get("request_id")
        await conn.execute(
            "INSERT OR IGNORE INTO projection_anomalies (entry, kind, request_id, reason, ts) VALUES (?, ?, ?, ?, ?)",
            (entry.index, entry.kind, request_id if isinstance(request_id, str) else None, reason, entry.ts),
        )
        return
    await conn.execute("RELEASE entry")


def _reason(exc: BaseException) -> str:
    """Why an entry could not be applied, in Chinese for the admin, with the technical detail after it."""
    if isinstance(exc, KeyError):
        text = f"条目缺少字段 {exc.args[0]!r:.100}" if exc.args else "条目缺少字段"
    elif isinstance(exc, OverflowError):
        text = f"数值超出 64 位整数范围：{exc}"
    elif isinstance(exc, sqlite3.IntegrityError):
        text = f"与工作数据库中已有记录冲突：{exc}"
    else:
        text = f"条目内容格式错误：{type(exc).__name__}: {exc}"
    return text[:_MAX_REASON_CHARS]


# -- seal requests -------------------------------------------------------------------


@_applies(FILED)
async def _filed(conn: aiosqlite.Connection, e: Entry) -> None:
    b = e.body
    await conn.execute(
        "INSERT INTO requests (id, seq, status, applicant, matter, seal, presses, amount_fen, device_id, device_name,"
        " custodian, document, route, filed_at, filed_entry) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            b["request_id"], b["seq"], PENDING, b["applicant"], b["matter"], b["seal"], b["presses"], b["amount_fen"],
            b["device_id"], b["device_name"], b["custodian"], json.dumps(b["document"], ensure_ascii=False),
            json.dumps(b["route"], ensure_ascii=False), e.ts, e.index,
        ),
    )  # fmt: skip


@_applies(APPROVAL)
async def _approval(conn: aiosqlite.Connection, e: Entry) -> None:
    await conn.execute(
        "INSERT INTO approvals (request_id, person, decision, reason, at, entry) VALUES (?, ?, 'approve', NULL, ?, ?)",
        (e.body["request_id"], e.body["approver"], e.ts, e.index),
    )


@_applies(APPROVED_KIND)
async def _approved(conn: aiosqlite.Connection, e: Entry) -> None:
    await conn.execute(
        "UPDATE requests SET status = ?, approved_at = ? WHERE id = ? AND status = ?",
        (APPROVED, e.ts, e.body["request_id"], PENDING),
    )


@_applies(REJECTED)
async def _rejected(conn: aiosqlite.Connection, e: Entry) -> None:
    b = e.body
    await conn.execute(
        "INSERT INTO approvals (request_id, person, decision, reason, at, entry) VALUES (?, ?, 'reject', ?, ?, ?)",
        (b["request_id"], b["approver"], b["reason"], e.ts, e.index),
    )
    await _end(conn, e, R_REJECTED)


async def _end(conn: aiosqlite.Connection, e: Entry, status: str) -> None:
    await conn.execute(
        "UPDATE requests SET status = ?, ended_at = ?, reason = ? WHERE id = ?",
        (status, e.ts, e.body.get("reason"), e.body["request_id"]),
    )


@_applies(EXPIRED_KIND)
async def _expired(conn: aiosqlite.Connection, e: Entry) -> None:
    await _end(conn, e, EXPIRED)


@_applies(FAILED_KIND)
async def _failed(conn: aiosqlite.Connection, e: Entry) -> None:
    await _end(conn, e, FAILED)


@_applies(CLOSED)
async def _closed(conn: aiosqlite.Connection, e: Entry) -> None:
    b = e.body
    await _end(conn, e, R_CLOSED)
    await conn.execute("UPDATE requests SET presses_used = ? WHERE id = ?", (b["presses_used"], b["request_id"]))
    await conn.execute(
        "UPDATE grants SET status = ? WHERE device_id = ? AND no = ?", (G_CLOSED, b["device_id"], b["grant_no"])
    )


# -- grants --------------------------------------------------------------------------


@_applies(GRANT_ISSUED)
async def _grant_issued(conn: aiosqlite.Connection, e: Entry) -> None:
    b = e.body
    await conn.execute(
        "INSERT INTO grants (device_id, no, request_id, sid, at_ticks, presses, valid_s, status, issued_at, entry)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (b["device_id"], b["no"], b["request_id"], b["sid"], b["at"], b["presses"], b["valid_s"], G_SENT, e.ts, e.index),
    )
    await conn.execute(
        "UPDATE requests SET status = ?, grant_no = ? WHERE id = ? AND status = ?",
        (GRANTED, b["no"], b["request_id"], APPROVED),
    )
    await conn.execute(
        "UPDATE devices SET last_grant_no = MAX(last_grant_no, ?) WHERE device_id = ?", (b["no"], b["device_id"])
    )


async def _grant_dead(conn: aiosqlite.Connection, e: Entry, status: str) -> None:
    """The device provably never took this grant: the request waits for its device again."""
    b = e.body
    await conn.execute(
        "UPDATE grants SET status = ?, reason = ? WHERE device_id = ? AND no = ?",
        (status, b.get("reason"), b["device_id"], b["no"]),
    )
    await conn.execute(
        "UPDATE requests SET status = ?, grant_no = NULL WHERE id = ? AND status = ? AND grant_no = ?",
        (APPROVED, b["request_id"], GRANTED, b["no"]),
    )


@_applies(GRANT_UNSENT)
async def _grant_unsent(conn: aiosqlite.Connection, e: Entry) -> None:
    await _grant_dead(conn, e, "unsent")


@_applies(GRANT_LAPSED)
async def _grant_lapsed(conn: aiosqlite.Connection, e: Entry) -> None:
    await _grant_dead(conn, e, "lapsed")


# -- devices ---------------------------------------------------------------------------


@_applies(DEVICE_ENROLLED)
async def _enrolled(conn: aiosqlite.Connection, e: Entry) -> None:
    b = e.body
    # A new board under an old name (a replacement) retires the old board's row.
    await conn.execute("UPDATE devices SET retired = 1 WHERE name = ? AND device_id != ?", (b["name"], b["device_id"]))
    await conn.execute(
        "INSERT INTO devices (device_id, name, seal, custodian, fingerprint, enrolled_at) VALUES (?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (device_id) DO UPDATE SET name = excluded.name, seal = excluded.seal, "
        "custodian = excluded.custodian, fingerprint = excluded.fingerprint, enrolled_at = excluded.enrolled_at, retired = 0",
        (b["device_id"], b["name"], b["seal"], b["custodian"], b["fingerprint"], e.ts),
    )


@_applies(DEVICE_ONLINE)
async def _online(conn: aiosqlite.Connection, e: Entry) -> None:
    b = e.body
    await conn.execute(
        "UPDATE devices SET online = 1, last_seen = ?, boots = ?, fw = ?, presses_total = ?,"
        " anomalies = anomalies + ? WHERE device_id = ?",
        (e.ts, b.get("boots"), b.get("fw"), b.get("presses"), 1 if b.get("anomaly") else 0, b["device_id"]),
    )
    await _running(conn, b["device_id"], b.get("fw"))
    if isinstance(b.get("last_grant"), int):
        # The first contact after enrolment fixes which grant numbers came before this edge.
        await conn.execute(
            "INSERT INTO device_guard (device_id, grant_base) VALUES (?, ?)"
            " ON CONFLICT (device_id) DO UPDATE SET grant_base = COALESCE(grant_base, excluded.grant_base)",
            (b["device_id"], b["last_grant"]),
        )


async def _running(conn: aiosqlite.Connection, device_id: str, fw: object) -> None:
    """Remember the highest security version a device has run, so it cannot be taken back below it."""
    await conn.execute(
        "INSERT INTO device_firmware (device_id, security_version)"
        " SELECT ?, security_version FROM releases WHERE firmware_hash = ?"
        " ON CONFLICT (device_id) DO UPDATE SET security_version = MAX(security_version, excluded.security_version)",
        (device_id, fw),
    )


@_applies(FIRMWARE_ALLOWED)
async def _release_allowed(conn: aiosqlite.Connection, e: Entry) -> None:
    b = e.body
    await conn.execute(
        "INSERT OR IGNORE INTO releases (firmware_hash, version, security_version, target, allowed_at) VALUES (?, ?, ?, ?, ?)",
        (b["firmware_hash"], b["version"], b["security_version"], b["target"], e.ts),
    )


@_applies(FIRMWARE_REVOKED)
async def _release_revoked(conn: aiosqlite.Connection, e: Entry) -> None:
    fw = e.body["firmware_hash"]
    await conn.execute("DELETE FROM releases WHERE firmware_hash = ?", (fw,))
    await conn.execute("INSERT OR IGNORE INTO revoked_releases (firmware_hash, revoked_at) VALUES (?, ?)", (fw, e.ts))


@_applies(SECURITY_FLOOR)
async def _security_floor(conn: aiosqlite.Connection, e: Entry) -> None:
    await conn.execute(
        "INSERT INTO meta (key, value) VALUES ('security_floor', ?) ON CONFLICT (key) DO UPDATE SET value ="
        " MAX(CAST(value AS INTEGER), CAST(excluded.value AS INTEGER))",
        (str(e.body["min_security_version"]),),
    )


@_applies(MAINTENANCE_ISSUED)
async def _maintenance_issued(conn: aiosqlite.Connection, e: Entry) -> None:
    # Maintenance grants share the device's grant numbers.
    await conn.execute(
        "UPDATE devices SET last_grant_no = MAX(last_grant_no, ?) WHERE device_id = ?", (e.body["no"], e.body["device_id"])
    )


@_applies(DEVICE_OFFLINE)
async def _offline(conn: aiosqlite.Connection, e: Entry) -> None:
    await conn.execute("UPDATE devices SET online = 0, last_seen = ? WHERE device_id = ?", (e.ts, e.body["device_id"]))


@_applies(DEVICE_EVENTS_LOST)
async def _events_lost(conn: aiosqlite.Connection, e: Entry) -> None:
    await conn.execute("UPDATE devices SET anomalies = anomalies + 1 WHERE device_id = ?", (e.body["device_id"],))


@_applies(DEVICE_ROGUE_GRANT)
async def _rogue_grant(conn: aiosqlite.Connection, e: Entry) -> None:
    b = e.body
    await conn.execute(
        "INSERT INTO device_guard (device_id, blocked_no, blocked_reason, blocked_entry, blocked_at, blocked_fingerprint)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (device_id) DO UPDATE SET blocked_no = excluded.blocked_no,"
        " blocked_reason = excluded.blocked_reason, blocked_entry = excluded.blocked_entry,"
        " blocked_at = excluded.blocked_at, blocked_fingerprint = excluded.blocked_fingerprint",
        (b["device_id"], b["no"], b["reason"], e.index, e.ts, b["fingerprint"]),
    )
    await conn.execute("UPDATE devices SET anomalies = anomalies + 1 WHERE device_id = ?", (b["device_id"],))


@_applies(DEVICE_MALFORMED_EVENT)
async def _malformed_event(conn: aiosqlite.Connection, e: Entry) -> None:
    await _event_seen(conn, e)


@_applies(DEVICE_BLOCK_CLEARED)
async def _block_cleared(conn: aiosqlite.Connection, e: Entry) -> None:
    # The device keeps its grant counter: its next hello sets the base again, above the rogue number.
    await conn.execute(
        "UPDATE device_guard SET grant_base = NULL, blocked_no = NULL, blocked_reason = NULL, blocked_entry = NULL,"
        " blocked_at = NULL, blocked_fingerprint = NULL WHERE device_id = ?",
        (e.body["device_id"],),
    )


@_applies(AGENT_STARTED)
async def _agent_started(conn: aiosqlite.Connection, e: Entry) -> None:
    # Whatever the last run left behind, nothing is connected yet.
    await conn.execute("UPDATE devices SET online = 0")


@_applies(AGENT_STOPPED)
async def _agent_stopped(conn: aiosqlite.Connection, e: Entry) -> None:
    await conn.execute("UPDATE devices SET online = 0")


# -- photo evidence --------------------------------------------------------------------


async def _press_photo(conn: aiosqlite.Connection, e: Entry, **columns: Any) -> None:
    """Set some columns of a press's photo row (every photo entry of the press adds its part)."""
    press_entry = e.body.get("press_entry")
    if not isinstance(press_entry, int):
        return
    names = ", ".join(columns)
    updates = ", ".join(f"{name} = excluded.{name}" for name in columns)
    await conn.execute(
        f"INSERT INTO press_photos (press_entry, request_id, {names}) VALUES (?, ?{', ?' * len(columns)})"
        f" ON CONFLICT (press_entry) DO UPDATE SET {updates}",
        (press_entry, e.body.get("request_id"), *columns.values()),
    )


@_applies(PHOTO)
async def _photo_taken(conn: aiosqlite.Connection, e: Entry) -> None:
    await _press_photo(conn, e, photo=e.body["sha256"])


@_applies(CAPTURE_FAILED)
async def _capture_failed(conn: aiosqlite.Connection, e: Entry) -> None:
    await _press_photo(conn, e, capture_failed=e.body.get("reason") or "")


@_applies(PHOTO_OCR)
async def _photo_ocr(conn: aiosqlite.Connection, e: Entry) -> None:
    if "error" in e.body:
        await _press_photo(conn, e, match=0, flags=json.dumps(["ocr_failed"]))
    else:
        await _press_photo(conn, e, ocr_text=e.body.get("text"))


@_applies(PHOTO_CHECK)
async def _photo_check(conn: aiosqlite.Connection, e: Entry) -> None:
    b = e.body
    flags = json.dumps(b.get("flags", []), ensure_ascii=False)
    await _press_photo(conn, e, match=1 if b.get("match") else 0, score_permille=b.get("score_permille"), flags=flags)


async def backfill_photos(db: EdgeDB, entries: Sequence[Entry]) -> None:
    """Apply photo entries the database took before it had press_photos (an upgrade); harmless twice."""
    async with db.transaction() as conn:
        for entry in entries:
            if entry.kind in PHOTO_KINDS:
                await _apply_guarded(conn, _APPLY[entry.kind], entry)
        await conn.execute("DELETE FROM meta WHERE key = 'photos_backfill'")


async def _event_seen(conn: aiosqlite.Connection, e: Entry) -> None:
    """A device event is recorded: ids up to it are never recorded again (the device's resends are skipped)."""
    b = e.body
    await conn.execute(
        "UPDATE devices SET last_event_id = MAX(last_event_id, ?), last_seen = ?, anomalies = anomalies + ?"
        " WHERE device_id = ?",
        (b["event_id"], e.ts, 1 if b.get("anomaly") else 0, b["device_id"]),
    )


async def _apply_seal_event(conn: aiosqlite.Connection, e: Entry) -> None:
    """One event from a seal device (``seal.<kind>``): the body carries the event as the device sent it."""
    b = e.body
    device_id = b["device_id"]
    ev: dict[str, Any] = b["event"]
    kind = ev["k"]
    request_id = b.get("request_id")
    await _event_seen(conn, e)
    if kind == "grant_ok":
        await conn.execute(
            "UPDATE grants SET status = ? WHERE device_id = ? AND no = ?", (G_ACCEPTED, device_id, ev["no"])
        )
        if request_id is not None:
            await conn.execute(
                "UPDATE requests SET status = ?, grant_no = ? WHERE id = ? AND status IN (?, ?)",
                (IN_USE, ev["no"], request_id, APPROVED, GRANTED),
            )
    elif kind == "grant_refused":
        if ev.get("no") is not None:
            await conn.execute(
                "UPDATE grants SET status = ?, reason = ? WHERE device_id = ? AND no = ?",
                (G_REFUSED, ev.get("reason"), device_id, ev["no"]),
            )
            if request_id is not None:
                await conn.execute(
                    "UPDATE requests SET status = ?, grant_no = NULL WHERE id = ? AND status = ? AND grant_no = ?",
                    (APPROVED, request_id, GRANTED, ev["no"]),
                )
    elif kind == "press":
        await conn.execute(
            "INSERT OR IGNORE INTO presses (device_id, event_id, request_id, grant_no, n, total, at, entry)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (device_id, b["event_id"], request_id, ev.get("no"), ev.get("n"), ev.get("total"), e.ts, e.index),
        )
        await conn.execute(
            "UPDATE devices SET presses_total = MAX(COALESCE(presses_total, 0), ?) WHERE device_id = ?",
            (ev.get("total", 0), device_id),
        )
        if request_id is not None:
            await conn.execute(
                "UPDATE requests SET presses_used = MAX(presses_used, ?) WHERE id = ?", (ev.get("n", 0), request_id)
            )
    elif kind == "boot":
        await conn.execute(
            "UPDATE devices SET boots = ?, fw = ?, presses_total = MAX(COALESCE(presses_total, 0), ?) WHERE device_id = ?",
            (ev.get("boots"), ev.get("fw"), ev.get("presses", 0), device_id),
        )
        await _running(conn, device_id, ev.get("fw"))
