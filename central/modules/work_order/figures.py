"""The township's comparison of its villages' labour dispatch, read from the rows the reactions keep: per village,
each worker's dispatches, days and pay (a favourite hired again and again stands out, by the edge's own rule), the
spread per trade, the emergency orders with their reasons, and the blacklistings with the committee's reasons.
Only villages the principal's scope covers; nothing personal (the tables hold no personal number)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from central.modules.work_order.tables import blacklistings, dispatched, orders, pay_lines, workers
from edge.modules.work_order.rules import BLACKLISTED, TRADES, fairness, favoured

TRADE_ORDER = {trade: n for n, trade in enumerate(TRADES)}  # as the village's console lists them


async def _rows(conn: AsyncConnection, query: Any) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in await conn.execute(query)]


async def villages(conn: AsyncConnection, who: Any) -> list[dict[str, Any]]:
    """One comparison per village in ``who``'s scope, by township and village."""
    pool = [w for w in await _rows(conn, select(workers)) if who.covers(w["county"], w["township"])]
    jobs = [o for o in await _rows(conn, select(orders).order_by(orders.c.filed_at)) if who.covers(o["county"], o["township"])]
    edges = {r["edge_id"]: r for r in (*pool, *jobs)}
    sent: dict[tuple[str, str], int] = defaultdict(int)
    for d in await _rows(conn, select(dispatched)):
        sent[d["edge_id"], d["worker_id"]] += 1
    halves: dict[tuple[str, str], int] = defaultdict(int)
    paid: dict[tuple[str, str], int] = defaultdict(int)
    for line in await _rows(conn, select(pay_lines).where(pay_lines.c.paid.is_(True))):
        halves[line["edge_id"], line["worker_id"]] += line["half_days"]
        paid[line["edge_id"], line["worker_id"]] += line["amount_fen"]
    black = await _rows(conn, select(blacklistings).order_by(blacklistings.c.at))
    out = []
    for edge_id, place in sorted(edges.items(), key=lambda e: (e[1]["township"], e[1]["village"], e[0])):
        mine = [w | {"dispatches": sent[edge_id, w["worker_id"]], "half_days": halves[edge_id, w["worker_id"]],
                     "paid_fen": paid[edge_id, w["worker_id"]]} for w in pool if w["edge_id"] == edge_id]  # fmt: skip
        spread, flagged = {}, set()
        for trade in sorted({w["trade"] for w in mine}, key=TRADE_ORDER.__getitem__):
            counts = {w["worker_id"]: w["dispatches"] for w in mine if w["trade"] == trade and w["status"] != BLACKLISTED}
            spread[trade] = fairness(counts)
            flagged |= favoured(counts)
        names = {w["worker_id"]: w for w in mine}
        village_jobs = [o for o in jobs if o["edge_id"] == edge_id]
        out.append({
            "edge_id": edge_id, "village": place["village"], "township": place["township"], "orders": len(village_jobs),
            "emergencies": [o for o in village_jobs if o["emergency"]], "spread": spread,
            "workers": sorted(({**w, "favoured": w["worker_id"] in flagged} for w in mine), key=lambda w: (TRADE_ORDER[w["trade"]], -w["dispatches"], w["worker_id"])),
            "blacklistings": [b | {"name": names[b["worker_id"]]["name"] if b["worker_id"] in names else b["worker_id"],
                                   "trade": names[b["worker_id"]]["trade"] if b["worker_id"] in names else ""}
                              for b in black if b["edge_id"] == edge_id],
            "paid_fen": sum(w["paid_fen"] for w in mine),
        })  # fmt: skip
    return out
