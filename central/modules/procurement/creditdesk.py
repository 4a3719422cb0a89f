"""The county's decisions on a supplier's credit index: a deduction (reason and evidence), the blacklisting it may
bring (its bids in open tenders withdrawn, in the same transaction), and a reinstatement. Each is a decision in the
central's log before its rows change.

A deduction holds the supplier's account row (``FOR UPDATE`` on PostgreSQL) and a bid holds it shared
(:func:`hold`): a bid racing the blacklisting of its supplier either waits for it and is refused, or goes first and
is withdrawn with the supplier's other bids, never left standing."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

import central.modules.procurement.credit as rules
import central.modules.procurement.kinds as K
from central.accounts.roles import ADMIN, COUNTY_OFFICER
from central.accounts.store import Application
from central.accounts.tables import accounts
from central.decisions.log import DecisionLog
from central.modules.procurement.review import check_reason, iso
from central.modules.procurement.tables import bids, credit, credit_events, tenders, withdrawn
from central.modules.procurement.terms import of_county
from central.store import Principal, Refusal


async def hold(conn: AsyncConnection, supplier: str, exclusive: bool) -> None:
    """Lock the supplier's account row until the transaction ends: shared for a bid, exclusive for its credit."""
    query = select(accounts.c.username).where(accounts.c.username == supplier)
    await conn.execute(query.with_for_update(read=not exclusive))


async def score_of(conn: AsyncConnection, supplier: str) -> tuple[int, bool]:
    row = (
        await conn.execute(select(credit.c.score, credit.c.blacklisted).where(credit.c.supplier == supplier))
    ).first()
    return (rules.START, False) if row is None else (int(row.score), bool(row.blacklisted))


async def blacklist(conn: AsyncConnection) -> set[str]:
    return set((await conn.execute(select(credit.c.supplier).where(credit.c.blacklisted == 1))).scalars())


def _county_of(who: Principal, application: Application | None) -> Application:
    if who.role not in (COUNTY_OFFICER, ADMIN):
        raise Refusal(403, "forbidden", "只有县级监管可以调整供应商信用分")
    if application is None or application.kind != "supplier" or application.status != "approved":
        raise Refusal(404, "not_found", "没有此合格供应商")
    if who.role == COUNTY_OFFICER and application.county != who.name:
        raise Refusal(404, "not_found", "没有此合格供应商，或不在您的县")
    return application


async def _record(conn: AsyncConnection, decisions: DecisionLog, who: Principal, supplier: str, kind: str, delta: int,
                  score: int, listed: bool, reason: str, evidence: str, now: datetime, terms: str) -> int:  # fmt: skip
    body = {"supplier": supplier, "kind": kind, "delta": delta, "score": score, "blacklisted": listed,
            "reason": reason, "evidence": evidence, "terms": terms}  # fmt: skip
    decision = K.CREDIT_REINSTATED if kind == "reinstated" else K.CREDIT_DEDUCTED
    entry = await decisions.decide(decision, body, None, actor=who.account or who.name, conn=conn)
    found = (await conn.execute(select(credit.c.supplier).where(credit.c.supplier == supplier))).first()
    values = {"score": score, "blacklisted": int(listed)}
    if found is None:
        await conn.execute(credit.insert().values(supplier=supplier, **values))
    else:
        await conn.execute(credit.update().where(credit.c.supplier == supplier).values(**values))
    await conn.execute(credit_events.insert().values(
        supplier=supplier, kind=kind, delta=delta, score=score, reason=reason, evidence=evidence,
        decided_by=who.account or who.name, decision_index=entry.index, at=iso(now),
    ))  # fmt: skip
    return entry.index


async def deduct(conn: AsyncConnection, decisions: DecisionLog, who: Principal, application: Application | None, kind: str,
                 reason: object, evidence: object, now: datetime) -> tuple[int, bool]:  # fmt: skip
    """A deduction (the points the supplier's county sets for ``kind``); the index after it and whether the supplier
    is now blacklisted (its open bids withdrawn)."""
    found = _county_of(who, application)
    if kind not in rules.DEDUCTIONS:
        raise Refusal(400, "bad_kind", f"扣分事由应为：{'、'.join(rules.DEDUCTION_NAMES.values())}")
    why, proof = check_reason(reason), check_reason(evidence)
    await hold(conn, found.username, exclusive=True)
    score, listed = await score_of(conn, found.username)
    terms = await of_county(conn, found.county)
    new = rules.after(score, terms.deductions[kind])
    now_listed = listed or rules.blacklisted(new)
    index = await _record(conn, decisions, who, found.username, kind, new - score, new, now_listed, why, proof, now,
                          terms.source)  # fmt: skip
    if now_listed and not listed:
        open_bids = select(bids.c.seq).join(tenders, (tenders.c.edge_id == bids.c.edge_id) & (tenders.c.demand_id == bids.c.demand_id)).where(
            (bids.c.supplier == found.username) & (tenders.c.status == "open") & bids.c.seq.not_in(select(withdrawn.c.seq))
        )  # fmt: skip
        for seq in (await conn.execute(open_bids)).scalars().all():
            await conn.execute(withdrawn.insert().values(seq=seq, decision_index=index))
    return new, now_listed


async def reinstate(conn: AsyncConnection, decisions: DecisionLog, who: Principal, application: Application | None,
                    reason: object, now: datetime) -> None:  # fmt: skip
    """Only a county decision with a reason takes a supplier off the blacklist, back at the line (80)."""
    found = _county_of(who, application)
    score, listed = await score_of(conn, found.username)
    if not listed:
        raise Refusal(409, "not_blacklisted", "该供应商不在黑名单上")
    why = check_reason(reason)
    await _record(
        conn, decisions, who, found.username, "reinstated", rules.LINE - score, rules.LINE, False, why, "-", now, "-"
    )
