"""限额工程 on the supervisors' timeline: every kind in one line of Chinese, with who, which project and how much,
and nothing of what the body keeps sealed (the opening's round key and digests, commitments, the revealed value)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edge_support import config_for
from wording_support import ACCOUNT_NAMES, latin_words

import edge.modules.small_project.kinds as K
from edge.kernel.config import EdgeConfig
from edge.kernel.parts import Parts
from edge.ledger import Entry
from edge.modules.small_project import SMALL_PROJECT
from edge.modules.small_project.summary import summarize
from edge.web.ledgerview import summary

KEY = "9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a39281706f5e4d3c2b1a0"  # the opening's round key
DIGEST = "4b227777d4dd1fc61c6f884f48641d02b4d121d3fd328cb08b5531fcacdabf8a"
VALUE = "GC-00001 村民代表掷骰 4-1-6-6-2-3"  # the village's value: in the draw's record, not on the line
COMMITMENT = "a3c5e1f0b2d4c6e8a3c5e1f0b2d4c6e8a3c5e1f0b2d4c6e8a3c5e1f0b2d4c6e8"
POOL = [{"id": f"91330502MA2D0000{n}Y", "name": f"湖州市第{n}建筑工程队", "categories": ["道路"], "blacklisted": False}
        for n in range(1, 6)]  # fmt: skip
INVITED = [{"id": POOL[0]["id"], "name": POOL[0]["name"]}, {"id": POOL[2]["id"], "name": POOL[2]["name"]},
           {"id": POOL[3]["id"], "name": POOL[3]["name"]}]  # fmt: skip
DEMO = {"document": {"id": "demo", "demo": True}}
CLERK = {"account": "host:clerk", "person": None}  # the book-keeper at the host's command line
LINE = {"code": "DL-01", "name": "C25 混凝土路面（厚 20cm）", "unit": "平方米", "quantity": "1200", "guide_fen": 12_000,
        "price_fen": 12_500, "amount_fen": 15_000_000, "above_guide": True, "reason": "村口段须夜间施工"}  # fmt: skip

#: One body per kind, as the desk, the routing desk and the township's documents record them.
BODIES: dict[str, dict[str, Any]] = {
    K.CATALOGUE: {"version": "2026-下半年", "effective": "2026-07-01", **DEMO,
                  "items": [{"code": "DL-01", "name": "C25 混凝土路面（厚 20cm）", "unit": "平方米", "price_fen": 12_000}]},
    K.FILED: {"id": "GC-00001", "name": "西岙自然村道路硬化", "category": "道路", "place": "西岙自然村",
              "scope": "硬化村道 300 米", "catalogue_version": "2026-下半年", "lines": [LINE], "total_fen": 15_000_000,
              "route": {"rule": "道路水利", "mode": "chain", "n": 1, "approvers": ["zhangwei"], "township": ["zhenshen"]},
              **CLERK},
    K.APPROVAL: {"project_id": "GC-00001", "approver": "zhangwei", "account": "zhangwei", "count": 1, "needed": 1},
    K.APPROVED: {"project_id": "GC-00001", "approvers": ["zhangwei"]},
    K.REFUSED: {"project_id": "GC-00001", "person": "chenjing", "account": "chenjing", "reason": "self_approval",
                "message": "不能审批自己申报的工程", "status": "pending", "attempt": 3, "recorded_at_most": 3},
    K.REJECTED: {"project_id": "GC-00001", "approver": "zhaolei", "account": "zhaolei", "reason": "预算偏高，请重新核算"},
    K.TOWNSHIP_STEP: {"project_id": "GC-00001", "approver": "zhenshen", "approve": True, "final": True, "reason": "",
                      **DEMO},
    K.RECOMMENDED: {"project_id": "GC-00001", "contractor": {"id": POOL[0]["id"], "name": POOL[0]["name"]},
                    "commitment": COMMITMENT, "account": "clerk", "person": "liming"},
    K.FIXED: {"project_id": "GC-00001", "category": "道路", "recommended": POOL[0]["id"], "pool": POOL,
              "pool_hash": DIGEST, "commitment": COMMITMENT, "village_commitment": COMMITMENT, **DEMO},
    K.REVEALED: {"project_id": "GC-00001", "value": VALUE, "account": "clerk", "person": "liming"},
    K.DRAWN: {"project_id": "GC-00001", **DEMO, "record": {
        "pool": POOL, "recommended": POOL[0]["id"], "category": "道路", "seed": DIGEST, "pool_hash": DIGEST,
        "seed_sources": [f"village:{VALUE}", "township:GC-00001 乡镇掷骰", "checkpoint:128:5be1a0f4d2"],
        "drawn": [POOL[2]["id"], POOL[3]["id"]]}},
    K.QUOTING: {"project_id": "GC-00001", "invited": INVITED, "hotline": "0572-2345678",
                "closes_at": "2026-08-01T02:00:00+00:00", **DEMO},
    K.OPENED: {"project_id": "GC-00001", "draw_id": "CQ-2026-0001", "observer": "邻村 沈书记", "opened_on": "2026-08-02",
               "closes_at": "2026-08-01T02:00:00+00:00", "blacklisted": [], "key": KEY, "hotline": "0572-2345678",
               "winner": {"id": INVITED[1]["id"], "name": INVITED[1]["name"], "amount_fen": 14_200_000},
               "quotes": [{"contractor": c["id"], "name": c["name"], "amount_fen": fen, "invalid": invalid,
                           "at": "2026-07-31T03:00:00+00:00", "digest": DIGEST, "sealed_index": n}
                          for n, (c, fen, invalid) in enumerate(zip(INVITED, (14_800_000, 14_200_000, 16_000_000),
                                                                   (None, None, "报价超过预算 150,000.00 元")))]},
    K.PROGRESS: {"project_id": "GC-00001", "stage": "start", "day": "2026-08-10", "note": "施工队进场",
                 "file": {"sha256": DIGEST, "name": "IMG_0412.jpg", "size": 204_800}, **CLERK},
    K.CHECKED: {"project_id": "GC-00001", "no": 1, "inspector": "zhenjijian", "day": "2026-08-20",
                "findings": "路面厚度抽检合格", "done_on": "2026-08-20", **DEMO},
    K.COMPLAINT: {"project_id": "GC-00001", "received_on": "2026-08-21", "summary": "夜间施工噪音扰民",
                  "anonymous": True, **DEMO},
    K.COMPLETED: {"project_id": "GC-00001", "accepted_on": "2026-09-30", "settled_fen": 14_150_050, **CLERK},
}  # fmt: skip

# What may stay Latin on a line: ids (GC-00001, DL-01), ISO dates, and the ids in 名字(id) parentheses.
_SHOWN = (r"\([A-Za-z0-9_.:-]+\)", ACCOUNT_NAMES)  # a roster id or a file's digest in brackets, an account


def _config(tmp_path: Path) -> EdgeConfig:
    return config_for(tmp_path, "http://127.0.0.1:9")  # the test village's roster; no board is reached


def _lines(config: EdgeConfig) -> dict[str, str]:
    out = {}
    for n, (kind, body) in enumerate(BODIES.items()):
        line = summarize(Entry(n, "2026-08-01T02:00:00.000000Z", kind, body, bytes(32), bytes(32)), config)
        assert line, kind
        out[kind] = line
    return out


def test_every_kind_is_worded_in_chinese(tmp_path: Path) -> None:
    assert set(BODIES) == set(K.KINDS)
    for kind, line in _lines(_config(tmp_path)).items():
        assert not latin_words(line, _SHOWN), (kind, line)
        assert "{" not in line and "_fen" not in line, (kind, line)


def test_the_lines_name_who_which_project_and_how_much(tmp_path: Path) -> None:
    lines = _lines(_config(tmp_path))
    assert all("GC-00001" in line for kind, line in lines.items() if kind != K.CATALOGUE)
    assert "¥150,000.00" in lines[K.FILED] and "1 项单价高于指导价" in lines[K.FILED]
    assert "本机操作员 clerk" in lines[K.FILED]
    assert "张伟(zhangwei)" in lines[K.APPROVAL] and "（1/1）" in lines[K.APPROVAL]
    assert "审批自己的申请" in lines[K.REFUSED] and "陈静(chenjing)" in lines[K.REFUSED]
    assert "赵磊(zhaolei)" in lines[K.REJECTED] and "预算偏高" in lines[K.REJECTED]
    assert "乡镇审核人员(zhenshen)" in lines[K.TOWNSHIP_STEP] and "乡镇审批完成" in lines[K.TOWNSHIP_STEP]
    assert "李明(liming)" in lines[K.RECOMMENDED] and "湖州市第1建筑工程队" in lines[K.RECOMMENDED]
    assert "湖州市第3建筑工程队、湖州市第4建筑工程队" in lines[K.DRAWN]
    assert "2026-08-01 10:00 截止" in lines[K.QUOTING]  # the window's close in Beijing time
    assert "湖州市第3建筑工程队 以 ¥142,000.00 中标" in lines[K.OPENED] and "3 家报价，2 家有效" in lines[K.OPENED]
    assert "开工" in lines[K.PROGRESS] and "施工队进场" in lines[K.PROGRESS]
    assert "第 1 次随机检查" in lines[K.CHECKED] and "路面厚度抽检合格" in lines[K.CHECKED]
    assert "匿名投诉" in lines[K.COMPLAINT]
    assert "¥141,500.50" in lines[K.COMPLETED]


def test_what_the_body_keeps_sealed_stays_off_the_line(tmp_path: Path) -> None:
    lines = _lines(_config(tmp_path))
    every = "\n".join(lines.values())
    for secret in (KEY, DIGEST, COMMITMENT, "0572-2345678"):
        assert secret not in every and secret[:12] not in every
    assert "掷骰" not in lines[K.REVEALED] and "掷骰" not in lines[K.DRAWN]  # the revealed value stays in the record


def test_a_rejection_by_the_township_and_a_failed_opening(tmp_path: Path) -> None:
    config = _config(tmp_path)
    step = {**BODIES[K.TOWNSHIP_STEP], "approve": False, "final": False, "reason": "与镇绿化规划重复"}
    opened = {**BODIES[K.OPENED], "winner": None}
    rejected = summarize(Entry(1, "2026-08-01T02:00:00Z", K.TOWNSHIP_STEP, step, b"", b""), config)
    failed = summarize(Entry(2, "2026-08-01T02:00:00Z", K.OPENED, opened, b"", b""), config)
    assert rejected == "乡镇审核人员(zhenshen) 驳回 GC-00001：与镇绿化规划重复"
    assert failed is not None and failed.endswith("无有效报价，流标")


def test_the_ledger_view_shows_the_module_s_line(tmp_path: Path) -> None:
    config = _config(tmp_path)
    entry = Entry(3, "2026-08-01T02:00:00Z", K.COMPLETED, BODIES[K.COMPLETED], b"", b"")
    assert summary(entry, config, {}, Parts([SMALL_PROJECT])) == summarize(entry, config)
    broken = Entry(4, "2026-08-01T02:00:00Z", K.COMPLETED, {"project_id": "GC-00001"}, b"", b"")
    assert "内容不完整" in summary(broken, config, {}, Parts([SMALL_PROJECT]))
