"""The bidding window of an approved demand (opened by the township's approval, review.py): taking a supplier's bid, what a bidder sees, the award.

Each bid and each award is a decision in the central's log before its row is written, in the same transaction;
the award's (or the failure's) signed document goes down to the village, whose edge records it. The rules are
``bidding.py``; who is qualified is ``suppliers.py``.

Both steps first lock the tender's row (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite's writer is one at a
time anyway): a bid near the end and the award, or two late bids, then take turns on one window, so the award
never misses a bid that was moving the end, and a bid never judges the window by an end another bid is moving.
Each returns the tender's :class:`Board`, computed once in its transaction: the live pages show it to every
bidder, each its own rank from it, instead of every page reading the tender again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

import central.modules.procurement.bidding as rules
import central.modules.procurement.kinds as K
from central.accounts.store import Application
from central.decisions.log import DecisionLog
from central.modules.procurement.creditdesk import hold, score_of
from central.modules.procurement.review import iso, may_review, parse_iso
from central.modules.procurement.suppliers import qualified
from central.modules.procurement.tables import awards, bids, demands, tender_terms, tenders, withdrawn
from central.modules.procurement.terms import DEFAULT
from central.store import Principal, Refusal


def moment(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


@dataclass(frozen=True)
class Board:
    """A tender's standing after a change: the lowest price, how many bid, the window's end, the status, and each
    bidder's rank (kept here, shown to each bidder only as its own)."""

    edge_id: str
    demand_id: str
    version: int  # the decision it follows (a bid's, the award's): a later one replaces it, never an earlier
    lowest_fen: int | None
    bidders: int
    closes_at: str
    status: str
    ranks: Mapping[str, int]

    def seen_by(self, supplier: str) -> dict[str, Any]:
        """What one bidder's live page shows: never a rival's name."""
        return {"lowest_fen": self.lowest_fen, "rank": self.ranks.get(supplier), "bidders": self.bidders,
                "closes_at": self.closes_at, "status": self.status}  # fmt: skip


def _board(version: int, tender: Any, taken: list[rules.Bid], closes_at: str, status: str) -> Board:
    ranked = rules.counted(taken)
    lowest = ranked[0].amount_fen if ranked else None
    ranks = {b.supplier: i for i, b in enumerate(ranked, 1)}
    return Board(tender.edge_id, tender.demand_id, version, lowest, len(ranked), closes_at, status, ranks)


async def _tender(conn: AsyncConnection, edge_id: str, demand_id: str, lock: bool = False) -> tuple[Any, Any]:
    """The tender and its demand; with ``lock``, the tender's row held until the transaction ends."""
    key = (tenders.c.edge_id == edge_id) & (tenders.c.demand_id == demand_id)
    query = select(tenders).where(key)
    tender = (await conn.execute(query.with_for_update() if lock else query)).first()
    demand = (
        await conn.execute(select(demands).where((demands.c.edge_id == edge_id) & (demands.c.demand_id == demand_id)))
    ).first()
    if tender is None or demand is None:
        raise Refusal(404, "not_found", "没有此竞价项目")
    return tender, demand


async def _extend(conn: AsyncConnection, edge_id: str, demand_id: str) -> timedelta:
    """The anti-sniping span the tender opened with (the platform's default for a tender from before terms)."""
    key = (tender_terms.c.edge_id == edge_id) & (tender_terms.c.demand_id == demand_id)
    seconds = (await conn.execute(select(tender_terms.c.extend_s).where(key))).scalar()
    return DEFAULT.extend if seconds is None else timedelta(seconds=seconds)


async def _bids(conn: AsyncConnection, edge_id: str, demand_id: str) -> list[rules.Bid]:
    # A blacklisted supplier's bids in open tenders are withdrawn: they count no more.
    live = (bids.c.edge_id == edge_id) & (bids.c.demand_id == demand_id) & bids.c.seq.not_in(select(withdrawn.c.seq))
    rows = (await conn.execute(select(bids).where(live).order_by(bids.c.seq))).all()
    return [rules.Bid(r.seq, r.supplier, r.amount_fen, parse_iso(r.at)) for r in rows]


def may_bid(application: Application | None, demand: Any) -> bool:
    """The supplier's registration is approved, in the demand's county, for its category."""
    return (
        application is not None
        and application.county == demand.county
        and bool(qualified([application], demand.category))
    )


async def bid(conn: AsyncConnection, decisions: DecisionLog, who: Principal, application: Application | None,
              edge_id: str, demand_id: str, amount_fen: int, now: datetime) -> Board:  # fmt: skip
    """Take a supplier's bid (a decision first, then the row; the window moved on by a late bid); the tender's board
    after it. A refused bid raises with the reason and records nothing."""
    tender, demand = await _tender(conn, edge_id, demand_id, lock=True)
    if tender.status != "open":
        raise Refusal(409, "closed", "竞价已结束，不再接受报价")
    await hold(conn, who.account or "", exclusive=False)  # a blacklisting of this supplier waits, or is waited for
    _, listed = await score_of(conn, who.account or "")
    why = rules.refusal(now, parse_iso(tender.opens_at), parse_iso(tender.closes_at), amount_fen, demand.ceiling_fen,
                        may_bid(application, demand), blacklisted=listed)  # fmt: skip
    if why is not None:
        raise Refusal(409, "bid_refused", why)
    assert application is not None and who.account is not None
    body = {"edge_id": edge_id, "demand_id": demand_id, "supplier": who.account, "amount_fen": amount_fen}
    entry = await decisions.decide(K.BID, body, None, actor=who.account, conn=conn)
    await conn.execute(bids.insert().values(
        edge_id=edge_id, demand_id=demand_id, supplier=who.account, supplier_name=application.org_name,
        amount_fen=amount_fen, at=iso(now), decision_index=entry.index,
    ))  # fmt: skip
    closes_at = tender.closes_at
    closes = rules.extended(parse_iso(closes_at), now, await _extend(conn, edge_id, demand_id))
    if closes != parse_iso(closes_at):
        closes_at = iso(closes)
        await conn.execute(
            tenders.update()
            .where((tenders.c.edge_id == edge_id) & (tenders.c.demand_id == demand_id))
            .values(closes_at=closes_at)
        )
    return _board(entry.index, tender, await _bids(conn, edge_id, demand_id), closes_at, "open")


async def seen_by(conn: AsyncConnection, supplier: str, edge_id: str, demand_id: str) -> dict[str, Any]:
    """What one bidder sees of a tender: the lowest price, its own rank and how many bid, the window — no names."""
    tender, demand = await _tender(conn, edge_id, demand_id)
    board = _board(0, tender, await _bids(conn, edge_id, demand_id), tender.closes_at, tender.status)
    extend = await _extend(conn, edge_id, demand_id)
    return {"edge_id": edge_id, "demand_id": demand_id, "title": demand.title, "category": demand.category,
            "village": demand.village, "ceiling_fen": demand.ceiling_fen, "extend_minutes": extend // timedelta(minutes=1),
            **board.seen_by(supplier)}  # fmt: skip


async def open_for(conn: AsyncConnection, application: Application | None) -> list[dict[str, Any]]:
    """The open tenders a supplier may bid on, each as it sees it."""
    rows = (await conn.execute(select(tenders.c.edge_id, tenders.c.demand_id).where(tenders.c.status == "open"))).all()
    out = []
    for edge_id, demand_id in rows:
        _, demand = await _tender(conn, edge_id, demand_id)
        if application is not None and may_bid(application, demand):
            out.append(await seen_by(conn, application.username, edge_id, demand_id))
    return out


async def award(
    conn: AsyncConnection, decisions: DecisionLog, who: Principal, edge_id: str, demand_id: str, now: datetime
) -> Board:
    """After the window: the award to the lowest valid bid (its document down to the village), or the failure; the
    tender's board, closed."""
    tender, demand = await _tender(conn, edge_id, demand_id, lock=True)
    row = dict(demand._mapping)
    if not may_review(who, row):
        raise Refusal(403, "forbidden", "只有需求所在乡镇的审核人员可以定标")
    if tender.status != "open":
        raise Refusal(409, "closed", "此项目已定标或流标")
    if now < parse_iso(tender.closes_at):
        raise Refusal(409, "still_open", f"竞价进行中，{tender.closes_at} 结束后才能定标")
    taken = await _bids(conn, edge_id, demand_id)
    won = rules.winner(taken, demand.ceiling_fen)
    actor = who.account or who.name
    if won is None:
        entry = await decisions.decide(
            K.DEMAND_FAILED,
            {"demand_id": demand_id, "reason": "竞价期内无有效报价，流标"},
            edge_id,
            actor=actor,
            conn=conn,
        )
        status = "failed"
    else:
        ranked = rules.counted(taken)
        names = dict((await conn.execute(
            select(bids.c.seq, bids.c.supplier_name).where(bids.c.seq.in_([b.seq for b in ranked]))
        )).all())  # fmt: skip
        name = names[won.seq]
        # Each counted bid, for the village's public record (OCDS bids.details): the names are shown only now,
        # after the award, never while bidding.
        details = [{"id": str(b.seq), "supplier": {"id": b.supplier, "name": names[b.seq]}, "amount_fen": b.amount_fen,
                    "at": iso(b.at)} for b in ranked]  # fmt: skip
        body = {"demand_id": demand_id, "award_id": f"{edge_id}-{demand_id}", "supplier": {"id": won.supplier, "name": name},
                "amount_fen": won.amount_fen, "bids": len(ranked), "bid_details": details}  # fmt: skip
        entry = await decisions.decide(K.AWARD, body, edge_id, actor=actor, conn=conn)
        status = "awarded"
        await conn.execute(awards.insert().values(
            edge_id=edge_id, demand_id=demand_id, supplier=won.supplier, supplier_name=name, amount_fen=won.amount_fen,
            decision_index=entry.index, at=iso(now),
        ))  # fmt: skip
    key_t = (tenders.c.edge_id == edge_id) & (tenders.c.demand_id == demand_id)
    await conn.execute(tenders.update().where(key_t).values(status=status, decision_index=entry.index))
    key_d = (demands.c.edge_id == edge_id) & (demands.c.demand_id == demand_id)
    await conn.execute(demands.update().where(key_d).values(status=status))
    return _board(entry.index, tender, taken, tender.closes_at, status)
