"""The procurement lists: the purchase list and the platform deals as CSV/XLSX for staff (``Part.exports``),
and the same on the village notice board (``Part.publishes``). Nothing personal: suppliers are businesses,
and who recorded a purchase is not shown."""

from __future__ import annotations

from typing import Any

import aiosqlite

import edge.modules.procurement.db as db  # noqa: PLR0402  (not from the package: its __init__ imports this)
import edge.modules.procurement.kinds as K
from edge.kernel.contract import Export, Published
from edge.kernel.fmt import yuan
from edge.modules.procurement.rules import CHANNEL_NAMES

PURCHASE_COLUMNS = ("编号", "采购日期", "类别", "项目", "物品", "供应商", "金额", "采购方式", "例外登记")
DEAL_COLUMNS = ("需求编号", "需求名称", "类别", "最高限价", "中标供应商", "中标金额", "节约", "状态")


def _items(lines: list[dict[str, Any]]) -> str:
    return "、".join(f"{ln['name']}×{ln['quantity']}{ln['unit']}" for ln in lines)


def _purchase_row(r: dict[str, Any]) -> tuple[Any, ...]:
    flagged = f"是（{r['override']['id']}：{r['override']['reason']}）" if r["override"] else "否"
    return (r["id"], r["day"], r["category"], r["project"], _items(r["lines"]), r["supplier"], yuan(int(r["amount_fen"])),
            CHANNEL_NAMES[r["channel"]], flagged)  # fmt: skip


async def purchase_rows(conn: aiosqlite.Connection, village: str) -> list[tuple[Any, ...]]:
    return [_purchase_row(r) for r in await db.purchases(conn)]


async def deal_rows(conn: aiosqlite.Connection, village: str) -> list[tuple[Any, ...]]:
    rows = []
    for d in reversed(await db.demands(conn)):
        if d["award"] is None:
            continue
        award = int(d["award"]["amount_fen"])
        rows.append((d["id"], d["title"], d["category"], yuan(int(d["ceiling_fen"])), d["award"]["supplier"]["name"], yuan(award),
                     yuan(int(d["ceiling_fen"]) - award), db.DEMAND_STATUS[d["status"]]))  # fmt: skip
    return rows


EXPORTS = (
    Export("purchases", "村级采购清单", PURCHASE_COLUMNS, purchase_rows),
    Export("deals", "平台采购成交清单", DEAL_COLUMNS, deal_rows),
)


async def published(conn: aiosqlite.Connection, village: str) -> list[Published]:
    out = []
    purchases = await db.purchases(conn)
    if purchases:
        at = max(r["recorded_at"] for r in purchases)
        out.append(
            Published(
                "村级采购清单",
                K.PURCHASE_RECORDED,
                at,
                PURCHASE_COLUMNS,
                tuple(_purchase_row(r) for r in reversed(purchases)),
            )
        )
    deals = await deal_rows(conn, village)
    if deals:
        at = max(d["updated_at"] for d in await db.demands(conn) if d["award"] is not None)
        out.append(Published("平台采购成交", K.AWARD, at, DEAL_COLUMNS, tuple(deals)))
    return out
