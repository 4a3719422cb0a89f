"""The lists small projects offer: the project ledger for staff (CSV/XLSX through the kernel's one helper) and
what goes on the village notice board: each project's budget, approval, the three quoting contractors, the
winning quote, acceptance and settlement (no person's contact, no quote before the opening)."""

from __future__ import annotations

from typing import Any

import aiosqlite

import edge.modules.small_project.kinds as K
import edge.modules.small_project.projection as P
from edge.kernel.contract import Export, Published
from edge.modules.small_project.rules import yuan_text

COLUMNS = ("编号", "工程名称", "类别", "地点", "目录版本", "预算(元)", "高于指导价行数", "状态", "报价人",
           "中标人", "中标价(元)", "开标日期", "同行列席", "验收日期", "结算价(元)", "结算较预算节约(元)")  # fmt: skip
BOARD_COLUMNS = (
    "工程名称",
    "类别",
    "地点",
    "预算(元)",
    "状态",
    "报价人（村推荐、乡镇抽取）",
    "中标人",
    "中标价(元)",
    "结算价(元)",
)


def _money(fen: int | None) -> str:
    return "" if fen is None else yuan_text(fen)


def _invited(p: dict[str, Any]) -> str:
    return "、".join(c["name"] for c in p["invited"] or ())


async def project_rows(conn: aiosqlite.Connection, village: str) -> list[tuple[Any, ...]]:
    rows = []
    for p in await P.projects(conn):
        winner = p["winner"] or {}
        saved = p["total_fen"] - p["settled_fen"] if p["settled_fen"] is not None else None
        rows.append((p["id"], p["name"], p["category"], p["place"], p["catalogue_version"], _money(p["total_fen"]), p["flagged"],
                     P.STATUS[p["status"]], _invited(p), winner.get("name", ""), _money(winner.get("amount_fen")),
                     p["opened_on"] or "", p["observer"] or "", p["accepted_on"] or "", _money(p["settled_fen"]), _money(saved)))  # fmt: skip
    return rows


async def publishes(conn: aiosqlite.Connection, village: str) -> list[Published]:
    """Every project past the village's approval, with its steps so far."""
    shown = [p for p in await P.projects(conn) if p["status"] != "pending"]
    if not shown:
        return []
    rows = tuple(
        (p["name"], p["category"], p["place"], _money(p["total_fen"]), P.STATUS[p["status"]], _invited(p),
         (p["winner"] or {}).get("name", ""), _money((p["winner"] or {}).get("amount_fen")), _money(p["settled_fen"]))
        for p in shown
    )  # fmt: skip
    board = [Published("限额工程公示", K.FILED, max(p["updated_at"] for p in shown), BOARD_COLUMNS, rows)]
    return board + await supervision_board(conn, [p for p in shown if p["opened_on"]]) + await progress_board(conn, shown)


PROGRESS_COLUMNS = ("环节", "日期", "说明", "照片或文件")


async def progress_board(conn: aiosqlite.Connection, shown: list[dict[str, Any]]) -> list[Published]:
    """One item per project whose works have steps shown, linking to its public notice with the photos."""
    steps = await P.progress_of(conn)
    items = []
    for p in shown:
        mine = [s for s in steps if s["project_id"] == p["id"]]
        if mine:
            rows = tuple((K.STAGES[s["stage"]], s["day"], s["note"], s["name"]) for s in mine)
            items.append(Published(f"限额工程进度：{p['name']}", K.PROGRESS, mine[-1]["at"], PROGRESS_COLUMNS, rows,
                                   f"/small_project/p/{p['id']}/notice"))  # fmt: skip
    return items


SUPERVISION_COLUMNS = ("工程名称", "同行列席（开标）", "乡镇双随机检查", "热线投诉")


async def supervision_board(conn: aiosqlite.Connection, opened: list[dict[str, Any]]) -> list[Published]:
    """"121" for every opened project: the peer observer of the opening, the two township checks done (day,
    inspector, findings) and the complaints recorded (day, summary; never who called). The hotline's number is
    on the project's public page: the board masks every run of seven digits, a landline's included."""
    if not opened:
        return []
    records = await P.supervision(conn)
    rows = []
    for p in opened:
        mine = [r for r in records if r["project_id"] == p["id"]]
        checks = "；".join(f"{r['day']} {r['who']}：{r['text']}" for r in mine if r["kind"] == "check")
        complaints = "；".join(f"{r['day']}（{r['who']}）{r['text']}" for r in mine if r["kind"] == "complaint")
        rows.append((p["name"], p["observer"] or "", checks or "待检查", complaints or "无"))
    return [Published("限额工程“121”监督", K.OPENED, max(p["updated_at"] for p in opened), SUPERVISION_COLUMNS, tuple(rows))]


EXPORTS = (Export("projects", "限额工程台账", COLUMNS, project_rows),)
