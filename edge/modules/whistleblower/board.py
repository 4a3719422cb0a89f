"""What the module publishes and exports: counts and states only, never a clue's content or who reported it.

On the village notice board: the station's year in figures (clues received, acknowledged in time, closed,
confirmed, problems solved, meetings held), each Q&A meeting's public summary, and how many of each rating the
team got (no names). For logged-in staff: the clue list (numbers, states, deadlines, overdue flags), the
meetings, the ratings.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import aiosqlite

import edge.modules.whistleblower.kinds as K
import edge.modules.whistleblower.projection as P
import edge.modules.whistleblower.rules as R
from edge.kernel.contract import Export, Published
from edge.ledger.localtime import local_time


def _on_time(row: dict[str, Any]) -> bool:
    return row["acknowledged_at"] is not None and row["acknowledged_at"] <= row["ack_due"]


async def published(conn: aiosqlite.Connection, village: str) -> list[Published]:
    clues, meetings, ratings = await P.clues(conn), await P.meetings(conn), await P.ratings(conn)
    households = await P.households_by_year(conn)
    out: list[Published] = []
    years = sorted(
        {R.year_of(c["received_at"]) for c in clues} | {int(m["held_on"][:4]) for m in meetings} | set(households),
        reverse=True,
    )
    if years:
        rows: list[tuple[Any, ...]] = []
        for y in years:
            mine = [c for c in clues if R.year_of(c["received_at"]) == y]
            held = Counter(m["type"] for m in meetings if int(m["held_on"][:4]) == y)
            rows.append((
                str(y), len(mine), sum(1 for c in mine if _on_time(c)), sum(1 for c in mine if c["state"] == "closed"),
                sum(1 for c in mine if c["outcome"] == "confirmed"), sum(1 for c in mine if c["solved"]), held["review"], held["qa"], households.get(y, 0),
            ))  # fmt: skip
        at = max(
            [c["received_at"] for c in clues] + [m["at"] for m in meetings],
            default=f"{years[0]}-01-01T00:00:00.000000Z",
        )
        columns: tuple[str, ...] = (
            "年度",
            "收到线索",
            "7日内确认收到",
            "已反馈办结",
            "查实",
            "解决问题",
            "研判会",
            "答廉会",
            "走访户数",
        )
        out.append(
            Published(
                "廉情吹哨工作情况（按年）", K.CLUE_RECEIVED, at, columns, tuple(rows), link="/whistleblower/report"
            )
        )
    qas = [m for m in meetings if m["type"] == "qa"]
    if qas:
        rows = [(m["held_on"], m["villagers"], m["questions"], m["answered"], m["summary"]) for m in qas]
        out.append(
            Published(
                "你提我督答廉会",
                K.QA_MEETING,
                max(m["at"] for m in qas),
                ("日期", "到会群众", "群众提问", "当场答复", "公开摘要"),
                tuple(rows),
            )
        )
    if ratings:
        by_year: dict[int, Counter[str]] = {}
        for r in ratings:
            by_year.setdefault(r["year"], Counter())[r["rating"]] += 1
        rows = [(str(y), *(c[r] for r in R.RATINGS)) for y, c in sorted(by_year.items(), reverse=True)]
        columns = ("年度", *(R.RATING_NAMES[r] for r in R.RATINGS))
        out.append(
            Published("吹哨人年度评定（人数）", K.RATED, max(r["rated_at"] for r in ratings), columns, tuple(rows))
        )
    return out


async def clue_rows(conn: aiosqlite.Connection, village: str) -> list[tuple[Any, ...]]:
    return [
        (
            c["id"], R.SOURCES.get(c["source"], c["source"]), R.STATE_NAMES.get(c["state"], c["state"]), local_time(c["received_at"]),
            local_time(c["ack_due"]), local_time(c["feedback_due"]),
            "、".join(n for n, flag in (("确认收到逾期", c["ack_overdue"]), ("反馈逾期", c["feedback_overdue"])) if flag) or "否",
            "是" if c["escalated_at"] else "否",
        )
        for c in await P.clues(conn)
    ]  # fmt: skip


async def meeting_rows(conn: aiosqlite.Connection, village: str) -> list[tuple[Any, ...]]:
    names = await _names(conn)
    return [
        (m["id"], "研判会" if m["type"] == "review" else "答廉会", m["held_on"], "、".join(names.get(a, a) for a in m["attendees"]),
         len(m["clues"]), m["villagers"], m["questions"], m["answered"], m["summary"] or "")
        for m in await P.meetings(conn)
    ]  # fmt: skip


async def rating_rows(conn: aiosqlite.Connection, village: str) -> list[tuple[Any, ...]]:
    names = await _names(conn)
    return [
        (str(r["year"]), names.get(r["person"], r["person"]), R.RATING_NAMES[r["rating"]], r["clues"], r["confirmed"], r["solved"], r["pay_factor"])
        for r in await P.ratings(conn)
    ]  # fmt: skip


async def _names(conn: aiosqlite.Connection) -> dict[str, str]:
    station = await P.station(conn)
    return {m["id"]: m["name"] for m in station["roster"]} if station else {}


EXPORTS = (
    Export(
        "clues",
        "廉情线索清单（不含内容）",
        ("编号", "来源", "状态", "收到时间", "确认期限", "反馈期限", "逾期", "直报乡镇"),
        clue_rows,
    ),
    Export(
        "meetings",
        "研判会和答廉会",
        ("编号", "会议", "日期", "参会人员", "研判线索数", "到会群众", "群众提问", "当场答复", "公开摘要"),
        meeting_rows,
    ),
    Export(
        "ratings", "吹哨人年度评定", ("年度", "姓名", "评定", "收集线索", "查实", "解决问题", "绩效系数"), rating_rows
    ),
)
