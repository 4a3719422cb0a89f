"""The seal's tables in the working database: requests, approvals, grants, devices, firmware, press photos.

A projection of the ledger (``edge/seal/projection.py``), plus two things that are not records: the sealed
device keys and the volatile device status. :class:`EdgeDB` is the working database
(:class:`edge.kernel.db.WorkingDB`: its transactions, ``meta`` and the command queue) with the seal's queries.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

import aiosqlite

from edge.kernel.db import WorkingDB
from edge.seal.keystore import SealedKey

# A database older than this has tables to fill from the ledger (Part.backfill): press_photos (3), request_records (4).
BACKFILL_SINCE = 4

# Request states (用印申请状态). READING: filed, its original being read before the route is frozen (desk.py).
READING = "reading"
PENDING, APPROVED, GRANTED, IN_USE, CLOSED = "pending", "approved", "granted", "in_use", "closed"
REJECTED, EXPIRED, FAILED, WITHDRAWN = "rejected", "expired", "failed", "withdrawn"
FINAL_STATES = frozenset({CLOSED, REJECTED, EXPIRED, FAILED, WITHDRAWN})
STATUS_NAMES = {
    READING: "识别原件中", PENDING: "待审批", APPROVED: "已批准", GRANTED: "已授权", IN_USE: "使用中", CLOSED: "已完成",
    REJECTED: "已驳回", EXPIRED: "已过期", FAILED: "授权失败", WITHDRAWN: "已撤销",
}  # fmt: skip

#: A request closed because its grant's window lapsed before any press: it reads so, never like 已完成.
LAPSED_UNUSED_NAME = "授权过期未用印"


def status_name(status: str, reason: str | None, presses_used: int) -> str:
    """A request's state in Chinese, as the console and the CLI show it."""
    if status == CLOSED and reason == "expired" and presses_used == 0:
        return LAPSED_UNUSED_NAME
    return STATUS_NAMES.get(status, status)


# Grant states.
G_SENT, G_ACCEPTED, G_REFUSED, G_LAPSED, G_UNSENT, G_CLOSED = "sent", "accepted", "refused", "lapsed", "unsent", "closed"

SCHEMA = """
CREATE TABLE IF NOT EXISTS requests (
    id            TEXT PRIMARY KEY,
    seq           INTEGER NOT NULL UNIQUE,
    status        TEXT NOT NULL,
    applicant     TEXT NOT NULL,
    matter        TEXT NOT NULL,
    seal          TEXT NOT NULL,
    presses       INTEGER NOT NULL,
    amount_fen    INTEGER NOT NULL,
    device_id     TEXT NOT NULL,
    device_name   TEXT NOT NULL,
    custodian     TEXT NOT NULL,
    document      TEXT NOT NULL,   -- JSON {sha256, name, size}
    route         TEXT NOT NULL,   -- JSON {rule, mode, n, approvers}, frozen at filing
    filed_at      TEXT NOT NULL,
    approved_at   TEXT,
    ended_at      TEXT,
    grant_no      INTEGER,
    presses_used  INTEGER NOT NULL DEFAULT 0,
    reason        TEXT,            -- why it was closed, rejected, expired or failed
    filed_entry   INTEGER NOT NULL -- ledger index of seal_request.filed
);
CREATE INDEX IF NOT EXISTS requests_by_status ON requests (status, seq);
CREATE TABLE IF NOT EXISTS regrants (  -- a lapsed, unused grant re-issued by the final approver (once per request)
    request_id TEXT PRIMARY KEY,
    entry      INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS original_reads (  -- the original read at filing (seal_request.routed, edge/seal/reading.py)
    request_id TEXT PRIMARY KEY,
    read       TEXT NOT NULL     -- JSON {state: read | no_amount | unreadable, amount_fen, mismatch, error}
);
CREATE TABLE IF NOT EXISTS approvals (
    request_id TEXT NOT NULL,
    person     TEXT NOT NULL,
    decision   TEXT NOT NULL,      -- approve | reject
    reason     TEXT,
    at         TEXT NOT NULL,
    entry      INTEGER NOT NULL,
    PRIMARY KEY (request_id, person)
);
CREATE TABLE IF NOT EXISTS grants (
    device_id  TEXT NOT NULL,
    no         INTEGER NOT NULL,
    request_id TEXT NOT NULL,
    sid        TEXT NOT NULL,
    at_ticks   INTEGER NOT NULL,
    presses    INTEGER NOT NULL,
    valid_s    INTEGER NOT NULL,
    status     TEXT NOT NULL,
    reason     TEXT,
    issued_at  TEXT NOT NULL,
    entry      INTEGER NOT NULL,
    PRIMARY KEY (device_id, no)
);
CREATE INDEX IF NOT EXISTS grants_by_request ON grants (request_id, no);
CREATE TABLE IF NOT EXISTS presses (
    device_id  TEXT NOT NULL,
    event_id   INTEGER NOT NULL,
    request_id TEXT,
    grant_no   INTEGER,
    n          INTEGER,
    total      INTEGER,
    at         TEXT NOT NULL,
    entry      INTEGER NOT NULL,
    PRIMARY KEY (device_id, event_id)
);
CREATE INDEX IF NOT EXISTS presses_by_request ON presses (request_id, n);
CREATE TABLE IF NOT EXISTS press_photos (           -- the photo evidence of each press (edge/evidence.py)
    press_entry    INTEGER PRIMARY KEY,            -- the ledger entry of the press
    request_id     TEXT,
    photo          TEXT,                           -- SHA-256 of the photo in the photo store
    capture_failed TEXT,                           -- why there is no photo
    ocr_text       TEXT,
    match          INTEGER,                        -- the check against the approved original: 1, 0, NULL not yet
    score_permille INTEGER,
    flags          TEXT                            -- JSON list of what differs (amount, title, text, ...)
);
CREATE INDEX IF NOT EXISTS press_photos_by_request ON press_photos (request_id);
CREATE TABLE IF NOT EXISTS request_records (  -- entries a request's page shows as written (service.detail_for)
    entry      INTEGER PRIMARY KEY,             -- the ledger index: photo checks, hand-overs, person photos
    request_id TEXT NOT NULL,
    kind       TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS request_records_by_request ON request_records (request_id, entry);
CREATE TABLE IF NOT EXISTS devices (
    device_id     TEXT PRIMARY KEY,
    name          TEXT NOT NULL,               -- the config's handle; a replaced board retires the old row
    seal          TEXT NOT NULL,
    custodian     TEXT NOT NULL,
    fingerprint   TEXT NOT NULL,
    enrolled_at   TEXT NOT NULL,
    last_event_id INTEGER NOT NULL DEFAULT 0,  -- highest device event id recorded in the ledger
    last_grant_no INTEGER NOT NULL DEFAULT 0,  -- highest grant number issued to it
    presses_total INTEGER,                     -- the device's lifetime counter, as last reported
    boots         INTEGER,
    fw            TEXT,
    online        INTEGER NOT NULL DEFAULT 0,
    last_seen     TEXT,
    anomalies     INTEGER NOT NULL DEFAULT 0,
    retired       INTEGER NOT NULL DEFAULT 0,
    last_status   TEXT                         -- volatile: the device's last status reply (JSON)
);
CREATE TABLE IF NOT EXISTS device_keys (
    device_id   TEXT PRIMARY KEY,
    nonce       BLOB NOT NULL,
    sealed      BLOB NOT NULL,     -- AES-GCM under the master key file, AAD = device id
    fingerprint TEXT NOT NULL,
    stored_at   TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS releases (  -- the firmware allow-list
    firmware_hash    TEXT PRIMARY KEY,
    version          TEXT NOT NULL,
    security_version INTEGER NOT NULL,
    target           TEXT NOT NULL,
    allowed_at       TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS revoked_releases (  -- off the allow-list for good (the central store revoked them)
    firmware_hash TEXT PRIMARY KEY,
    revoked_at    TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS device_firmware (
    device_id        TEXT PRIMARY KEY,
    security_version INTEGER NOT NULL  -- the highest ever seen running on it: no going back below
);
CREATE TABLE IF NOT EXISTS device_guard (  -- grants this edge never issued (edge/seal/devices.py)
    device_id           TEXT PRIMARY KEY,
    grant_base          INTEGER,  -- the device's last grant number when this edge first saw it: those came before us
    blocked_no          INTEGER,  -- the grant number the edge never issued; NULL: the device may have grants
    blocked_reason      TEXT,     -- unknown_grant | out_of_sequence
    blocked_entry       INTEGER,  -- the device.rogue_grant entry
    blocked_at          TEXT,
    blocked_fingerprint TEXT      -- the key that was used: only a new one (re-provisioning) lifts the block
);
"""



@dataclass(frozen=True)
class RequestView:
    id: str
    status: str
    applicant: str
    matter: str
    seal: str
    presses: int
    amount_fen: int
    device_id: str
    device_name: str
    custodian: str
    document: dict[str, Any]
    route: dict[str, Any]
    filed_at: str
    approved_at: str | None
    ended_at: str | None
    grant_no: int | None
    presses_used: int
    reason: str | None
    approvals: tuple[dict[str, Any], ...] = ()
    # The original as read at filing (seal_request.routed): {"state": read | no_amount | unreadable, "amount_fen",
    # "mismatch", "error"}; None while it is read, or for a request filed before originals were read at filing.
    original_read: dict[str, Any] | None = None
    regranted: bool = False  # the final approver re-issued its lapsed grant once (seal_request.regranted)

    @property
    def lapsed_unused(self) -> bool:
        """Closed because the grant's window passed before any press."""
        return self.status == CLOSED and self.reason == "expired" and self.presses_used == 0

    @property
    def status_name(self) -> str:
        return status_name(self.status, self.reason, self.presses_used)

    @property
    def amount_read_fen(self) -> int | None:
        return None if self.original_read is None else self.original_read.get("amount_fen")

    @property
    def amount_mismatch(self) -> bool:
        return bool(self.original_read and self.original_read.get("mismatch"))

    @property
    def approvers_done(self) -> list[str]:
        return [a["person"] for a in self.approvals if a["decision"] == "approve"]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["approvals"] = list(self.approvals)
        data["status_name"] = self.status_name
        data["lapsed_unused"] = self.lapsed_unused
        data["amount_read_fen"] = self.amount_read_fen
        data["amount_mismatch"] = self.amount_mismatch
        return data


@dataclass(frozen=True)
class GrantRow:
    device_id: str
    no: int
    request_id: str
    sid: str
    at_ticks: int
    presses: int
    valid_s: int
    status: str
    reason: str | None
    issued_at: str
    entry: int


@dataclass(frozen=True)
class DeviceView:
    device_id: str
    name: str
    seal: str
    custodian: str
    fingerprint: str
    enrolled_at: str
    last_event_id: int
    last_grant_no: int
    presses_total: int | None
    boots: int | None
    fw: str | None
    online: bool
    last_seen: str | None
    anomalies: int
    last_status: dict[str, Any] | None
    grant_base: int | None = None  # see device_guard
    block: dict[str, Any] | None = None  # {no, reason, entry, at, fingerprint} while no grant may be sent

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


#: Requests with their reading at filing, for :func:`_request_from_row`.
_REQUESTS = (
    "SELECT requests.*, original_reads.read AS original_read, regrants.entry AS regranted_entry FROM requests"
    " LEFT JOIN original_reads ON original_reads.request_id = requests.id"
    " LEFT JOIN regrants ON regrants.request_id = requests.id"
)


def _request_from_row(row: aiosqlite.Row, approvals: Iterable[aiosqlite.Row] = ()) -> RequestView:
    return RequestView(
        id=row["id"], status=row["status"], applicant=row["applicant"], matter=row["matter"], seal=row["seal"],
        presses=row["presses"], amount_fen=row["amount_fen"], device_id=row["device_id"],
        device_name=row["device_name"], custodian=row["custodian"], document=json.loads(row["document"]),
        route=json.loads(row["route"]), filed_at=row["filed_at"], approved_at=row["approved_at"],
        ended_at=row["ended_at"], grant_no=row["grant_no"], presses_used=row["presses_used"], reason=row["reason"],
        approvals=tuple(
            {"person": a["person"], "decision": a["decision"], "reason": a["reason"], "at": a["at"]} for a in approvals
        ),
        original_read=json.loads(row["original_read"]) if row["original_read"] else None,
        regranted=row["regranted_entry"] is not None,
    )  # fmt: skip


def _device_from_row(row: aiosqlite.Row) -> DeviceView:
    return DeviceView(
        device_id=row["device_id"], name=row["name"], seal=row["seal"], custodian=row["custodian"],
        fingerprint=row["fingerprint"], enrolled_at=row["enrolled_at"], last_event_id=row["last_event_id"],
        last_grant_no=row["last_grant_no"], presses_total=row["presses_total"], boots=row["boots"], fw=row["fw"],
        online=bool(row["online"]), last_seen=row["last_seen"], anomalies=row["anomalies"],
        last_status=json.loads(row["last_status"]) if row["last_status"] else None, grant_base=row["grant_base"],
        block=None if row["blocked_no"] is None else {
            "no": row["blocked_no"], "reason": row["blocked_reason"], "entry": row["blocked_entry"],
            "at": row["blocked_at"], "fingerprint": row["blocked_fingerprint"],
        },
    )  # fmt: skip


# Every device query reads its guard row with it.
_DEVICES = (
    "SELECT d.*, g.grant_base, g.blocked_no, g.blocked_reason, g.blocked_entry, g.blocked_at, g.blocked_fingerprint"
    " FROM devices d LEFT JOIN device_guard g ON g.device_id = d.device_id"
)


@dataclass(frozen=True)
class Release:
    """A firmware release on the allow-list."""

    firmware_hash: str
    version: str
    security_version: int
    target: str
    allowed_at: str


class EdgeDB(WorkingDB):
    """The working database with the seal's queries; the caller serialises steps (see Recorder)."""

    TABLES = SCHEMA

    # -- requests --------------------------------------------------------------

    async def request(self, request_id: str) -> RequestView | None:
        row = await self._one(f"{_REQUESTS} WHERE id = ?", (request_id,))
        if row is None:
            return None
        approvals = await self._all("SELECT * FROM approvals WHERE request_id = ? ORDER BY entry", (request_id,))
        return _request_from_row(row, approvals)

    async def requests(
        self, status: str | None = None, device_id: str | None = None, limit: int | None = None
    ) -> list[RequestView]:
        where, params = [], []
        if status is not None:
            where.append("status = ?")
            params.append(status)
        if device_id is not None:
            where.append("device_id = ?")
            params.append(device_id)
        sql = _REQUESTS + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY seq"
        if limit is not None:
            sql = f"SELECT * FROM ({sql} DESC LIMIT {int(limit)}) ORDER BY seq"
        rows = await self._all(sql, params)
        approvals: dict[str, list[aiosqlite.Row]] = {}
        if rows:
            marks = ",".join("?" for _ in rows)
            for a in await self._all(
                f"SELECT * FROM approvals WHERE request_id IN ({marks}) ORDER BY entry", [r["id"] for r in rows]
            ):
                approvals.setdefault(a["request_id"], []).append(a)
        return [_request_from_row(r, approvals.get(r["id"], ())) for r in rows]

    async def document_bytes_filed(self, applicant: str, since: str) -> int:
        """Bytes of the originals ``applicant`` filed from ``since`` (a ledger timestamp) on: the upload quota."""
        row = await self._one(
            "SELECT COALESCE(SUM(json_extract(document, '$.size')), 0) AS n FROM requests"
            " WHERE applicant = ? AND filed_at >= ?",
            (applicant, since),
        )
        return int(row["n"]) if row else 0

    async def next_request_seq(self) -> int:
        row = await self._one("SELECT COALESCE(MAX(seq), 0) + 1 AS n FROM requests")
        return int(row["n"]) if row else 1

    async def waiting_requests(self) -> list[RequestView]:
        """Approved requests waiting for their device, oldest approval first."""
        rows = await self._all(f"{_REQUESTS} WHERE status = ? ORDER BY approved_at, seq", (APPROVED,))
        return [_request_from_row(r) for r in rows]

    async def active_request(self, device_id: str) -> RequestView | None:
        """The request holding the device (a grant sent or in use), if any."""
        row = await self._one(
            f"{_REQUESTS} WHERE device_id = ? AND status IN (?, ?) ORDER BY seq LIMIT 1",
            (device_id, GRANTED, IN_USE),
        )
        return None if row is None else _request_from_row(row)

    async def press_events(self, request_id: str) -> list[dict[str, Any]]:
        """Each press of the request, with its photo evidence once recorded (photo, ocr_text, match, flags, ...)."""
        rows = await self._all(
            "SELECT p.*, ph.photo, ph.capture_failed, ph.ocr_text, ph.match, ph.score_permille, ph.flags"
            " FROM presses p LEFT JOIN press_photos ph ON ph.press_entry = p.entry"
            " WHERE p.request_id = ? ORDER BY p.event_id",
            (request_id,),
        )
        events = []
        for row in rows:
            event = dict(row)
            event["flags"] = json.loads(event["flags"]) if event["flags"] else []
            event["match"] = None if event["match"] is None else bool(event["match"])
            events.append(event)
        return events

    async def presses_without_photo(self, after_entry: int) -> list[dict[str, Any]]:
        """Presses recorded after ledger entry ``after_entry`` with neither a photo nor a recorded failure."""
        rows = await self._all(
            "SELECT p.device_id, p.event_id, p.request_id, p.grant_no, p.n, p.entry"
            " FROM presses p LEFT JOIN press_photos ph ON ph.press_entry = p.entry"
            " WHERE p.entry > ? AND ph.photo IS NULL AND ph.capture_failed IS NULL ORDER BY p.entry",
            (after_entry,),
        )
        return [dict(row) for row in rows]

    async def photos_without_ocr(self) -> list[dict[str, Any]]:
        """Photos whose OCR was neither recorded nor recorded as failed (the agent stopped before it)."""
        rows = await self._all(
            "SELECT ph.photo, ph.request_id, ph.press_entry, p.device_id, p.n"
            " FROM press_photos ph LEFT JOIN presses p ON p.entry = ph.press_entry"
            " WHERE ph.photo IS NOT NULL AND ph.ocr_text IS NULL AND ph.match IS NULL ORDER BY ph.press_entry"
        )
        return [dict(row) for row in rows]

    async def photos_backfill_due(self) -> bool:
        """Whether this database predates press_photos or request_records, so that the ledger's photo entries and
        the request records must be applied again."""
        return await self._one("SELECT 1 FROM meta WHERE key = 'photos_backfill'") is not None

    async def request_records(self, request_id: str) -> list[int]:
        """The ledger indexes of the entries the request's page shows as written, in order."""
        rows = await self._all("SELECT entry FROM request_records WHERE request_id = ? ORDER BY entry", (request_id,))
        return [int(row["entry"]) for row in rows]

    # -- grants ----------------------------------------------------------------

    async def grant(self, device_id: str, no: int) -> GrantRow | None:
        row = await self._one("SELECT * FROM grants WHERE device_id = ? AND no = ?", (device_id, no))
        return None if row is None else GrantRow(**dict(row))

    async def grants(self, request_id: str | None = None, device_id: str | None = None, status: str | None = None) -> list[GrantRow]:
        where, params = [], []
        for column, value in (("request_id", request_id), ("device_id", device_id), ("status", status)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        sql = "SELECT * FROM grants" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY entry"
        return [GrantRow(**dict(r)) for r in await self._all(sql, params)]

    # -- devices ---------------------------------------------------------------

    async def device(self, device_id: str) -> DeviceView | None:
        row = await self._one(f"{_DEVICES} WHERE d.device_id = ?", (device_id,))
        return None if row is None else _device_from_row(row)

    async def device_by_name(self, name: str) -> DeviceView | None:
        row = await self._one(f"{_DEVICES} WHERE d.name = ? AND d.retired = 0", (name,))
        return None if row is None else _device_from_row(row)

    async def release(self, firmware_hash: str) -> Release | None:
        row = await self._one("SELECT * FROM releases WHERE firmware_hash = ?", (firmware_hash,))
        return None if row is None else Release(**dict(row))

    async def releases(self) -> list[Release]:
        return [Release(**dict(r)) for r in await self._all("SELECT * FROM releases ORDER BY security_version, version")]

    async def release_revoked(self, firmware_hash: str) -> bool:
        return await self._one("SELECT 1 FROM revoked_releases WHERE firmware_hash = ?", (firmware_hash,)) is not None

    async def security_floor(self) -> int:
        """The lowest security version any seal may run (raised by the central store, never lowered)."""
        row = await self._one("SELECT value FROM meta WHERE key = 'security_floor'")
        return int(row["value"]) if row else 0

    async def device_security_version(self, device_id: str) -> int:
        row = await self._one("SELECT security_version FROM device_firmware WHERE device_id = ?", (device_id,))
        return int(row["security_version"]) if row else 0

    async def devices(self) -> list[DeviceView]:
        return [_device_from_row(r) for r in await self._all(f"{_DEVICES} WHERE d.retired = 0 ORDER BY d.name")]

    async def set_last_status(self, device_id: str, status: dict[str, Any] | None, seen_at: str) -> None:
        """Volatile: the latest status reply, for screens; not a record (the ledger has the events)."""
        await self.conn.execute(
            "UPDATE devices SET last_status = ?, last_seen = ? WHERE device_id = ?",
            (json.dumps(status) if status is not None else None, seen_at, device_id),
        )

    async def mark_all_offline(self) -> None:
        """At agent start nothing is connected yet, whatever the last run left behind."""
        await self.conn.execute("UPDATE devices SET online = 0")

    # -- sealed device keys ----------------------------------------------------

    async def put_sealed_key(self, device_id: str, sealed: SealedKey, fingerprint: str, stored_at: str) -> None:
        await self.conn.execute(
            "INSERT INTO device_keys (device_id, nonce, sealed, fingerprint, stored_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (device_id) DO UPDATE SET nonce = excluded.nonce, sealed = excluded.sealed, "
            "fingerprint = excluded.fingerprint, stored_at = excluded.stored_at",
            (device_id, sealed.nonce, sealed.ciphertext, fingerprint, stored_at),
        )

    async def sealed_key(self, device_id: str) -> tuple[SealedKey, str] | None:
        row = await self._one("SELECT nonce, sealed, fingerprint FROM device_keys WHERE device_id = ?", (device_id,))
        return None if row is None else (SealedKey(row["nonce"], row["sealed"]), row["fingerprint"])
