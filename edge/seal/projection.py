"""The seal's ledger kinds, their Chinese names, and what each means for the seal's tables.

Applied by the kernel's projection (``edge/kernel/projection.py``) through the seal's part
(``edge/seal/part.py``): every handler here is a function of the entry alone, so the tables can always be
rebuilt from the ledger.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import aiosqlite

from edge.kernel.contract import Handler
from edge.kernel.projection import apply_guarded
from edge.ledger import Entry, Ledger
from edge.ledger.wire import PHOTO_CHECK, PHOTO_OCR
from edge.seal.db import (
    APPROVED,
    EXPIRED,
    FAILED,
    G_ACCEPTED,
    G_CLOSED,
    G_REFUSED,
    G_SENT,
    GRANTED,
    IN_USE,
    BACKFILL_SINCE,
    PENDING,
    READING,
    WITHDRAWN,
    EdgeDB,
)  # fmt: skip
from edge.seal.db import CLOSED as R_CLOSED
from edge.seal.person import KINDS as PERSON_KINDS
from edge.seal.person import PERSON_CAPTURE_FAILED, PERSON_PHOTO, PERSON_PHOTO_DELETED
from edge.seal.db import REJECTED as R_REJECTED

# -- entry kinds -------------------------------------------------------------------

FILED = "seal_request.filed"
# The original read at filing, the route frozen by the larger of the declared and the read amount (desk.py):
# a request filed with "reading": true waits in READING for this entry before anyone may decide it.
ROUTED = "seal_request.routed"
APPROVAL = "seal_request.approval"
APPROVED_KIND = "seal_request.approved"
APPROVAL_REFUSED = "seal_request.approval_refused"
REJECTED = "seal_request.rejected"
EXPIRED_KIND = "seal_request.expired"
CLOSED = "seal_request.closed"
COMMENTED = "seal_request.commented"  # an approver's 审批意见, recorded with their approval in one step
WITHDRAWN_KIND = "seal_request.withdrawn"  # the applicant took back a request nobody has decided yet (撤销)
REMINDED = "seal_request.reminded"  # the applicant reminded the approvers it awaits (催办); pushed to them
REGRANTED = "seal_request.regranted"  # a lapsed, unused grant re-issued by the final approver (edge/seal/regrant.py)
URGENT = "seal_request.urgent"  # an urgent use outside the seal's hours: a reason, one more approver (edge/seal/hours.py)
HANDED_OVER = "seal_request.handed_over"  # the approver whose turn it was gave their step to another (转交, handover.py)
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
DOCUMENT_OCR = "document.ocr"
PHOTO_KINDS = (PHOTO, CAPTURE_FAILED, PHOTO_OCR, PHOTO_CHECK)
# The events the firmware sends (firmware/app.py), each recorded as seal.<kind>; an authenticated event of
# another shape is recorded as device.malformed_event instead (edge/seal/devices.py).
DEVICE_EVENTS = {
    "press": "盖章", "locked_press": "锁定时按压", "unlocked": "开锁", "relocked": "上锁", "grant_ok": "设备接受授权",
    "grant_refused": "设备拒绝授权", "boot": "设备启动", "tamper": "外壳开关", "overflow": "事件溢出",
    "maintenance_open": "维护窗口打开", "maintenance_closed": "维护窗口关闭", "maintenance_refused": "维护请求被拒",
}  # fmt: skip


def seal_kind(event_kind: str) -> str:
    return SEAL_PREFIX + event_kind


#: Every kind the seal writes, with its Chinese name (the ledger page and the central store show these).
KINDS: dict[str, str] = {
    FILED: "提交申请", ROUTED: "识别原件定审批路线", APPROVAL: "审批同意", APPROVED_KIND: "审批通过", APPROVAL_REFUSED: "审批被拒(规则)",
    REJECTED: "驳回", EXPIRED_KIND: "过期", CLOSED: "用印结束", REGRANTED: "重新授权", WITHDRAWN_KIND: "撤销申请", COMMENTED: "审批意见", REMINDED: "催办", URGENT: "加急用印", HANDED_OVER: "转交审批", FAILED_KIND: "授权失败", GRANT_ISSUED: "发出授权",
    GRANT_UNSENT: "授权未送达", GRANT_LAPSED: "授权失效", DEVICE_ENROLLED: "设备登记", DEVICE_ONLINE: "设备上线",
    DEVICE_OFFLINE: "设备离线", DEVICE_EVENTS_LOST: "设备事件丢失", DEVICE_ROGUE_GRANT: "非本边缘签发的授权",
    DEVICE_MALFORMED_EVENT: "设备事件格式错误", DEVICE_BLOCK_CLEARED: "重新烧录后恢复授权",
    FIRMWARE_ALLOWED: "固件获准", FIRMWARE_REVOKED: "固件撤销", SECURITY_FLOOR: "固件安全版本下限",
    FIRMWARE_FLASHED: "固件刷写", FIRMWARE_FLASH_FAILED: "固件刷写失败", MAINTENANCE_ISSUED: "维护授权",
    AGENT_STARTED: "代理启动", AGENT_STOPPED: "代理停止", PHOTO: "盖章照片", CAPTURE_FAILED: "未拍到照片",
    PHOTO_OCR: "照片识别", PHOTO_CHECK: "照片比对", DOCUMENT_OCR: "原件识别", **PERSON_KINDS,
    **{seal_kind(kind): name for kind, name in DEVICE_EVENTS.items()},
}  # fmt: skip
#: The ledger prefixes the seal writes under beside its own ("seal.<event>").
PREFIXES = tuple(sorted({kind.partition(".")[0] for kind in KINDS} - {"seal"}))

#: kind -> handler, for the kinds that change the seal's tables.
PROJECTION: dict[str, Handler] = {}


def _applies(kind: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        PROJECTION[kind] = fn
        return fn

    return register


# -- seal requests -------------------------------------------------------------------


@_applies(FILED)
async def _filed(conn: aiosqlite.Connection, e: Entry) -> None:
    b = e.body
    await conn.execute(
        "INSERT INTO requests (id, seq, status, applicant, matter, seal, presses, amount_fen, device_id, device_name,"
        " custodian, document, route, filed_at, filed_entry) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            b["request_id"], b["seq"], READING if b.get("reading") else PENDING, b["applicant"], b["matter"], b["seal"], b["presses"], b["amount_fen"],
            b["device_id"], b["device_name"], b["custodian"], json.dumps(b["document"], ensure_ascii=False),
            json.dumps(b["route"], ensure_ascii=False), e.ts, e.index,
        ),
    )  # fmt: skip


@_applies(ROUTED)
async def _routed(conn: aiosqlite.Connection, e: Entry) -> None:
    b = e.body
    read = {"state": b["read"], "amount_fen": b.get("read_fen"), "mismatch": bool(b.get("anomaly")), "error": b.get("error")}
    cur = await conn.execute(
        "UPDATE requests SET status = ?, route = ? WHERE id = ? AND status = ?",
        (PENDING, json.dumps(b["route"], ensure_ascii=False), b["request_id"], READING),
    )
    if cur.rowcount:
        await conn.execute(
            "INSERT INTO original_reads (request_id, read) VALUES (?, ?)",
            (b["request_id"], json.dumps(read, ensure_ascii=False)),
        )


@_applies(URGENT)
async def _new_route(conn: aiosqlite.Connection, e: Entry) -> None:
    """A route changed while the request is pending: one more approver (加急), or one name for another (转交)."""
    await conn.execute(
        "UPDATE requests SET route = ? WHERE id = ? AND status = ?",
        (json.dumps(e.body["route"], ensure_ascii=False), e.body["request_id"], PENDING),
    )


@_applies(HANDED_OVER)
async def _handed_over(conn: aiosqlite.Connection, e: Entry) -> None:
    await _new_route(conn, e)
    await _request_record(conn, e)


@_applies(APPROVAL)
async def _approval(conn: aiosqlite.Connection, e: Entry) -> None:
    await conn.execute(
        "INSERT INTO approvals (request_id, person, decision, reason, at, entry) VALUES (?, ?, 'approve', NULL, ?, ?)",
        (e.body["request_id"], e.body["approver"], e.ts, e.index),
    )


@_applies(COMMENTED)
async def _commented(conn: aiosqlite.Connection, e: Entry) -> None:
    b = e.body
    await conn.execute(
        "UPDATE approvals SET reason = ? WHERE request_id = ? AND person = ? AND decision = 'approve'",
        (b["comment"], b["request_id"], b["approver"]),
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


@_applies(WITHDRAWN_KIND)
async def _withdrawn(conn: aiosqlite.Connection, e: Entry) -> None:
    await conn.execute(
        "UPDATE requests SET status = ?, ended_at = ? WHERE id = ? AND status IN (?, ?)",
        (WITHDRAWN, e.ts, e.body["request_id"], PENDING, READING),
    )


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


@_applies(REGRANTED)
async def _regranted(conn: aiosqlite.Connection, e: Entry) -> None:
    # Approved again: the agent issues a new grant as for any approved request, within the approval's lifetime.
    cur = await conn.execute(
        "UPDATE requests SET status = ?, ended_at = NULL, reason = NULL, grant_no = NULL WHERE id = ? AND status = ?",
        (APPROVED, e.body["request_id"], R_CLOSED),
    )
    if cur.rowcount:
        await conn.execute("INSERT OR IGNORE INTO regrants (request_id, entry) VALUES (?, ?)", (e.body["request_id"], e.index))


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
    await _request_record(conn, e)  # the page shows what its impression read as


@_applies(PERSON_PHOTO)
@_applies(PERSON_CAPTURE_FAILED)
@_applies(PERSON_PHOTO_DELETED)
async def _request_record(conn: aiosqlite.Connection, e: Entry) -> None:
    """An entry the request's page shows as written: found by the request, not by reading the whole ledger."""
    request_id = e.body.get("request_id")
    if isinstance(request_id, str):
        await conn.execute("INSERT OR IGNORE INTO request_records VALUES (?, ?, ?)", (e.index, request_id, e.kind))


#: What an upgraded database applies again from the ledger, and how: the photo entries fill press_photos (and
#: request_records); a hand-over only its record (applied again, its route would undo a later 加急's).
BACKFILL: dict[str, Handler] = {
    **{kind: PROJECTION[kind] for kind in PHOTO_KINDS},
    HANDED_OVER: _request_record, PERSON_PHOTO: _request_record, PERSON_CAPTURE_FAILED: _request_record,
    PERSON_PHOTO_DELETED: _request_record,
}  # fmt: skip


async def mark_backfill(conn: aiosqlite.Connection, version: int) -> None:
    """A database from before press_photos (schema 1 or 2) or request_records (3) has entries to apply again."""
    if 0 < version < BACKFILL_SINCE:
        await conn.execute("INSERT OR IGNORE INTO meta VALUES ('photos_backfill', '1')")


async def backfill(db: EdgeDB, ledger: Ledger) -> None:
    """Apply the entries the database took before it had their tables (an upgrade, :data:`BACKFILL`); harmless
    twice."""
    if not await db.photos_backfill_due():
        return
    entries = [e for kind in BACKFILL for e in await ledger.entries_of_kind(kind)]
    entries.sort(key=lambda e: e.index)
    async with db.transaction() as conn:
        for entry in entries:
            await apply_guarded(conn, BACKFILL[entry.kind], entry)
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


for _event in DEVICE_EVENTS:
    PROJECTION[seal_kind(_event)] = _apply_seal_event
