"""The wire format between an edge and the central store, shared by both ends.

Everything an edge sends is authenticated with its **ledger key** — the
Ed25519 key that already signs its checkpoints and whose public half an
administrator enrolled at the store (``ledger_pub.pem``). Each request carries
four headers::

    X-Qinglian-Edge       the edge id, as enrolled
    X-Qinglian-Key        key id: SHA-256 of the raw 32-byte public key, hex
    X-Qinglian-Time       the edge's clock, Unix seconds
    X-Qinglian-Signature  Ed25519 over the text below, hex

and the signature covers, one field a line, under its own domain string (so a
request signature can never pass for a checkpoint signature or vice versa)::

    qinglian-sync-request/v1
    <edge id>
    <METHOD>
    <path, with ?query if any>
    <time>
    <SHA-256 of the body, hex>

A push body (``POST /api/v1/sync/{edge}/batches``) is JSON::

    {"from_index": 128,
     "entries": [{"index": 128, "ts": "...Z", "kind": "seal.press",
                  "body": {...}, "hash": "<chain hash, hex>"}, ...],
     "checkpoint": {"tree_size": 192, "root_hash": "<hex>", "timestamp": "...Z",
                    "signature": "<hex>"},
     "consistency": {"from_size": 128, "proof": ["<hex>", ...]},
     "config_hash": "<hex of the merged config the edge holds, or null>"}

The entries are exactly ``[from_index, checkpoint.tree_size)``, so a batch
always ends on a checkpoint the edge signed, and the consistency proof runs
from the store's last accepted checkpoint to the new one.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from .decisiondoc import REFUSALS as DOCUMENT_REFUSALS
from .entry import Entry
from .keys import PUBLIC_KEY_FILENAME, load_public_key

REQUEST_DOMAIN = "qinglian-sync-request/v1"
API_PREFIX = "/api/v1/sync"

H_EDGE = "X-Qinglian-Edge"
H_KEY = "X-Qinglian-Key"
H_TIME = "X-Qinglian-Time"
H_SIGNATURE = "X-Qinglian-Signature"

#: How far an edge's clock may be from the store's (seconds) before a request is refused as stale.
#: A replay inside the window is harmless: pushes are idempotent and reads are the edge's own state.
MAX_CLOCK_SKEW_S = 300

#: Entry kind the edge appends when it receives a new merged configuration.
CONFIG_RECEIVED = "config_received"
#: Entry kinds whose bodies the store reads: the text read from a stamped page and its comparison with the original
#: (the seal writes them; the store indexes them for search).
PHOTO_OCR = "photo.ocr"
PHOTO_CHECK = "photo.check"
#: Entry kinds that are anomalies in themselves, with the anomaly each stands for: the edge writes it in the body
#: (``anomaly``) and the store flags the kind for supervisors, so the two ends cannot name it differently.
ANOMALY_KINDS = {
    "device.events_lost": "events_lost",  # events the device dropped before the edge recorded them
    "device.rogue_grant": "rogue_grant",  # a grant this edge never issued: the device key may have been read out
    "device.malformed_event": "malformed_event",  # an authenticated event no firmware sends
}
#: The anomalies an edge's entries report (a body's ``anomaly``, a photo check's ``flags``), in Chinese: the edge's
#: ledger page and the store's views name them alike.
ANOMALY_NAMES = {
    "tamper_open": "外壳被打开", "tamper_closed": "外壳复位", "locked_press": "锁定时按压",
    "press_outside_use": "授权外盖章", "over_press": "超次盖章", "unknown_grant": "未知授权",
    "unexpected_grant_ok": "意外授权确认", "watchdog_reset": "看门狗复位", "reboot_during_use": "用印中重启",
    "firmware_changed": "固件变更", "events_lost": "事件丢失", "overflow": "事件溢出",
    "maintenance_open": "维护窗口打开", "maintenance_refused": "维护请求被拒",
    "capture_failed": "未拍到盖章照片", "person_capture_failed": "未拍到盖章人照片", "no_person": "照片中未见盖章人",
    "face_detector_missing": "人脸检测模型缺失", "photo_mismatch": "照片与原件不符", "ocr_failed": "照片无法识别",
    "original_unreadable": "原件无法识别", "amount_mismatch": "申报金额与原件不符", "wrong_seal": "印文与本机印章不符",
    "no_original": "无原件可比对", "amount": "金额不符", "title": "标题不符",
    "text": "正文不符", "blank": "空白页", "seal_outside": "印章在监控区外", "unknown_firmware": "未获准的固件",
    "firmware_downgrade": "固件降级", "firmware_revoked": "固件已撤销", "urgent_use": "用印时间外加急用印",
    "rogue_grant": "非本边缘签发的授权(设备已停止授权)", "malformed_event": "设备事件格式错误(设备密钥可能已泄露)",
    **DOCUMENT_REFUSALS,  # the central's signed documents an edge refused (document_refused entries)
}  # fmt: skip
#: The roles a person of the roster may hold, on the edge (``[[people]]``) and in the roster the store sends down.
ROSTER_ROLES = ("applicant", "custodian", "approver")
#: The edge id the last sync round used, in the data folder.
EDGE_ID_FILENAME = "edge_id"


def key_id(public_key: Ed25519PublicKey) -> str:
    """A short, stable name for a public key: SHA-256 of its raw bytes, hex."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def default_edge_id(public_key: Ed25519PublicKey) -> str:
    """An id for an edge nobody named: ``edge-`` and the first 16 hex digits of its key id (unique per key)."""
    return f"edge-{key_id(public_key)[:16]}"


def edge_id_of(data_dir: Path) -> str:
    """The id the edge of ``data_dir`` syncs under: its last round's, else :func:`default_edge_id`.

    ``OSError`` / ``ValueError`` when there is neither a recorded id nor a readable ``ledger_pub.pem``.
    """
    try:
        recorded = (Path(data_dir) / EDGE_ID_FILENAME).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        recorded = ""
    return recorded or default_edge_id(load_public_key(Path(data_dir) / PUBLIC_KEY_FILENAME))


def body_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def request_message(edge_id: str, method: str, path: str, timestamp: int, body_sha256: str) -> bytes:
    """The exact bytes a request signature covers. The body enters by its digest only, so the store can hash
    a body as it streams in and check the signature without ever holding an unauthenticated body in memory."""
    return f"{REQUEST_DOMAIN}\n{edge_id}\n{method.upper()}\n{path}\n{timestamp}\n{body_sha256}\n".encode()


def sign_request(
    key: Ed25519PrivateKey, edge_id: str, method: str, path: str, body: bytes, now: float | None = None
) -> dict[str, str]:
    """The authentication headers for one request."""
    timestamp = int(time.time() if now is None else now)
    signature = key.sign(request_message(edge_id, method, path, timestamp, body_digest(body)))
    return {
        H_EDGE: edge_id,
        H_KEY: key_id(key.public_key()),
        H_TIME: str(timestamp),
        H_SIGNATURE: signature.hex(),
    }


def verify_request_signature(
    public_key: Ed25519PublicKey,
    edge_id: str,
    method: str,
    path: str,
    timestamp: int,
    body_sha256: str,
    signature_hex: str,
) -> bool:
    """Whether ``signature_hex`` signs this request, its body given by :func:`body_digest`."""
    try:
        signature = bytes.fromhex(signature_hex)
        public_key.verify(signature, request_message(edge_id, method, path, timestamp, body_sha256))
    except (ValueError, InvalidSignature):
        return False
    return True


def entry_to_wire(entry: Entry) -> dict[str, Any]:
    """An entry as pushed: its canonical fields and its chain hash (the store recomputes both hashes)."""
    return {"index": entry.index, "ts": entry.ts, "kind": entry.kind, "body": entry.body, "hash": entry.hash.hex()}


def canonical_hash(document: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the canonical JSON of a configuration document: its identity on both ends."""
    text = json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()
