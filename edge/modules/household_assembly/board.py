"""What the household assembly puts on the village notice board, and the lists staff download.

The board shows the agenda, the honours result, the attendance rate, the satisfaction rates and the
commitments with their progress: counts and rates only, never a household's name, phone or how it voted.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import aiosqlite

import edge.modules.household_assembly.kinds as K
import edge.modules.household_assembly.rules as rules  # noqa: PLR0402
import edge.modules.household_assembly.store as store  # noqa: PLR0402
from edge.kernel.contract import Export, Published
from edge.ledger.localtime import local_day, local_today
from edge.modules.household_assembly.desk import HOW

COMMITMENT_COLUMNS = ("会议", "事项", "责任人", "完成期限", "进度", "状态")


def _state(c: dict[str, Any], today: date) -> str:
    if c["progress"] >= 100:
        return "已完成"
    return "逾期" if rules.overdue(date.fromisoformat(c["deadline"]), c["progress"], today) else "进行中"


async def commitment_rows(conn: aiosqlite.Connection, village: str) -> list[tuple[Any, ...]]:
    today = local_today()
    return [
        (c["meeting_id"], c["text"], c["owner"], c["deadline"], f"{c['progress']}%", _state(c, today))
        for c in await store.commitments(conn)
    ]


async def household_rows(conn: aiosqlite.Connection, village: str) -> list[tuple[Any, ...]]:
    return [(h.id, h.head, h.members, h.group) for h in (await store.households(conn)).values()]


async def signin_rows(conn: aiosqlite.Connection, village: str) -> list[tuple[Any, ...]]:
    """The latest meeting's sign-ins."""
    meetings = await store.meetings(conn)
    if not meetings:
        return []
    households = await store.households(conn)
    out = []
    for hid, s in (await store.signins(conn, meetings[0]["id"])).items():
        h = households.get(hid)
        out.append(
            (
                meetings[0]["id"],
                hid,
                h.head if h else "",
                h.group if h else "",
                HOW.get(s["how"], s["how"]),
                s["proxy"],
                local_day(s["at"]),
            )
        )
    return out


EXPORTS = (
    Export("households", "户主大会户籍名册", ("户号", "户主", "人数", "承包组"), household_rows),
    Export(
        "signins", "户主大会签到名单", ("会议", "户号", "户主", "承包组", "签到方式", "受托人", "日期"), signin_rows
    ),
    Export("commitments", "户主大会承诺事项", COMMITMENT_COLUMNS, commitment_rows),
)


async def published(conn: aiosqlite.Connection, village: str) -> list[Published]:
    out: list[Published] = []
    meetings = await store.meetings(conn)
    for m in meetings[:2]:  # this year's and last year's
        title = f"{m['year']} 年户主大会"
        out.append(Published(f"{title}议程（4+X）", K.MEETING_CREATED, m["created_at"], ("日期", "地点", "序号", "议题"),
                             tuple((m["held_on"], m["place"], i, item) for i, item in enumerate(m["agenda"], 1))))  # fmt: skip
        if m["honours_result"]:
            out.append(Published(f"{title}表彰结果", K.HONOURS_PUBLISHED, m["honours_at"], ("公示日期", "表彰结果"),
                                 ((local_day(m["honours_at"]), m["honours_result"]),)))  # fmt: skip
        if m["results"]:
            r = m["results"]
            rows = [("到会率", "", "", "", "", f"{r['attendance_rate']}%")]
            rows += [
                (
                    c["cadre"],
                    c["ballots"],
                    c["satisfied"],
                    c["basically"],
                    c["dissatisfied"],
                    f"{c['satisfaction_rate']}%",
                )
                for c in r["cadres"]
            ]
            out.append(Published(f"{title}到会率与满意率", K.RESULTS_PUBLISHED, m["results_at"],
                                 ("评议对象", "有效票", "满意", "基本满意", "不满意", "满意率"), tuple(rows)))  # fmt: skip
    commitments = await store.commitments(conn)
    if commitments:
        rows2 = tuple(await commitment_rows(conn, village))
        out.append(
            Published(
                "户主大会承诺事项及进度",
                K.COMMITMENT_MADE,
                max(c["at"] for c in commitments),
                COMMITMENT_COLUMNS,
                rows2,
            )
        )
    return out
