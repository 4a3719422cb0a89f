"""The modules' refusals and the anomalies their projections record reach a village user's page as they are (a
flash, the error page, an ``error=`` on a form, the ledger's 异常 line), so each is Chinese only at its source:
no English half, the field, the limit and what to do in Chinese. Checked word for word on the messages that
were bilingual or English before."""

from __future__ import annotations

import errno
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiosqlite
import pytest

from edge.kernel.documents import MAX_DOCUMENT_BYTES, check_source, document_path, store_document, verify_stored
from edge.kernel.errors import EdgeError
from edge.ledger import Entry
from edge.modules.competitive_deposit import projection as deposit
from edge.modules.small_project import rules as small
from edge.modules.whistleblower import projection as whistle
from edge.modules.work_order import projection as work
from edge.modules.work_order import rules as R
from edge.modules.work_order.rules import Candidate as C

# Latin a page may show inside a Chinese message: a unit, a file's type, the week's W, what was typed, a hash
ALLOWED_LATIN = re.compile(r"\bMB\b|\.pdf\b|\b\d{4}-W\d{2}\b|'[^']*'|\b[0-9a-f]{8,}\b")


def english(message: str) -> list[str]:
    return re.findall(r"[A-Za-z]{2,}", ALLOWED_LATIN.sub("", message))


def message_of(call: Callable[[], Any]) -> str:
    with pytest.raises((EdgeError, small.RuleError)) as err:
        call()
    return err.value.message


POOL = [C("w1", 10), C("w2", 20)]

REFUSALS: list[tuple[Callable[[], Any], str]] = [
    (lambda: R.check_pool([C("w1", 10), C("w1", 20)]), "名库中同一工种内工人编号重复，请改正名库"),
    (lambda: R.check_pool([C("w1", 10), C("w2", 10)]), "同一工种内轮派序号重复，请改正名库"),
    (lambda: R.rotate(POOL, None, 0), f"人数应为 1 到 {R.MAX_HEADCOUNT} 的整数"),
    (lambda: R.rotate(POOL, None, 3), "可派工人不足：需要 3 人，可派 2 人"),
    (lambda: R.take_posted(POOL, ["w9"], 1), "报名人 'w9' 不在此工种名库中"),
    (lambda: R.check_limit(3_000_000), "金额 ¥30,000.00 达到 ¥30,000.00，不能作为派工单，请按限额工程申报"),
    (lambda: R.check_method("cash"), "劳务工资只能通过银行转账发放，不能记录现金支付"),
    (lambda: R.parse_day("3/15", "开工日期"), "开工日期应为 年-月-日 的日期，例如 2026-03-15"),
    (lambda: R.week_days("2026-49"), "周次应为 年份-W周数，例如 2026-W49，收到 '2026-49'"),
]  # fmt: skip


@pytest.mark.parametrize(("call", "expected"), REFUSALS, ids=[m[:8] for _, m in REFUSALS])
def test_work_order_refusals_are_chinese_only(call: Callable[[], Any], expected: str) -> None:
    message = message_of(call)
    assert message == expected and english(message) == []


def test_a_draw_that_does_not_re_run_says_why_in_chinese() -> None:
    pool = [small.Contractor(f"C{i}", f"第{i}建筑队", ("道路",)) for i in range(6)]
    sources = ["village:v", "township:t"]
    result = small.draw(pool, "C0", small.combine_seed(sources), "道路")
    record = {"pool": [{"id": c.id, "name": c.name, "categories": list(c.categories)} for c in pool],
              "recommended": "C0", "category": "道路", "seed": result.seed, "seed_sources": ["village:x", "township:t"],
              "pool_hash": "0" * 64, "drawn": ["C5", "C4"]}  # fmt: skip
    problems = small.verify_draw(record)[1]
    assert problems == [
        f"种子与公布的来源不符：按来源合成应为 {small.combine_seed(['village:x', 'township:t'])}",
        f"库哈希不符：重新计算为 {result.pool_hash}",
        f"抽取结果不符：重新抽取为 {'、'.join(result.drawn)}",
    ]
    assert all(english(p) == [] for p in problems)


def test_an_original_that_cannot_be_filed_is_refused_in_chinese(tmp_path: Path) -> None:
    empty, big = tmp_path / "空白.pdf", tmp_path / "大.pdf"
    empty.write_bytes(b"")
    with big.open("wb") as f:
        f.truncate(MAX_DOCUMENT_BYTES + 2**20)
    messages = [
        message_of(lambda: check_source(tmp_path / "无.pdf")),
        message_of(lambda: check_source(tmp_path)),
        message_of(lambda: check_source(empty)),
        message_of(lambda: check_source(big)),
        message_of(lambda: document_path(tmp_path, "ab")),
        message_of(lambda: verify_stored(tmp_path, "ab" * 32)),
    ]
    assert messages == [
        f"找不到原件文件：{tmp_path / '无.pdf'}",
        f"原件不是普通文件：{tmp_path}",
        f"原件文件为空：{empty}",
        f"原件过大：{(MAX_DOCUMENT_BYTES >> 20) + 1}.0 MB，超过 {MAX_DOCUMENT_BYTES >> 20} MB 的上限",
        "文件哈希 'ab' 无效：应为 64 位十六进制数字",
        f"原件未入库：{'ab' * 32}",
    ]
    assert all(english(m.replace(str(tmp_path), "")) == [] for m in messages)


def test_a_disk_that_fails_an_original_is_said_in_chinese_without_the_systems_english(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "原件.pdf"
    source.write_bytes(b"%PDF-1.4")
    too_long = tmp_path / ("长" * 200 + ".pdf")
    assert message_of(lambda: check_source(too_long)) == f"无法读取原件 {too_long}：文件名过长"

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    assert message_of(lambda: store_document(tmp_path / "data", source)) == f"无法保存原件 {source}：磁盘空间不足"


def entry(kind: str, body: dict[str, Any]) -> Entry:
    return Entry(1, "2026-12-04T02:00:00Z", kind, body, bytes(32), bytes(32))


async def anomaly(schema: str, apply: Callable[[aiosqlite.Connection, Entry], Any], body: dict[str, Any]) -> str:
    """What the projection raises on an entry the working state cannot take (the ledger page's 异常 line)."""
    async with aiosqlite.connect(":memory:") as conn:
        await conn.executescript(schema)
        with pytest.raises((KeyError, ValueError, TypeError)) as err:
            await apply(conn, entry("test", body))
    return str(err.value.args[0])


async def test_the_projections_anomalies_are_chinese_only() -> None:
    found = [
        await anomaly(work.SCHEMA, work.worker_status, {"worker_id": "W9", "status": "away", "reason": "", "by": "a"}),
        await anomaly(deposit.SCHEMA, deposit.balances, {"account": "6222", "days": []}),
        await anomaly(deposit.SCHEMA, deposit.award, {"plan_id": "CD-1"}),
        await anomaly(whistle.SCHEMA, whistle.head_key, {"head_public": "k", "township_public": "k"}),
        await anomaly(whistle.SCHEMA, whistle.clue_acknowledged, {"id": "X1", "at": "2026-12-04"}),
        await anomaly(whistle.SCHEMA, whistle.message, {"author": "someone", "sealed": {}}),
    ]
    assert found == [
        "没有工人 'W9'",
        "账户 '6222' 未登记",
        "存放计划 'CD-1' 不在“已上报，待招标”状态",
        "没有可保存密钥的站点记录",
        "没有线索 'X1'",
        "留言人应为举报人或站点，收到 'someone'",
    ]
    assert all(english(a) == [] for a in found)
