"""The procurement entries on the ledger's timeline: one line of Chinese for every kind, from bodies as the desk,
the routing desk and the central's documents write them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from wording_support import latin_words, shown_ids

from edge.kernel.config import EdgeConfig, Person
from edge.ledger import Entry
from edge.modules.procurement import PROCUREMENT
from edge.modules.procurement import kinds as K
from edge.modules.procurement.summary import summarize

PEOPLE = {
    "liming": Person("liming", "李明", frozenset({"applicant"}), "青莲村"),
    "zhangwei": Person("zhangwei", "张伟", frozenset({"approver"}), "青莲村"),
    "chenjing": Person("chenjing", "陈静", frozenset({"approver", "applicant"}), "青莲村"),
}
CONFIG = EdgeConfig(Path("edge.toml"), "青莲村", Path("data"), Path("master.key"), (), PEOPLE, ())

BY = {"account": "liming", "person": "liming"}
FILE = {"sha256": "ab" * 32, "name": "invoice.pdf", "size": 2048}
SIGNATURE = "5e" * 64
DOCUMENT = {"id": "0f" * 16, "village": "qinglian-edge", "issued_at": "2026-01-02T01:00:00.000000Z",
            "decision_index": 17, "signature": SIGNATURE}  # fmt: skip
LINES = [{"name": "办公桌", "unit": "张", "quantity": 10, "unit_fen": 150_000, "amount_fen": 1_500_000}]
PURCHASE = {"day": "2026-03-02", "category": "办公用品", "project": "村委会办公室改造", "supplier": "青莲文具店",
            "channel": "offline", "amount_fen": 1_500_000, "invoice": FILE, "lines": LINES}  # fmt: skip
GROUPS = [
    {"rule": "same_project", "key": "村委会办公室改造", "ids": ["CG-00001", "本次"], "total_fen": 1_800_000,
     "start": "2026-02-01", "end": "2026-03-02"},
    {"rule": "same_category_2_months", "key": "办公用品", "ids": ["CG-00001", "本次"], "total_fen": 1_800_000,
     "start": "2026-02-01", "end": "2026-04-01"},
]  # fmt: skip
ROUTE = {"rule": "procurement_override", "mode": "n_of_m", "n": 1, "approvers": ["chenjing", "zhangwei"]}
DEMAND = {"title": "村委会办公桌椅", "category": "办公用品", "project": "", "place": "青莲村村委会",
          "delivery_date": "2026-02-01", "ceiling_fen": 1_800_000,
          "lines": [{"name": "办公桌", "spec": "1.2米", "unit": "张", "quantity": 10, "ceiling_unit_fen": 180_000}],
          }  # fmt: skip
OVERRIDE = {"id": "LW-00001", "reason": "村委会急需，平台无货", "approvers": ["zhangwei"], "groups": GROUPS}


def _routed(key: str, item: str) -> dict[str, dict[str, Any]]:
    """What the kernel's routing desk writes under one prefix (``edge.kernel.routing.RouteDesk``)."""
    return {
        "approval": {key: item, "approver": "zhangwei", "account": "zhangwei", "count": 1, "needed": 1},
        "approved": {key: item, "approvers": ["zhangwei"]},
        "approval_refused": {key: item, "person": "liming", "account": "liming", "reason": "self_approval",
                             "message": "不能审批自己的申请", "status": "pending", "attempt": 3, "recorded_at_most": 3},
        "rejected": {key: item, "approver": "zhangwei", "account": "zhangwei", "reason": "应走平台采购"},
    }  # fmt: skip


BODIES: dict[str, dict[str, Any]] = {
    K.PURCHASE_RECORDED: {**PURCHASE, "id": "CG-00002", "override": OVERRIDE, "demand_id": None, **BY},
    K.PURCHASE_REFUSED: {"purchase": PURCHASE, "groups": GROUPS, "message": "不能登记为线下采购：……", **BY},
    K.OVERRIDE_REQUESTED: {"id": "LW-00001", "purchase": PURCHASE, "reason": "村委会急需，平台无货",
                           "groups": GROUPS, "message": "不能登记为线下采购：……", "route": ROUTE, **BY},
    **{f"{K.OVERRIDE}.{k}": body for k, body in _routed("override_id", "LW-00001").items()},
    K.DEMAND_FILED: {**DEMAND, "id": "XQ-00001", "documents": [FILE], "route": ROUTE, **BY},
    **{f"{K.DEMAND}.{k}": body for k, body in _routed("demand_id", "XQ-00001").items()},
    K.DEMAND_SUBMITTED: {"demand_id": "XQ-00001", "village": "青莲村",
                         "demand": {**DEMAND, "id": "XQ-00001", "documents": [FILE]}, "approvers": ["zhangwei"]},
    K.DEMAND_APPROVED: {"demand_id": "XQ-00001", "ceiling_fen": 1_800_000,
                        "closes_at": "2026-01-03T02:30:00.000000Z", "document": DOCUMENT},
    K.DEMAND_RETURNED: {"demand_id": "XQ-00001", "reason": "交货地点不明确", "document": DOCUMENT},
    K.AWARD: {"demand_id": "XQ-00001", "award_id": "qinglian-edge-XQ-00001",
              "supplier": {"id": "chengxin", "name": "诚信家具厂"}, "amount_fen": 1_700_000, "bids": 2,
              "bid_details": [{"id": "4", "supplier": {"id": "chengxin", "name": "诚信家具厂"},
                               "amount_fen": 1_700_000, "at": "2026-01-03T01:00:00.000000Z"}],
              "document": DOCUMENT},
    K.DEMAND_FAILED: {"demand_id": "XQ-00001", "reason": "竞价期内无有效报价，流标", "document": DOCUMENT},
    K.CONTRACT_SIGNED: {"demand_id": "XQ-00001", "contract_no": "HT-2026-001", "signed_on": "2026-01-05",
                        "file": FILE, **BY},
    K.DELIVERY_CHECKED: {"demand_id": "XQ-00001", "received": [9], "passed": False,
                         "message": "验收不合格：办公桌 需求 10，到货 9", "photo": FILE, "checked_on": "2026-01-06", **BY},
    K.PAYMENT_RECORDED: {"demand_id": "XQ-00001", "amount_fen": 1_700_000, "paid_on": "2026-01-08",
                         "voucher": FILE, **BY},
}  # fmt: skip

# What may stay ASCII in a line: ids (CG-00001, HT-2026-001), ISO dates, a roster id shown as 名字(id).
SHOWN_IDS = shown_ids(p.id for p in PEOPLE.values())


def _line(kind: str) -> str:
    line = summarize(Entry(1, "2026-01-02T01:00:00Z", kind, BODIES[kind], b"\0" * 32, b"\1" * 32), CONFIG)
    assert line, kind
    return line


def test_every_kind_is_worded_in_chinese() -> None:
    assert set(BODIES) == set(K.KINDS) == set(PROCUREMENT.kinds)
    for kind in BODIES:
        assert not latin_words(_line(kind), [SHOWN_IDS]), (kind, _line(kind))


def test_the_key_facts_are_in_the_line() -> None:
    assert _line(K.PURCHASE_RECORDED) == (
        "李明(liming) 登记采购 CG-00002：办公用品，青莲文具店，¥15,000.00（线下采购，2026-03-02），项目“村委会办公室改造”，"
        "例外登记 LW-00001（张伟(zhangwei) 同意）"
    )
    refused = _line(K.PURCHASE_REFUSED)
    assert "同一项目累计“村委会办公室改造” ¥18,000.00" in refused and "达到 ¥5,000.00" in refused
    assert "同类物品两个月内累计“办公用品”（2026-02-01 至 2026-04-01）" in refused
    assert _line(f"{K.DEMAND}.approval") == "张伟(zhangwei) 同意 XQ-00001（1/1）"
    assert _line(f"{K.OVERRIDE}.approval_refused").startswith("李明(liming) 对 LW-00001 的审批被拒绝：审批自己的申请")
    assert "最高限价 ¥18,000.00" in _line(K.DEMAND_FILED)
    assert "竞价至 2026-01-03 10:30（北京时间）" in _line(K.DEMAND_APPROVED)  # the central's UTC, as read in the village
    assert _line(K.AWARD) == "采购需求 XQ-00001 定标：诚信家具厂 中标，¥17,000.00（有效报价 2 家）"
    assert _line(K.PAYMENT_RECORDED) == "李明(liming) 登记采购需求 XQ-00001 付款 ¥17,000.00（2026-01-08）"


def test_signatures_and_file_hashes_stay_out() -> None:
    for kind in BODIES:
        line = _line(kind)
        assert SIGNATURE not in line and FILE["sha256"] not in line and "qinglian-edge" not in line, kind


def test_an_account_without_a_roster_person() -> None:
    body = {**BODIES[K.PAYMENT_RECORDED], "account": "host:admin", "person": None}
    line = summarize(Entry(1, "2026-01-02T01:00:00Z", K.PAYMENT_RECORDED, body, b"\0" * 32, b"\1" * 32), CONFIG)
    assert line is not None and line.startswith("本机操作员 admin 登记")
