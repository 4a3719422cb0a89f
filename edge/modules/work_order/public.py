"""What labour dispatch makes public: the lists staff download (CSV/XLSX) and what goes on the notice board.

Nothing personal leaves here: no ID, phone or bank numbers, no reason a worker is away (it may be their
health). The board shows the pool in its rotation order, the approved weekly plans, every dispatch with
who was passed over and why, the attendance sheets and the paid pay lists.
"""

from __future__ import annotations

from typing import Any

import aiosqlite

from edge.kernel.contract import Export, Published
from edge.kernel.fmt import yuan
import edge.modules.work_order.kinds as K
import edge.modules.work_order.projection as Q
from edge.modules.work_order.desk import today
from edge.modules.work_order.rules import ATTENDANCE_NAMES, AVAILABLE, SKIP_REASONS, STATUS_NAMES, TRADES, UNAVAILABLE, away_during, fairness


async def _names(conn: aiosqlite.Connection) -> dict[str, str]:
    return {w["id"]: w["name"] for w in await Q.workers(conn)}


def _days(half_days: int) -> str:
    return f"{half_days // 2}" + (".5" if half_days % 2 else "")


def standing_today(w: dict[str, Any]) -> str:
    """A worker's status as of today: an absence whose dates are over (or not begun) no longer shows."""
    day = today()
    if w["status"] == UNAVAILABLE and not away_during(w["status"], w["status_from"], w["status_to"], day, day):
        return AVAILABLE
    return str(w["status"])


async def pool_rows(conn: aiosqlite.Connection, village: str = "") -> list[tuple[Any, ...]]:
    return [
        (TRADES.get(w["trade"], w["trade"]), w["rotation"], w["id"], w["name"], w["area"], w["grp"], STATUS_NAMES[standing_today(w)])
        for w in await Q.workers(conn)
    ]  # fmt: skip


async def dispatch_rows(conn: aiosqlite.Connection, village: str = "") -> list[tuple[Any, ...]]:
    names = await _names(conn)
    out = []
    for d in await Q.rows(conn, "SELECT d.*, o.trade, o.content, o.start_day FROM wo_dispatches d JOIN wo_orders o ON o.id = d.order_id ORDER BY d.at, d.order_id"):
        skipped = "；".join(f"{names.get(s['worker'], s['worker'])}（{SKIP_REASONS.get(s['reason'], s['reason'])}）" for s in d["skipped"])
        out.append((d["order_id"], TRADES.get(d["trade"], d["trade"]), d["content"], d["start_day"], "轮派" if d["mode"] == "rotation" else "公开招工",
                    "、".join(names.get(w, w) for w in d["workers"]), skipped or "-",
                    "-" if d["cursor_before"] is None else d["cursor_before"], "-" if d["cursor_after"] is None else d["cursor_after"]))  # fmt: skip
    return out


async def plan_rows(conn: aiosqlite.Connection, village: str = "") -> list[tuple[Any, ...]]:
    out = []
    for p in await Q.rows(conn, "SELECT * FROM wo_plans WHERE status = 'approved' ORDER BY week"):
        for line in p["orders"]:
            out.append((p["week"], p["meeting_day"], line["order_id"], line["content"], TRADES.get(line["trade"], line["trade"]), line["place"],
                        f"{line['start']} 至 {line['end']}", line["headcount"], yuan(line["rate_fen"]), yuan(line["amount_fen"])))  # fmt: skip
    return out


async def attendance_rows(conn: aiosqlite.Connection, village: str = "") -> list[tuple[Any, ...]]:
    names = await _names(conn)
    return [
        (a["order_id"], a["day"], names.get(a["worker"], a["worker"]), ATTENDANCE_NAMES[a["half_days"]])
        for a in await Q.rows(conn, "SELECT * FROM wo_attendance ORDER BY order_id, day, worker")
    ]  # fmt: skip


async def pay_rows(conn: aiosqlite.Connection, village: str = "") -> list[tuple[Any, ...]]:
    names = await _names(conn)
    return [
        (p["order_id"], names.get(line["worker"], line["worker"]), _days(line["half_days"]), yuan(line["amount_fen"]), "银行转账", (p["paid_at"] or "")[:10])
        for p in await Q.pays(conn, "paid") for line in p["lines"]
    ]  # fmt: skip


async def worker_figures(conn: aiosqlite.Connection) -> list[dict[str, Any]]:
    """Per worker: dispatches, days worked and pay received (the spread shows whether the rotation is fair)."""
    sent: dict[str, int] = {}
    for d in await Q.rows(conn, "SELECT workers FROM wo_dispatches"):
        for w in d["workers"]:
            sent[w] = sent.get(w, 0) + 1
    halves: dict[str, int] = {}
    fen: dict[str, int] = {}
    for p in await Q.pays(conn, "paid"):
        for line in p["lines"]:
            halves[line["worker"]] = halves.get(line["worker"], 0) + line["half_days"]
            fen[line["worker"]] = fen.get(line["worker"], 0) + line["amount_fen"]
    return [
        {"worker": w["id"], "name": w["name"], "trade": w["trade"], "status": w["status"], "dispatches": sent.get(w["id"], 0),
         "half_days": halves.get(w["id"], 0), "paid_fen": fen.get(w["id"], 0)}
        for w in await Q.workers(conn)
    ]  # fmt: skip


async def figure_rows(conn: aiosqlite.Connection, village: str = "") -> list[tuple[Any, ...]]:
    return [
        (f["worker"], f["name"], TRADES.get(f["trade"], f["trade"]), f["dispatches"], _days(f["half_days"]), yuan(f["paid_fen"]))
        for f in await worker_figures(conn)
    ]  # fmt: skip


async def summary_rows(conn: aiosqlite.Connection, village: str = "") -> list[tuple[Any, ...]]:
    """The figures the township compares across villages."""
    figures = [f for f in await worker_figures(conn) if f["status"] == AVAILABLE]
    count = await Q.one(conn, "SELECT COUNT(*) AS n, COALESCE(SUM(emergency), 0) AS urgent FROM wo_orders")
    black = await Q.one(conn, "SELECT COUNT(*) AS n FROM wo_workers WHERE status = 'blacklisted'")
    paid = await Q.one(conn, "SELECT COALESCE(SUM(total_fen), 0) AS fen FROM wo_pays WHERE status = 'paid'")
    assert count is not None and black is not None and paid is not None
    return [
        ("派工单", count["n"]), ("紧急用工单", count["urgent"]), ("黑名单人数", black["n"]),
        ("可派工人派工次数之差（最多−最少）", fairness({f["worker"]: f["dispatches"] for f in figures})),
        ("已发劳务工资合计", yuan(paid["fen"])),
    ]  # fmt: skip


POOL = Export("pool", "务工人员名库及轮派顺序", ("工种", "轮派序号", "编号", "姓名", "片区", "小组", "状态"), pool_rows)
DISPATCHES = Export("dispatches", "派工记录", ("派工单", "工种", "用工内容", "开工日期", "方式", "派出人员", "跳过（原因）", "派工前游标", "派工后游标"), dispatch_rows)
PLANS = Export("plans", "周用工计划（两委会审定）", ("周次", "会议日期", "派工单", "用工内容", "工种", "地点", "日期", "人数", "日工资", "金额"), plan_rows)
ATTENDANCE = Export("attendance", "出勤表", ("派工单", "日期", "姓名", "出勤"), attendance_rows)
PAY = Export("pay", "劳务工资发放表", ("派工单", "姓名", "出勤天数", "金额", "发放方式", "转账日期"), pay_rows)
FIGURES = Export("figures", "工人派工与工资统计", ("编号", "姓名", "工种", "派工次数", "出勤天数", "已发工资"), figure_rows)
SUMMARY = Export("summary", "用工派工统计", ("指标", "数值"), summary_rows)
EXPORTS = (POOL, PLANS, DISPATCHES, ATTENDANCE, PAY, FIGURES, SUMMARY)
PUBLISHED = (POOL, PLANS, DISPATCHES, ATTENDANCE, PAY)


async def _last(conn: aiosqlite.Connection, sql: str) -> str:
    found = await Q.one(conn, sql)
    return str(found["at"]) if found and found["at"] else ""


async def publishes(conn: aiosqlite.Connection, village: str) -> list[Published]:
    """The board's lists, newest change first within each; a list with no rows is left off."""
    stamps = {
        POOL: (K.WORKER_REGISTERED, "SELECT MAX(registered_at) AS at FROM wo_workers"),
        PLANS: (K.PLAN_APPROVED, "SELECT MAX(approved_at) AS at FROM wo_plans"),
        DISPATCHES: (K.DISPATCHED, "SELECT MAX(at) AS at FROM wo_dispatches"),
        ATTENDANCE: (K.ATTENDANCE, "SELECT MAX(at) AS at FROM wo_attendance"),
        PAY: (K.PAID, "SELECT MAX(paid_at) AS at FROM wo_pays"),
    }
    out = []
    for export in PUBLISHED:
        found = await export.rows(conn, village)
        if found:
            kind, sql = stamps[export]
            out.append(Published(export.title, kind, await _last(conn, sql), export.columns, tuple(found)))
    return out
