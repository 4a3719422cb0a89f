"""Labour dispatch's lines on the ledger timeline: every kind worded in Chinese, people as 名字(id), amounts in
yuan, and no personal number (phone, sealed ID or bank account, the data key, a reason of absence) in any line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edge_support import config_for
from wording_support import latin_words, shown_ids

from edge.kernel.config import EdgeConfig
from edge.kernel.parts import Parts
from edge.ledger import Entry
from edge.modules import PARTS
from edge.modules.work_order import kinds as K
from edge.modules.work_order.summary import summarize
from edge.web.ledgerview import summary

PHONE, REASON_AWAY = "13857100003", "住院治疗"
ID_SEALED, BANK_SEALED, DIGEST = "9f3a" * 20, "5be1" * 20, "c0de" * 16
KEY_NONCE, KEY_CIPHERTEXT = "a1b2c3" * 4, "d4e5f6" * 16
ORDER, PAY = "WO-2026W49-01", "PAY-2026W49-01"
ROUTE = {"rule": "work_order.head", "mode": "chain", "n": 1, "approvers": ["zhangwei"]}

# One body per kind, as edge/modules/work_order/desk.py (and the kernel's RouteDesk for the decisions) records it.
BODIES: dict[str, dict[str, Any]] = {
    K.KEY: {"nonce": KEY_NONCE, "ciphertext": KEY_CIPHERTEXT},
    K.WORKER_REGISTERED: {
        "worker_id": "W003", "name": "周小妹", "trade": "cleaning", "area": "红丰一片", "group": "一组", "rotation": 3,
        "phone": PHONE, "id_sealed": ID_SEALED, "id_digest": DIGEST, "bank_sealed": BANK_SEALED,
        "relatives": ["liming"], "by": "liming", "account": "host:test",
    },
    K.WORKER_STATUS: {"worker_id": "W006", "status": "unavailable", "reason": REASON_AWAY, "from": "2026-11-30",
                      "to": "2026-12-13", "by": "liming", "account": "host:test"},
    K.ORDER_FILED: {
        "order_id": ORDER, "week": "2026-W49", "content": "红丰路及村口落叶清扫", "trade": "cleaning", "headcount": 3,
        "place": "红丰路一组至三组", "start": "2026-11-30", "end": "2026-12-01", "days": 2, "rate_fen": 16_000,
        "amount_fen": 96_000, "applicant": "liming", "account": "host:test", "route": ROUTE, "emergency": True,
        "emergency_reason": "暴雨后道路积泥",
    },
    K.APPROVAL: {"order_id": ORDER, "approver": "zhangwei", "account": "host:test", "count": 1, "needed": 1},
    K.APPROVED: {"pay_id": PAY, "approvers": ["zhaolei", "chenjing"]},
    K.APPROVAL_REFUSED: {
        "order_id": ORDER, "person": "liming", "account": "host:test", "reason": "self_approval",
        "message": "不能审批自己提交的派工单 cannot approve one's own work order", "status": "pending", "attempt": 1,
        "recorded_at_most": 3,
    },
    K.REJECTED: {"pay_id": PAY, "approver": "zhaolei", "account": "host:test", "reason": "出勤天数与现场记录不符"},
    K.PLAN_DRAFTED: {
        "week": "2026-W49", "total_fen": 96_000, "by": "liming", "account": "host:test",
        "lines": [{"order_id": ORDER, "start": "2026-11-30", "end": "2026-12-01", "content": "红丰路及村口落叶清扫",
                   "trade": "cleaning", "place": "红丰路一组至三组", "headcount": 3, "rate_fen": 16_000, "amount_fen": 96_000}],
    },
    K.PLAN_APPROVED: {
        "week": "2026-W49", "meeting_day": "2026-11-30", "attendees": ["张伟", "赵磊", "陈静", "李明"],
        "minutes": "审议本周用工计划，按公开轮派顺序派工，同意。", "orders": [ORDER], "total_fen": 96_000,
        "emergencies": ["WO-2026W48-03"], "by": "zhangwei", "account": "host:test",
    },
    K.DISPATCHED: {
        "order_id": ORDER, "trade": "cleaning", "mode": "rotation", "workers": ["W004", "W005", "W007"],
        "skipped": [{"worker": "W002", "reason": "blacklisted"}, {"worker": "W003", "reason": "relative"}],
        "cursor_before": 1, "cursor_after": 7, "applicant": "liming", "by": "liming", "account": "host:test",
    },
    K.ATTENDANCE: {"order_id": ORDER, "day": "2026-11-30", "marks": {"W004": 2, "W005": 1, "W007": 0}, "by": "wangfang",
                   "account": "host:test"},
    K.PAY_FILED: {
        "pay_id": PAY, "order_id": ORDER, "total_fen": 40_000, "rate_fen": 16_000,
        "lines": [{"worker": "W004", "half_days": 2, "amount_fen": 16_000},
                  {"worker": "W005", "half_days": 3, "amount_fen": 24_000}],
        "route": {"rule": "work_order.pay", "mode": "chain", "n": 2, "approvers": ["zhaolei", "chenjing"]},
        "by": "liming", "account": "host:test",
    },
    K.PAID: {"pay_id": PAY, "order_id": ORDER, "method": "bank", "transfer_ref": "NB-202612040001", "total_fen": 40_000,
             "by": "chenjing", "account": "host:test"},
}  # fmt: skip


def config(tmp_path: Path) -> EdgeConfig:
    return config_for(tmp_path, "socket://127.0.0.1:9")


def line(kind: str, cfg: EdgeConfig) -> str:
    text = summarize(Entry(7, "2026-11-30T02:00:00Z", kind, BODIES[kind], b"\0" * 32, b"\1" * 32), cfg)
    assert text, kind
    return text


def leftover_latin(text: str, cfg: EdgeConfig) -> list[str]:
    """Runs of 3+ Latin letters once ids (WO-2026W49-01), dates and the roster ids shown in 名字(id) are out."""
    return latin_words(text, [shown_ids(person.id for person in cfg.people.values())])


def test_every_kind_is_worded_in_chinese(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    assert set(BODIES) == set(K.KINDS)
    for kind in BODIES:
        assert leftover_latin(line(kind, cfg), cfg) == [], line(kind, cfg)


def test_key_facts_appear(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    filed = line(K.ORDER_FILED, cfg)
    assert all(fact in filed for fact in ("李明(liming)", ORDER, "保洁", "¥160.00", "¥960.00", "暴雨后道路积泥"))
    dispatched = line(K.DISPATCHED, cfg)
    assert all(fact in dispatched for fact in ("轮派", "W004、W005、W007", "W002（黑名单）", "W003（申请人亲属回避）", "1 → 7"))
    posted = {**BODIES[K.DISPATCHED], "mode": "posted", "cursor_before": None, "cursor_after": None, "takers": ["W007"]}
    posted_line = summarize(Entry(8, "2026-11-30T03:00:00Z", K.DISPATCHED, posted, b"\0" * 32, b"\1" * 32), cfg)
    assert posted_line is not None and "公开招工" in posted_line and "游标" not in posted_line
    assert "王芳(wangfang)" in line(K.ATTENDANCE, cfg) and "W005 半天" in line(K.ATTENDANCE, cfg)
    assert "审批自己的申请" in line(K.APPROVAL_REFUSED, cfg)
    assert f"工资单 {PAY}" in line(K.APPROVED, cfg) and "赵磊(zhaolei)、陈静(chenjing)" in line(K.APPROVED, cfg)
    paid = line(K.PAID, cfg)
    assert all(fact in paid for fact in ("陈静(chenjing)", PAY, "银行转账", "¥400.00", "NB-202612040001"))
    assert "WO-2026W48-03" in line(K.PLAN_APPROVED, cfg) and "参会 4 人" in line(K.PLAN_APPROVED, cfg)


def test_no_personal_number_or_key_in_any_line(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    text = "\n".join(line(kind, cfg) for kind in BODIES)
    for secret in (PHONE, ID_SEALED, BANK_SEALED, DIGEST, KEY_NONCE, KEY_CIPHERTEXT, REASON_AWAY):
        assert secret not in text
    assert "周小妹（W003）" in line(K.WORKER_REGISTERED, cfg) and "2026-11-30 至 2026-12-13" in line(K.WORKER_STATUS, cfg)


def test_the_timeline_uses_the_module_wording(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    entry = Entry(7, "2026-11-30T02:00:00Z", K.PAID, BODIES[K.PAID], b"\0" * 32, b"\1" * 32)
    assert summary(entry, cfg, {}, Parts(PARTS)) == line(K.PAID, cfg)
