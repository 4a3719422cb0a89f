"""The household assembly's entries as the ledger timeline shows them, one line of Chinese each (``Part.summarize``).
The register's households are counted, never listed: each carries its head's phone number, which is never shown.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import edge.modules.household_assembly.kinds as K
import edge.modules.household_assembly.rules as rules  # noqa: PLR0402
from edge.kernel.wording import actor_name
from edge.ledger import Entry
from edge.modules.household_assembly.desk import CHANNELS, HOW

_CLIP = 60  # the timeline gives each entry one line; the whole text stays in the entry's JSON


def _clip(text: str) -> str:
    return text if len(text) <= _CLIP else text[:_CLIP] + "…"


def _counts(counts: dict[str, list[int]]) -> str:
    """A tally sheet's counts, each target's 满意/基本满意/不满意 in the order of ``rules.RATINGS``."""
    rows = "，".join(f"{target} {'/'.join(str(n) for n in row)}" for target, row in counts.items())
    return f"（{'/'.join(rules.RATINGS)}）{rows}"


def _results(b: dict[str, Any]) -> str:
    result = b["result"]
    rates = "，".join(f"{c['cadre']} {c['satisfaction_rate']}%" for c in result["cadres"])
    flagged = "、".join(c["cadre"] for c in result["cadres"] if c["flagged"])
    below = f"低于警戒线 {b['line_percent']}%：{flagged}" if flagged else f"无人低于警戒线 {b['line_percent']}%"
    return (
        f"{actor_name(b['by'])} 公布 {b['meeting_id']} 评议结果：到会率 {result['attendance_rate']}%"
        f"（{b['signed_in']}/{b['households']} 户）；满意率 {rates}；{below}"
    )


def _meeting(b: dict[str, Any]) -> str:
    own = b["agenda"][len(rules.FIXED_AGENDA) :]  # the village's items ("X") follow the county's four
    items = f"，村自定议题：{'、'.join(own)}" if own else ""
    return (
        f"{actor_name(b['by'])} 创建 {b['id']}：{b['held_on']} 在{b['place']}召开，评议 {'、'.join(b['cadres'])}"
        f"{items}，满意率警戒线 {b['line_percent']}%"
    )


_LINES: dict[str, Callable[[dict[str, Any]], str]] = {
    K.REGISTER_IMPORTED: lambda b: f"{actor_name(b['by'])} 导入户籍名册：新增或变更 {len(b['households'])} 户",
    K.MEETING_CREATED: _meeting,
    K.SUGGESTION_RECORDED: lambda b: (
        f"{actor_name(b['by'])} 记录 {b['meeting_id']} 会前意见 {b['id']}（{b['category']}，"
        f"{'户 ' + b['household'] if b['household'] else '未留户号'}）：{_clip(b['text'])}"
    ),
    K.DOCUMENTS_POSTED: lambda b: f"{actor_name(b['by'])} 公示 {b['meeting_id']} 年度工作报告与表彰评选办法",
    K.HONOURS_PUBLISHED: lambda b: (
        f"{actor_name(b['by'])} {b['on']} 公示 {b['meeting_id']} 表彰结果：{_clip(b['result'])}"
    ),
    K.HONOURS_REFUSED: lambda b: (
        f"{actor_name(b['by'])} {b['on']} 公示 {b['meeting_id']} 表彰结果被拒：会议 {b['held_on']}，"
        f"须在会前至少 {rules.HONOURS_LEAD_DAYS} 天公示"
    ),
    K.NOTICES_RECORDED: lambda b: (
        f"{actor_name(b['by'])} 登记 {b['meeting_id']} 通知到户 {len(b['households'])} 户（{CHANNELS[b['channel']]}）"
    ),
    K.SIGNED_IN: lambda b: (
        f"{actor_name(b['by'])} 登记 {b['meeting_id']} 户 {b['household']} 签到（{HOW[b['how']]}"
        f"{'，委托 ' + b['proxy'] if b['proxy'] else ''}）"
    ),
    K.QUESTION_RECORDED: lambda b: (
        f"{actor_name(b['by'])} 记录 {b['meeting_id']} 对 {b['cadre']} 的质询 {b['id']}：「{_clip(b['question'])}」，"
        + (f"答复「{_clip(b['answer'])}」" if b["answer"] else "未答复")
    ),
    K.TALLY_ENTERED: lambda b: (
        f"{actor_name(b['teller'])} 录入 {b['meeting_id']} 第 {b['sheet']} 号计票单，待另一名计票人复核：{_counts(b['counts'])}"
    ),
    K.TALLY_CONFIRMED: lambda b: (
        f"{actor_name(b['teller'])} 复核 {b['meeting_id']} 第 {b['sheet']} 号计票单，与第一次录入一致"
    ),
    K.TALLY_MISMATCH: lambda b: (
        f"{actor_name(b['teller'])} 复核 {b['meeting_id']} 第 {b['sheet']} 号计票单，与第一次录入不一致"
        f"（{'、'.join(b['differs'])}），两名计票人须重新清点录入"
    ),
    K.RESULTS_PUBLISHED: _results,
    K.TALK_RECORDED: lambda b: f"{actor_name(b['by'])} 记录 {b['meeting_id']} 约谈 {b['cadre']}：{_clip(b['note'])}",
    K.COMMITMENT_MADE: lambda b: (
        f"{actor_name(b['by'])} 记录 {b['meeting_id']} 承诺事项 {b['id']}：{_clip(b['text'])}，责任人 {b['owner']}，"
        f"期限 {b['deadline']}" + (f"（回应意见 {b['suggestion']}）" if b["suggestion"] else "")
    ),
    K.COMMITMENT_PROGRESS: lambda b: (
        f"{actor_name(b['by'])} 报告承诺事项 {b['id']} 进度 {b['progress']}%：{_clip(b['note'])}"
    ),
}


def summarize(entry: Entry, config: Any) -> str | None:
    """``entry``'s line; ``config`` is not needed: the bodies name cadres and households, not the roster's people."""
    line = _LINES.get(entry.kind)
    return line(entry.body) if line is not None else None
