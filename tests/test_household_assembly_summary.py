"""The household assembly's ledger entries on the supervisors' timeline: one line of Chinese per kind, with the
meeting, the household and the figures, and never a household's phone number."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edge_support import config_for
from wording_support import ACCOUNT_NAMES, latin_words

from edge.kernel.parts import Parts
from edge.ledger import Entry
from edge.modules.household_assembly import HOUSEHOLD_ASSEMBLY, rules
from edge.modules.household_assembly import kinds as K
from edge.web.ledgerview import summary

PHONE = "13912345678"
CADRES = ["沈国华", "钱丽萍", "金建平"]
SHEET = {"沈国华": [80, 16, 4], "钱丽萍": [68, 24, 8], "金建平": [48, 28, 24], rules.WORK: [84, 12, 4]}
RESULT = rules.result(
    240, 195, [rules.Tally(t, *n) for t, n in SHEET.items()], rules.line_percent(rules.DEFAULT_LINE_PERCENT)
)

# One body per kind, with the fields AssemblyDesk records.
BODIES: dict[str, dict[str, Any]] = {
    K.REGISTER_IMPORTED: {
        "file": "村户籍名册.csv", "sha256": "ab" * 32, "by": "zhoumin",
        "households": [
            {"id": "G1-01", "head": "王建国", "members": 4, "group": "一组", "phone": PHONE},
            {"id": "G1-02", "head": "李秀英", "members": 3, "group": "一组", "phone": ""},
        ],
    },
    K.MEETING_CREATED: {
        "id": "HA-2026", "year": 2026, "held_on": "2026-12-18", "place": "港口村文化礼堂",
        "agenda": [*rules.FIXED_AGENDA, "垃圾分类积分制"], "cadres": CADRES, "line_percent": "80",
        "formula": rules.DEFAULT_FORMULA, "by": "zhoumin",
    },
    K.SUGGESTION_RECORDED: {
        "meeting_id": "HA-2026", "id": "HA-2026-S001", "household": "G3-04", "category": "道路交通",
        "text": "三组到主路的机耕路雨天积水，希望硬化。", "by": "zhoumin",
    },
    K.DOCUMENTS_POSTED: {
        "meeting_id": "HA-2026", "report": "全年集体经营性收入 203 万元，支出 151 万元。",
        "honours_method": "各组推荐、村两委审核：评选文明家庭 5 户。", "by": "zhoumin",
    },
    K.HONOURS_PUBLISHED: {
        "meeting_id": "HA-2026", "result": "文明家庭：G1-03、G2-07、G3-01", "on": "2026-12-04", "by": "zhoumin",
    },
    K.HONOURS_REFUSED: {"meeting_id": "HA-2026", "on": "2026-12-14", "held_on": "2026-12-18", "by": "zhoumin"},
    K.NOTICES_RECORDED: {
        "meeting_id": "HA-2026", "channel": "hand", "households": ["G1-01", "G1-02", "G2-01"], "by": "zhoumin",
    },
    K.SIGNED_IN: {"meeting_id": "HA-2026", "household": "G1-05", "how": "list", "proxy": "代签家属", "by": "zhoumin"},
    K.QUESTION_RECORDED: {
        "meeting_id": "HA-2026", "id": "HA-2026-Q001", "cadre": "钱丽萍", "question": "集体资产出租收入为什么少了？",
        "answer": "两处厂房空置半年，今年已重新招租。", "by": "zhoumin",
    },
    K.TALLY_ENTERED: {"meeting_id": "HA-2026", "sheet": 1, "teller": "zhoumin", "counts": SHEET},
    K.TALLY_CONFIRMED: {"meeting_id": "HA-2026", "sheet": 1, "teller": "sunli", "counts": SHEET},
    K.TALLY_MISMATCH: {
        "meeting_id": "HA-2026", "sheet": 2, "teller": "sunli", "counts": SHEET, "differs": ["金建平", rules.WORK],
    },
    K.RESULTS_PUBLISHED: {
        "meeting_id": "HA-2026", "households": 240, "signed_in": 195, "line_percent": "80",
        "formula": rules.DEFAULT_FORMULA, "result": RESULT, "by": "zhoumin",
    },
    K.TALK_RECORDED: {"meeting_id": "HA-2026", "cadre": "金建平", "note": "镇纪委约谈：限期整改。", "by": "host:jiandu"},
    K.COMMITMENT_MADE: {
        "meeting_id": "HA-2026", "id": "HA-2026-C001", "text": "三组机耕路硬化 800 米", "owner": "金建平",
        "deadline": "2027-03-31", "suggestion": "HA-2026-S001", "by": "zhoumin",
    },
    K.COMMITMENT_PROGRESS: {"id": "HA-2026-C001", "progress": 60, "note": "路基完成", "by": "zhoumin"},
}  # fmt: skip

# What a line may hold in ASCII: ids, ISO dates, and the console account named after 账号 / 本机操作员.


def lines(tmp_path: Path) -> dict[str, str]:
    """Each kind's line as the timeline shows it (through the part's hook, as the ledger view calls it)."""
    config = config_for(tmp_path, "socket://127.0.0.1:9")
    parts = Parts((HOUSEHOLD_ASSEMBLY,))
    return {
        kind: summary(Entry(n, "2026-12-04T02:00:00Z", kind, body, b"\0" * 32, b"\1" * 32), config, {}, parts)
        for n, (kind, body) in enumerate(BODIES.items(), 1)
    }


def test_every_kind_is_worded() -> None:
    assert set(BODIES) == set(K.KINDS)


def test_each_line_is_chinese_apart_from_ids_dates_and_accounts(tmp_path: Path) -> None:
    for kind, line in lines(tmp_path).items():
        assert line and "内容不完整" not in line and "{" not in line, (kind, line)
        assert not latin_words(line, [ACCOUNT_NAMES]), (kind, line)


def test_lines_name_the_meeting_the_household_and_the_figures(tmp_path: Path) -> None:
    shown = lines(tmp_path)
    assert shown[K.REGISTER_IMPORTED] == "账号 zhoumin 导入户籍名册：新增或变更 2 户"
    assert "2026-12-18" in shown[K.MEETING_CREATED] and "垃圾分类积分制" in shown[K.MEETING_CREATED]
    assert "HA-2026-S001" in shown[K.SUGGESTION_RECORDED] and "户 G3-04" in shown[K.SUGGESTION_RECORDED]
    assert "组长送达" in shown[K.NOTICES_RECORDED] and "3 户" in shown[K.NOTICES_RECORDED]
    assert "户 G1-05 签到（名单勾选，委托 代签家属）" in shown[K.SIGNED_IN]
    assert "至少 7 天" in shown[K.HONOURS_REFUSED]
    assert "沈国华 80/16/4" in shown[K.TALLY_ENTERED] and "满意/基本满意/不满意" in shown[K.TALLY_ENTERED]
    assert "账号 sunli" in shown[K.TALLY_CONFIRMED] and "金建平、年度工作" in shown[K.TALLY_MISMATCH]
    results = shown[K.RESULTS_PUBLISHED]
    assert "到会率 81.25%（195/240 户）" in results and "金建平 76.00%" in results
    assert "低于警戒线 80%：金建平" in results
    assert shown[K.TALK_RECORDED].startswith("本机操作员 jiandu 记录 HA-2026 约谈 金建平")
    assert "责任人 金建平" in shown[K.COMMITMENT_MADE] and "回应意见 HA-2026-S001" in shown[K.COMMITMENT_MADE]
    assert "HA-2026-C001 进度 60%" in shown[K.COMMITMENT_PROGRESS]


def test_a_households_phone_number_is_never_shown(tmp_path: Path) -> None:
    assert all(PHONE not in line for line in lines(tmp_path).values())
