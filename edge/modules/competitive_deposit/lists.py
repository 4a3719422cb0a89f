"""The lists competitive deposit offers: two exports for staff (CSV/XLSX through the kernel's one helper)
and what goes on the village notice board (the deposits and the extra income they earned; no person named)."""

from __future__ import annotations

from typing import Any

import aiosqlite

import edge.modules.competitive_deposit.projection as P
from edge.kernel.contract import Export, Published
from edge.modules.competitive_deposit.rules import yuan_text

PLAN_COLUMNS = ("编号", "账户名称", "联席会议日期", "存放金额(元)", "期限(月)", "状态", "中标银行", "年利率(%)",
                "中标通知日", "签约截止日", "签约日期", "逾期签约", "到期日", "利息(元)", "活期利息(元)", "增加收益(元)")  # fmt: skip
BOARD_COLUMNS = ("账户名称", "存放金额(元)", "期限(月)", "联席会议日期", "中标银行", "年利率(%)", "签约日期", "到期日", "增加收益(元)")


def _money(fen: int | None) -> str:
    return "" if fen is None else yuan_text(fen)


async def _plans_named(conn: aiosqlite.Connection) -> list[dict[str, Any]]:
    names = {a["account"]: a["name"] for a in await P.accounts(conn)}
    return [{**p, "account_name": names.get(p["account"], p["account"])} for p in await P.plans(conn)]


async def plan_rows(conn: aiosqlite.Connection, village: str) -> list[tuple[Any, ...]]:
    return [
        (p["plan_id"], p["account_name"], p["meeting_date"], _money(p["amount_fen"]), p["term_months"], P.STATUS_NAMES[p["status"]],
         p["bank"] or "", p["rate_percent"] or "", p["notice_date"] or "", p["sign_by"] or "", p["signed_on"] or "",
         "是" if p["late"] else "", p["maturity_date"] or "", _money(p["interest_fen"]), _money(p["demand_fen"]), _money(p["extra_fen"]))
        for p in await _plans_named(conn)
    ]  # fmt: skip


async def publishes(conn: aiosqlite.Connection, village: str) -> list[Published]:
    """Each decided deposit with its bank, rate and, once matured, the extra income: what the village earned."""
    plans = await _plans_named(conn)
    if not plans:
        return []
    rows = tuple(
        (p["account_name"], _money(p["awarded_fen"] or p["amount_fen"]), p["term_months"], p["meeting_date"], p["bank"] or "招标中",
         p["rate_percent"] or "", p["signed_on"] or "", p["maturity_date"] or "", _money(p["extra_fen"]))
        for p in plans
    )  # fmt: skip
    return [Published("集体闲置资金竞争性存放", P.PLAN, max(p["decided_at"] for p in plans), BOARD_COLUMNS, rows)]


EXPORTS = (Export("plans", "竞争性存放台账", PLAN_COLUMNS, plan_rows),)
