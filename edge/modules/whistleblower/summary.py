"""The module's ledger entries worded for the supervisors' timeline, one line of Chinese each: numbers, states,
deadlines and counts, never anything a body keeps sealed, nor the receipt code's tag or the keys."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

import edge.modules.whistleblower.kinds as K
import edge.modules.whistleblower.rules as R
from edge.ledger import Entry
from edge.ledger.localtime import MINUTES, local_time
from edge.modules.whistleblower.desk import MISCONDUCT

HEAD = R.ROLE_NAMES["head"]
MEMBER = "吹哨人"  # any member of the roster, as the station page calls them
AUTHORS = {"reporter": "举报人留言", "station": "联络站回复举报人"}  # a message's author (projection.message)


def head(account: object) -> str:
    """A team member by the role the step proves and their console account: a member is an account, not one of
    the config's people, and their name is only in the roster's entry, which a line of another entry cannot read."""
    return f"{HEAD}({account})"


def member(account: object) -> str:
    return f"{MEMBER}({account})"


def due(ts: object) -> str:
    return local_time(str(ts), MINUTES)


def station_set(b: Mapping[str, Any]) -> str:
    names = {r: [str(m["name"]) for m in b["members"] if m["role"] == r] for r in R.ROLES}
    return (
        f"保存联络站名册：{b['name']}，共 {len(b['members'])} 人（{HEAD} {'、'.join(names['head'])}，"
        f"{R.ROLE_NAMES['liaison']} {'、'.join(names['liaison'])}，"
        f"{R.ROLE_NAMES['informant']} {len(names['informant'])} 人）"
    )


def clue_received(b: Mapping[str, Any]) -> str:
    # Who collected it stays out: for a member's own clue that is who reported it (the clue page shows it to the team).
    return (
        f"收到线索 {b['id']}（{R.SOURCES[b['source']]}），{R.STEP_NAMES['acknowledge']}期限 {due(b['ack_due'])}，"
        f"{R.STEP_NAMES['feedback']}期限 {due(b['feedback_due'])}"
    )


def clue_resolved(b: Mapping[str, Any]) -> str:
    solved = "，问题已解决" if b["solved"] is True else ""
    return f"{head(b['by'])} 办结线索 {b['id']}：{R.STATE_NAMES[R.OUTCOMES[b['outcome']]]}{solved}（理由已加密）"


def review_meeting(b: Mapping[str, Any]) -> str:
    return (
        f"{head(b['by'])} 记录研判会 {b['id']}（{b['held_on']}，{len(b['attendees'])} 人参会）："
        f"研判线索 {'、'.join(b['clues']) or '无'}，"
        f"其中 {len(b['triaged'])} 条转为{R.STATE_NAMES['triaged']}（纪要已加密）"
    )


def rated(b: Mapping[str, Any]) -> str:
    # Counts per rating, as the notice board shows them: a member's own rating is on the staff export.
    counts = Counter(str(r["rating"]) for r in b["ratings"])
    figures = "、".join(f"{R.RATING_NAMES[r]} {counts[r]} 人" for r in R.RATINGS if counts[r]) or "无人参评"
    return f"{head(b['by'])} 完成 {b['year']} 年度吹哨人评定（{b['station']}）：{figures}"


def visit(b: Mapping[str, Any]) -> str:
    by = f"（{head(b['by'])} 代记）" if b["by"] != b["person"] else ""
    return f"{member(b['person'])} {b['visited_on']} 走访 {b['households']} 户{by}"


LINES: dict[str, Callable[[Mapping[str, Any]], str]] = {
    K.STATION_SET: station_set,
    K.HEAD_KEY: lambda b: f"{head(b['head'])} 设置线索加密密钥：此后的线索加密给{HEAD}和乡镇纪委",
    K.CLUE_RECEIVED: clue_received,
    K.CLUE_ACKNOWLEDGED: lambda b: f"{head(b['by'])} {R.STEP_NAMES['acknowledge']}线索 {b['id']}",
    K.CLUE_VERIFIED: lambda b: f"{head(b['by'])} {R.STEP_NAMES['verify']}线索 {b['id']}（核实情况已加密）",
    K.CLUE_RESOLVED: clue_resolved,
    K.CLUE_FEEDBACK: lambda b: (
        f"{head(b['by'])} 向举报人{R.STEP_NAMES['feedback']}线索 {b['id']}，闭环办结（反馈内容已加密）"
    ),
    # Who handed it on stays out, as on the clue page: any member may, about the village's own cadres.
    K.CLUE_ESCALATED: lambda b: f"线索 {b['id']} 直报乡镇纪委",
    K.MESSAGE: lambda b: f"线索 {b['id']}：{AUTHORS[b['author']]}（内容已加密）",
    K.OVERDUE: lambda b: f"线索 {b['id']} {R.DEADLINE_NAMES[b['step']]}已逾期（期限 {due(b['due'])}）",
    K.REVIEW_MEETING: review_meeting,
    K.QA_MEETING: lambda b: (
        f"{head(b['by'])} 记录答廉会 {b['id']}（{b['held_on']}，{len(b['attendees'])} 名{MEMBER}参会）："
        f"到会群众 {b['villagers']} 人，群众提问 {b['questions']} 个，当场答复 {b['answered']} 个"
    ),
    K.MISCONDUCT: lambda b: (
        f"{head(b['by'])} 记录 {member(b['person'])} {b['year']} 年失职：{MISCONDUCT[b['what']]}，按规则"
        f"当年评为{R.RATING_NAMES['black']}"
    ),
    K.RATED: rated,
    K.VISIT_PLAN: lambda b: (
        f"{head(b['by'])} 制定 {b['year']} 年走访计划：{len(b['plan'])} 人共 {sum(b['plan'].values())} 户"
    ),
    K.VISIT: visit,
}


def summarize(entry: Entry, config: Any) -> str | None:
    line = LINES.get(entry.kind)
    return line(entry.body) if line is not None else None
