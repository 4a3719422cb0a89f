"""What the county and township read of competitive deposit, in their scope: the plans by month, the amount
deposited, the weighted rate against the demand rate, the extra income per village, late signings and the
eligible accounts in no plan. Sums in integer fen, the weighted rate in exact decimals."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from central.modules.competitive_deposit.tables import lots, plans, unplanned

STATUS_NAMES = {"planned": "待招标", "tendering": "招标中", "awarded": "已中标待签约", "signed": "已签约", "matured": "已到期"}


def yuan(fen: int | None) -> str:
    if fen is None:
        return ""
    sign = "-" if fen < 0 else ""
    whole, part = divmod(abs(fen), 100)
    return f"{sign}{whole:,}.{part:02d}"


@dataclass
class Village:
    village: str
    township: str
    deposited_fen: int = 0
    extra_fen: int = 0
    weighted: Decimal = Decimal(0)  # Σ amount × rate, for the weighted rate

    @property
    def rate(self) -> str:
        return str((self.weighted / self.deposited_fen).quantize(Decimal("0.0001"), ROUND_HALF_UP)) if self.deposited_fen else ""


@dataclass
class Overview:
    plans: list[dict[str, Any]]
    unplanned: list[dict[str, Any]]
    villages: list[Village] = field(default_factory=list)

    @property
    def late(self) -> list[dict[str, Any]]:
        return [p for p in self.plans if p["late"]]

    @property
    def deposited_fen(self) -> int:
        return sum(v.deposited_fen for v in self.villages)

    @property
    def extra_fen(self) -> int:
        return sum(v.extra_fen for v in self.villages)

    @property
    def rate(self) -> str:
        total = sum((v.weighted for v in self.villages), Decimal(0))
        return str((total / self.deposited_fen).quantize(Decimal("0.0001"), ROUND_HALF_UP)) if self.deposited_fen else ""


async def overview(conn: AsyncConnection, who: Any) -> Overview:
    """Everything in ``who``'s scope (a county, a township, or all)."""
    rows = [dict(r._mapping) for r in await conn.execute(select(plans).order_by(plans.c.month.desc(), plans.c.village, plans.c.plan_id))]
    flags = [dict(r._mapping) for r in await conn.execute(select(unplanned).order_by(unplanned.c.flagged_on.desc()))]
    mine = [r for r in rows if who.covers(r["county"], r["township"])]
    bidding = {(r.edge_id, r.plan_id) for r in await conn.execute(select(lots.c.edge_id, lots.c.plan_id).where(lots.c.status == "bidding"))}
    for p in mine:  # a plan in a tender still bidding: "planned" until its award reaches the village
        if p["status"] == "planned" and (p["edge_id"], p["plan_id"]) in bidding:
            p["status"] = "tendering"
    result = Overview(mine, [f for f in flags if who.covers(f["county"], f["township"])])
    by_village: dict[tuple[str, str], Village] = {}
    for p in mine:
        if p["status"] in ("signed", "matured") and p["awarded_fen"] and p["rate_percent"]:
            v = by_village.setdefault((p["edge_id"], p["village"]), Village(p["village"], p["township"]))
            v.deposited_fen += p["awarded_fen"]
            v.weighted += Decimal(p["awarded_fen"]) * Decimal(p["rate_percent"])
            v.extra_fen += p["extra_fen"] or 0
    result.villages = sorted(by_village.values(), key=lambda v: (v.township, v.village))
    return result
