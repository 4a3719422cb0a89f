"""What the central does with each verified competitive-deposit entry of a village's ledger (exactly once each,
in the ingest's transaction; see central/decisions/delivery.py): each account and its day balances are kept so the
county reads every village's idle funds; the plan the joint meeting decided joins the
plans waiting for the county's or township's monthly tender; the award, the signing (late or not) and maturity
follow it; an eligible account the edge flagged as in no plan is listed for the township.

The kinds are the edge part's (edge/modules/competitive_deposit/projection.py): the names are the contract
between the two halves, spelt here because the central imports nothing of the edge's modules.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, update

from central import bodies
from central.modules.competitive_deposit.tables import accounts, balances, plans, unplanned
from edge.ledger import Entry

NAME = "competitive_deposit"
ACCOUNT_ADDED, BALANCES, PLAN, UNPLANNED, AWARD, SIGNING_LATE, SIGNED, MATURED = (
    f"{NAME}.{k}" for k in ("account_added", "balances", "plan", "unplanned", "award", "signing_late", "signed", "matured")
)


async def on_account_added(ctx: Any, edge: Any, entry: Entry) -> None:
    b = entry.body
    number = bodies.text(b["account"], 40)
    await ctx.conn.execute(delete(accounts).where((accounts.c.edge_id == edge.edge_id) & (accounts.c.account == number)))
    await ctx.conn.execute(accounts.insert().values(
        edge_id=edge.edge_id, account=number, village=edge.village, township=edge.township, county=edge.county,
        name=bodies.text(b["name"], 100), bank=bodies.text(b["bank"], 100),
    ))  # fmt: skip


async def on_balances(ctx: Any, edge: Any, entry: Entry) -> None:
    """A statement's or a typed balance's days; a later entry for the same day replaces it (as on the edge)."""
    number = bodies.text(entry.body["account"], 40)
    days = [(bodies.day(d), bodies.fen(low), bodies.fen(close)) for d, low, close in entry.body["days"]]
    mine = (balances.c.edge_id == edge.edge_id) & (balances.c.account == number)
    if not days:
        return
    await ctx.conn.execute(delete(balances).where(mine & balances.c.day.in_([d for d, _, _ in days])))
    await ctx.conn.execute(balances.insert(), [
        {"edge_id": edge.edge_id, "account": number, "day": d, "low_fen": low, "close_fen": close} for d, low, close in days
    ])  # fmt: skip


async def on_plan(ctx: Any, edge: Any, entry: Entry) -> None:
    b = entry.body
    meeting = bodies.day(b["meeting_date"])
    await ctx.conn.execute(plans.insert().values(
        edge_id=edge.edge_id, plan_id=bodies.text(b["plan_id"], 32), village=edge.village, township=edge.township,
        county=edge.county, month=meeting[:7], account_name=bodies.text(b.get("account_name") or b["account"], 100),
        amount_fen=bodies.fen(b["amount_fen"]), term_months=int(b["term_months"]), meeting_date=meeting,
        idle_fen=bodies.fen(b["idle"]["amount_fen"]), idle_since=bodies.day(b["idle"]["since"]), edge_index=entry.index,
        status="planned", late=False,
    ))  # fmt: skip


def _plan(edge: Any, body: Any) -> Any:
    return (plans.c.edge_id == edge.edge_id) & (plans.c.plan_id == bodies.text(body["plan_id"], 32))


async def on_award(ctx: Any, edge: Any, entry: Entry) -> None:
    b = entry.body
    await ctx.conn.execute(update(plans).where(_plan(edge, b)).values(
        status="awarded", bank=bodies.text(b["bank"], 100), rate_percent=bodies.text(b["rate_percent"], 16),
        awarded_fen=bodies.fen(b["amount_fen"]), notice_date=bodies.day(b["notice_date"]),
    ))  # fmt: skip


async def on_signing_late(ctx: Any, edge: Any, entry: Entry) -> None:
    await ctx.conn.execute(update(plans).where(_plan(edge, entry.body)).values(late=True, sign_by=bodies.day(entry.body["sign_by"])))


async def on_signed(ctx: Any, edge: Any, entry: Entry) -> None:
    b = entry.body
    values: dict[str, Any] = {"status": "signed", "signed_on": bodies.day(b["signed_on"]), "sign_by": bodies.day(b["sign_by"])}
    if b.get("late") is True:
        values["late"] = True
    await ctx.conn.execute(update(plans).where(_plan(edge, b)).values(**values))


async def on_matured(ctx: Any, edge: Any, entry: Entry) -> None:
    b = entry.body
    await ctx.conn.execute(update(plans).where(_plan(edge, b)).values(
        status="matured", interest_fen=bodies.fen(b["interest_fen"]), demand_fen=bodies.fen(b["demand_fen"]), extra_fen=int(b["extra_fen"]),
    ))  # fmt: skip


async def on_unplanned(ctx: Any, edge: Any, entry: Entry) -> None:
    b = entry.body
    await ctx.conn.execute(unplanned.insert().values(
        edge_id=edge.edge_id, account=bodies.text(b["account"], 40), since=bodies.day(b["since"]), village=edge.village,
        township=edge.township, county=edge.county, idle_fen=bodies.fen(b["idle_fen"]), explanation=bodies.text(b["explanation"], 300),
        flagged_on=bodies.day(b["as_of"]),
    ))  # fmt: skip


ON_ENTRY = {ACCOUNT_ADDED: on_account_added, BALANCES: on_balances, PLAN: on_plan, AWARD: on_award, SIGNING_LATE: on_signing_late, SIGNED: on_signed, MATURED: on_matured, UNPLANNED: on_unplanned}
