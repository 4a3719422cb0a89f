"""The seal's entries on the ledger's timeline: one line of Chinese for every kind the seal writes, worded by the
seal itself (``Part.summarize``), from bodies as its desk, its devices, its cameras and the flashing tool write
them; the board named as the console knows it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from wording_support import ACCOUNT_NAMES, latin_words, shown_ids

from edge.kernel.config import EdgeConfig, Person
from edge.kernel.parts import Parts
from edge.ledger import Entry
from edge.seal import projection as P
from edge.seal.part import SEAL
from edge.seal.summary import summarize
from edge.web.ledgerview import summary

PEOPLE = {
    "liming": Person("liming", "李明", frozenset({"applicant"}), "青莲村"),
    "zhangwei": Person("zhangwei", "张伟", frozenset({"approver"}), "青莲村"),
    "chenjing": Person("chenjing", "陈静", frozenset({"approver"}), "青莲村"),
    "wangfang": Person("wangfang", "王芳", frozenset({"custodian"}), "青莲村"),
}
CONFIG = EdgeConfig(Path("edge.toml"), "青莲村", Path("data"), Path("master.key"), (), PEOPLE, ())
PARTS = Parts([SEAL])

BOARD = "esp32-601dec0de001"
NAMES = {BOARD: "公章一号"}  # as the console knows the enrolled board
HASH = "f4c397b827a7a8e0cc52c6320ce2bc9608ac7f6efd51ac6ec4ac213db17fc6ea"
SHA = "d342dc2bb75a7a7890185a7c060955c7db2159bd25ebbd625d458e2f61a879b7"
MAC = "1d0cd9815f82a1e7343e2f44ed81445e60c04786b5df68a5566b044bc1f524ca"
ROUTE = {"rule": "large_amount", "mode": "chain", "n": 2, "approvers": ["zhangwei", "chenjing"]}
REQ = {"request_id": "SR-000001"}
ON_BOARD = {"device_id": BOARD}
FIELDS = {"title": "村道修缮工程合同", "amount_fen": 250000, "party_a": "青莲村股份经济合作社"}


def _event(kind: str, event_id: int, **fields: Any) -> dict[str, Any]:
    """A board's event as edge/seal/devices.py records it under seal.<kind>."""
    return {**ON_BOARD, "event": {"id": event_id, "k": kind, "t": 123456, **fields}, "event_id": event_id}


BODIES: dict[str, dict[str, Any]] = {
    P.FILED: {**REQ, "amount_fen": 250000, "applicant": "liming", "custodian": "wangfang", **ON_BOARD,
              "device_name": "official-1", "document": {"name": "合同.pdf", "sha256": SHA, "size": 34},
              "matter": "村委会证明", "presses": 2, "seal": "official", "route": ROUTE, "account": "liming"},
    P.ROUTED: {**REQ, "declared_fen": 250000, "read_fen": 260000, "read": "read", "route_fen": 260000,
               "document": SHA, "anomaly": "amount_mismatch", "route": ROUTE},
    P.APPROVAL: {**REQ, "account": "zw", "approver": "zhangwei", "count": 1, "needed": 2},
    P.APPROVED_KIND: {**REQ, "approvers": ["zhangwei", "chenjing"]},
    P.APPROVAL_REFUSED: {**REQ, "account": "chenjing", "person": "chenjing", "reason": "outside_hours",
                         "message": "不在用印时间内", "status": "pending", "attempt": 3, "recorded_at_most": 3},
    P.REJECTED: {**REQ, "account": "zw", "approver": "zhangwei", "reason": "金额与原件不符"},
    P.EXPIRED_KIND: {**REQ, "approved_at": "2026-12-03T16:19:33.358269Z", **ON_BOARD, "reason": "approval_ttl", "ttl_s": 300},
    P.CLOSED: {**REQ, **ON_BOARD, "grant_no": 1, "presses_approved": 2, "presses_used": 2, "reason": "presses_used"},
    P.REGRANTED: {**REQ, "approver": "chenjing", "account": "chenjing", "after_grant_no": 1},
    P.WITHDRAWN_KIND: {**REQ, "applicant": "liming", "account": "liming"},
    P.COMMENTED: {**REQ, "approver": "zhangwei", "account": "zw", "comment": "请附上会议纪要"},
    P.REMINDED: {**REQ, "person": "liming", "account": "liming", "awaiting": ["zhangwei"]},
    P.URGENT: {**REQ, "applicant": "liming", "account": "liming", "reason": "明早报送镇政府", "anomaly": "urgent_use",
               "route": {**ROUTE, "approvers": ["zhangwei", "chenjing", "wangfang"], "n": 3, "urgent": "明早报送镇政府"}},
    P.HANDED_OVER: {**REQ, "approver": "zhangwei", "to": "chenjing", "reason": "出差", "account": "zw", "route": ROUTE},
    P.FAILED_KIND: {**REQ, "grant_no": 2, "reason": "grant_refused:bad_mac"},
    P.GRANT_ISSUED: {**REQ, "at": 123456, **ON_BOARD, "mac": MAC, "no": 1, "presses": 2, "sid": "5e551011", "valid_s": 60},
    P.GRANT_UNSENT: {**REQ, **ON_BOARD, "no": 2, "reason": "device_blocked"},
    P.GRANT_LAPSED: {**REQ, **ON_BOARD, "no": 2, "reason": "session_ended"},
    P.DEVICE_ENROLLED: {"custodian": "wangfang", **ON_BOARD, "fingerprint": "2c22eb3109de343e", "name": "公章一号",
                        "seal": "official", "url": "socket://127.0.0.1:9"},
    P.DEVICE_ONLINE: {"boots": 3, **ON_BOARD, "first": 5, "fw": HASH, "last_grant": 0, "lock": "locked", "pending": 0,
                      "presses": 10, "sid": "5e551011", "tamper": False, "ver": 1},
    P.DEVICE_OFFLINE: {**ON_BOARD},
    P.DEVICE_EVENTS_LOST: {"anomaly": "events_lost", **ON_BOARD, "from": 1, "reason": "before_enrolment", "to": 4},
    P.DEVICE_ROGUE_GRANT: {"anomaly": "rogue_grant", **ON_BOARD, "event_id": 15, "fingerprint": "2c22eb3109de343e",
                           "issued_upto": 3, "no": 9, "reason": "unknown_grant"},
    P.DEVICE_MALFORMED_EVENT: {**ON_BOARD, "event_id": 16, "problem": "字段 no 应为整数", "anomaly": "malformed_event",
                               "raw": '{"id": 16, "k": "press", "no": "x"}'},
    P.DEVICE_BLOCK_CLEARED: {**ON_BOARD, "rogue_entry": 40, "rogue_no": 9, "old_fingerprint": "2c22eb3109de343e",
                             "fingerprint": "77aa01bc34de56f0"},
    P.FIRMWARE_ALLOWED: {"firmware_hash": HASH, "key_id": "9c1e2f3a4b5c6d7e", "security_version": 2,
                         "target": "xtensawin", "version": "0.1.0"},
    P.FIRMWARE_REVOKED: {"firmware_hash": HASH, "config": "ab12cd34ef56ab12cd34ef56"},
    P.SECURITY_FLOOR: {"min_security_version": 3, "config": "ab12cd34ef56ab12cd34ef56"},
    P.FIRMWARE_FLASHED: {**ON_BOARD, "device": "公章一号", "provisioned": True, "version": "0.1.0", "security_version": 2,
                         "firmware_hash": HASH, "files": 14, "ms": 41250, "target": "xtensawin"},
    P.FIRMWARE_FLASH_FAILED: {**ON_BOARD, "device": "公章一号", "version": "0.1.0", "reason": "串口无响应"},
    P.MAINTENANCE_ISSUED: {**ON_BOARD, "mac": MAC, "no": 3, "secs": 60, "sid": "5e551011"},
    P.AGENT_STARTED: {"camera": True, "pid": 16011, "village": "青莲村"},
    P.AGENT_STOPPED: {"pid": 16011},
    P.PHOTO: {"bytes": 232902, **ON_BOARD, "event_id": 4, "grant_no": 1, "press_entry": 13, "press_no": 1, **REQ, "sha256": SHA},
    P.CAPTURE_FAILED: {**ON_BOARD, "press_entry": 13, "press_no": 2, **REQ, "reason": "摄像头无响应", "anomaly": "capture_failed"},
    P.PHOTO_OCR: {"backend": "tesseract", "fields": FIELDS, "ink_ppm": 3083, "ms": 1045, "photo": SHA, "press_entry": 13,
                  "press_no": 1, **REQ},
    P.PHOTO_CHECK: {"document": HASH, "flags": ["amount"], "match": False, "photo": SHA, "press_entry": 13, "press_no": 1,
                    **REQ, "score_permille": 612, "anomaly": "photo_mismatch",
                    "impression": {"flag": "wrong_seal", "expected_kind": "公章", "read_kind": "财务专用章"}},
    P.DOCUMENT_OCR: {"amount_fen": 250000, "document": HASH, "ms": 1906, **REQ,
                     "reading": {"backend": "tesseract", "fields": FIELDS}},
    "photo.person": {**REQ, "moment": "unlock", "trigger_entry": 7, "sha256": SHA, "faces": 1},
    "photo.person_failed": {**REQ, "moment": "last_press", "trigger_entry": 8, "reason": "拍照失败",
                            "anomaly": "person_capture_failed"},
    "photo.person_deleted": {**REQ, "sha256": SHA, "retention_days": 1095},
    "seal.press": {**_event("press", 7, n=1, no=1, total=11), "grant_no": 1, **REQ},
    "seal.locked_press": {**_event("locked_press", 13, total=12), "anomaly": "locked_press"},
    "seal.unlocked": {**_event("unlocked", 6, no=1), "grant_no": 1, **REQ},
    "seal.relocked": {**_event("relocked", 9, no=1, reason="presses_used", used=2), "grant_no": 1, **REQ},
    "seal.grant_ok": {**_event("grant_ok", 5, no=1), "grant_no": 1, **REQ},
    "seal.grant_refused": {**_event("grant_refused", 10, no=2, reason="stale_session"), "grant_no": 2, **REQ,
                           "anomaly": "grant_refused_stale_session", "decision": "fail"},
    "seal.boot": {**_event("boot", 14, boots=4, cause="watchdog", fw=HASH, presses=12), "anomaly": "watchdog_reset"},
    "seal.tamper": {**_event("tamper", 11, active=True), "anomaly": "tamper_open"},
    "seal.overflow": {**_event("overflow", 20, dropped=3), "anomaly": "overflow"},
    "seal.maintenance_open": _event("maintenance_open", 21, no=3, secs=60),
    "seal.maintenance_closed": _event("maintenance_closed", 22, no=3),
    "seal.maintenance_refused": _event("maintenance_refused", 23, no=4, reason="busy"),
}  # fmt: skip

# What may stay Latin in a seal's line besides ids and dates: a roster id shown as 名字(id), an account's name,
# the board's id, hex hashes and key ids (shortened), the route rule's name from the config, and the raw text a
# board sent.
SHOWN = (shown_ids(p.id for p in PEOPLE.values()), ACCOUNT_NAMES, BOARD, r"\b[0-9a-f]{12,}\b",
         rf"审批路线 {ROUTE['rule']}", "原文 .*$")  # fmt: skip


def entry(kind: str, body: dict[str, Any]) -> Entry:
    return Entry(7, "2026-12-04T02:00:00Z", kind, body, bytes(32), bytes(32))


def line(kind: str, names: dict[str, str] = NAMES) -> str:
    return summary(entry(kind, BODIES[kind]), CONFIG, names, PARTS)


def test_the_seal_words_its_own_kinds() -> None:
    assert SEAL.summarize is summarize
    assert set(BODIES) == set(P.KINDS)
    for kind, body in BODIES.items():
        worded = summarize(entry(kind, body), CONFIG)
        assert worded, kind
        assert not worded.startswith(P.KINDS[kind] + "（内容不完整）") and "{" not in worded.replace('{"id"', ""), kind


def test_every_line_is_chinese() -> None:
    for kind in BODIES:
        assert not latin_words(line(kind), SHOWN), (kind, line(kind))
        assert re.search(r"[\u4e00-\u9fff]", line(kind)), kind


def test_firmware_entries_are_worded() -> None:
    assert line(P.FIRMWARE_ALLOWED) == (
        "固件 0.1.0（安全版本 2，编译版，签名密钥 9c1e2f3a4b5c）获准使用，哈希 f4c397b827a7"
    )
    assert line(P.FIRMWARE_REVOKED) == "固件 f4c397b827a7 被中心配置 ab12cd34ef56 撤销，运行它的设备不再获得授权"
    assert line(P.SECURITY_FLOOR) == "中心配置 ab12cd34ef56 将固件安全版本下限提高到 3，低于它的固件不再获得授权"
    assert line(P.FIRMWARE_FLASHED) == (
        "公章一号 刷写固件 0.1.0（安全版本 2，编译版，14 个文件，用时 41.2 秒），哈希 f4c397b827a7，并写入新的设备身份"
    )
    assert line(P.FIRMWARE_FLASH_FAILED) == "公章一号 刷写固件 0.1.0 失败：串口无响应"
    for kind in BODIES:
        if kind.startswith("firmware."):
            assert HASH not in line(kind) and "security_version" not in line(kind) and "key_id" not in line(kind)


def test_the_key_facts_are_in_the_line() -> None:
    assert line(P.FILED) == "李明(liming) 提交 SR-000001：公章×2，¥2,500.00，村委会证明"
    assert line(P.APPROVAL) == "张伟(zhangwei)（账号 zw） 同意 SR-000001（1/2）"
    assert line(P.APPROVAL_REFUSED) == (
        "陈静(chenjing)（账号 chenjing） 对 SR-000001 的审批被拒绝：用印时间外不能作最终审批"
        "（一小时内同一申请只记 3 次，此后的不再记录）"
    )
    assert line(P.URGENT) == "李明(liming)（账号 liming） 申请在用印时间外加急用印 SR-000001：明早报送镇政府（共需 3 人同意）"
    assert line(P.FAILED_KIND) == "SR-000001 授权失败：设备拒绝授权（授权签名不符）"
    assert line("seal.grant_refused") == "公章一号 设备拒绝授权（授权属于已结束的设备会话）"
    assert line(P.DEVICE_EVENTS_LOST) == "公章一号 事件 1–4 丢失（设备登记之前的事件）"
    assert line(P.MAINTENANCE_ISSUED) == "向 公章一号 发出维护授权 #3（60 秒）"
    assert line("seal.relocked") == "公章一号 上锁（次数用完，已用 2）"
    assert line("photo.person") == f"SR-000001 开锁时盖章人照片 {SHA[:12]}（1 张人脸）"
    assert MAC not in line(P.GRANT_ISSUED) and MAC not in line(P.MAINTENANCE_ISSUED)


def test_the_board_is_named_as_the_console_knows_it() -> None:
    assert line(P.DEVICE_ONLINE) == "公章一号 上线（已上锁，累计 10 次）"
    assert line(P.DEVICE_ONLINE, {}) == f"{BOARD} 上线（已上锁，累计 10 次）"  # a board the console has no name for
    assert line(P.DEVICE_OFFLINE, {BOARD: "财务章"}) == "财务章 离线"


def test_a_malformed_seal_entry_shows_its_name_and_no_body() -> None:
    # A body without the fields its kind promises (the projection refused it too): the seal words its kinds, so
    # the timeline shows no body text of it.
    broken = {**REQ, "secret": "5e" * 16}
    assert summary(entry(P.FILED, broken), CONFIG, NAMES, PARTS) == "提交申请（内容不完整）"
    assert summary(entry(P.URGENT, {**REQ, "route": None}), CONFIG, NAMES, PARTS) == "加急用印（内容不完整）"
