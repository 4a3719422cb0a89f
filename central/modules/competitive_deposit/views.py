"""What the county and township read of competitive deposit, in their scope: every village's accounts with their
idle funds and eligibility (the module's own rules over the balances the edges sent up), the plans by month, the
amount deposited, the weighted rate against the demand rate, the extra income per village, late signings and the
eligible accounts in no plan. Sums in integer fen, the weighted rate in exact decimals."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

import central.modules.competitive_deposit.tender as T
import edge.modules.competitive_deposit.rules as rules  # noqa: PLR0402 - the layering allows the rules module itself
from central.modules.competitive_deposit.tables import accounts, balances, lots, plans, unplanned

STATUS_NAMES = {"planned": "待招标", "tendering": "招标中", "awarded": "已中标待签约", "signed": "已签约", "matured": "已到期"}


def wan(fen: int) -> str:
    """Integer fen in 万元 to two decimals, half up: the summary cards' unit, so a county's sums fit a phone."""
    return f"{(Decimal(fen) / 1_000_000).quantize(Decimal('0.01'), ROUND_HALF_UP):,}"


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
    extra_fen: int = 0  # earned: the matured deposits' extra income, as the village reported it
    expected_fen: int = 0  # still on deposit: the term's extra income over the demand rate, by rules.extra_income
    weighted: Decimal = Decimal(0)  # Σ amount × rate, for the weighted rate

    @property
    def rate(self) -> str:
        return str((self.weighted / self.deposited_fen).quantize(Decimal("0.0001"), ROUND_HALF_UP)) if self.deposited_fen else ""


@dataclass(frozen=True)
class Account:
    """One village account as the county reads it: its idle funds and whether the rule takes it, and why."""

    village: str
    township: str
    name: str
    last4: str
    bank: str
    eligibility: rules.Eligibility


@dataclass
class Overview:
    plans: list[dict[str, Any]]
    unplanned: list[dict[str, Any]]
    villages: list[Village] = field(default_factory=list)
    accounts: list[Account] = field(default_factory=list)
    tenders: list[dict[str, Any]] = field(default_factory=list)  # by month, newest first
    demand_rate: str = str(rules.DEFAULT_DEMAND_RATE)  # what the weighted rate is read against

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
    def expected_fen(self) -> int:
        return sum(v.expected_fen for v in self.villages)

    @property
    def rate(self) -> str:
        total = sum((v.weighted for v in self.villages), Decimal(0))
        return str((total / self.deposited_fen).quantize(Decimal("0.0001"), ROUND_HALF_UP)) if self.deposited_fen else ""


async def idle_accounts(conn: AsyncConnection, who: Any, today: date) -> list[Account]:
    """Every account in ``who``'s scope with its idle funds on ``today`` by ``rules.idle_funds`` and the rule's
    default thresholds (3,000,000.00 yuan, more than 6 months), eligible ones first."""
    held = [a for a in await conn.execute(select(accounts).order_by(accounts.c.township, accounts.c.village, accounts.c.name))
            if who.covers(a.county, a.township)]  # fmt: skip
    days: dict[tuple[str, str], list[rules.DayBalance]] = {}
    for d in await conn.execute(select(balances).where(balances.c.day <= today.isoformat()).order_by(balances.c.day)):
        days.setdefault((d.edge_id, d.account), []).append(rules.DayBalance(date.fromisoformat(d.day), d.low_fen, d.close_fen))
    found = [
        Account(a.village, a.township, a.name, a.account[-4:], a.bank, rules.eligibility(
            rules.idle_funds(days.get((a.edge_id, a.account), []), today, rules.DEFAULT_MIN_IDLE_FEN),
            rules.DEFAULT_MIN_IDLE_FEN, rules.DEFAULT_MIN_IDLE_MONTHS))
        for a in held
    ]  # fmt: skip
    return sorted(found, key=lambda a: not a.eligibility.eligible)


async def overview(conn: AsyncConnection, who: Any, today: date) -> Overview:
    """Everything in ``who``'s scope (a county, a township, or all) on ``today``."""
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
            if p["status"] == "matured":
                v.extra_fen += p["extra_fen"] or 0
            else:
                v.expected_fen += rules.extra_income(p["awarded_fen"], Decimal(p["rate_percent"]), rules.DEFAULT_DEMAND_RATE,
                                                     p["term_months"]).extra_fen  # fmt: skip
    result.villages = sorted(by_village.values(), key=lambda v: (v.township, v.village))
    result.accounts = await idle_accounts(conn, who, today)
    result.tenders = await tenders_by_month(conn, who)
    return result


async def tenders_by_month(conn: AsyncConnection, who: Any) -> list[dict[str, Any]]:
    """Each tender ``who`` sees (tender.tenders_for) with its lots' count and amounts: offered, and awarded."""
    seen = []
    for t in await T.tenders_for(conn, who=who):
        mine = await T.lots_of(conn, t.tender_id)
        seen.append({"tender_id": t.tender_id, "month": t.month, "status": t.status, "lots": len(mine),
                     "amount_fen": sum(lot.amount_fen for lot in mine),
                     "awarded_fen": sum(lot.amount_fen for lot in mine if lot.status == "awarded")})  # fmt: skip
    return seen
