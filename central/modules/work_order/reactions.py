"""What the central does with each verified labour-dispatch entry of a village's ledger (exactly once each, in the
ingest's transaction; see central/decisions/delivery.py): a worker registered joins the village's pool (name,
trade, area, group: never the phone, the sealed ID and bank numbers or the ID's digest, which the entry also
carries); a status change moves it, a blacklisting is kept with the committee's reason (a reason of absence is
not: it may be someone's health); an order, its signature, its dispatch, its pay list and the bank transfer
follow. The township's page reads these rows.

The kinds and body fields are the edge part's (edge/modules/work_order/kinds.py, desk.py): the names are the
contract between the two halves, spelt here because the central imports nothing of the edge's modules but rules.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from central import bodies
from central.modules.work_order.tables import blacklistings, dispatched, orders, pay_lines, workers
from edge.ledger import Entry
from edge.modules.work_order.rules import BLACKLISTED, STATUS_NAMES, TRADES

NAME = "work_order"
REGISTERED, STATUS, FILED, APPROVED, REJECTED, DISPATCHED, PAY_FILED, PAID = (
    f"{NAME}.{k}"
    for k in ("worker_registered", "worker_status", "filed", "approved", "rejected", "dispatched", "pay_filed", "paid")
)


def _one_of(value: object, allowed: Any) -> str:
    if value not in allowed:
        raise ValueError(f"unknown value {value!r:.40}")
    return str(value)


def _place(edge: Any) -> dict[str, Any]:
    return {"edge_id": edge.edge_id, "village": edge.village, "township": edge.township, "county": edge.county}


async def on_registered(ctx: Any, edge: Any, entry: Entry) -> None:
    b = entry.body
    await ctx.conn.execute(workers.insert().values(
        **_place(edge), worker_id=bodies.text(b["worker_id"], 16), name=bodies.text(b["name"], 20), trade=_one_of(b["trade"], TRADES),
        area=bodies.text(b["area"], 20), grp=bodies.text(b["group"], 20), status="available",
    ))  # fmt: skip


async def on_status(ctx: Any, edge: Any, entry: Entry) -> None:
    b = entry.body
    worker, status = bodies.text(b["worker_id"], 16), _one_of(b["status"], STATUS_NAMES)
    found = await ctx.conn.execute(
        update(workers).where((workers.c.edge_id == edge.edge_id) & (workers.c.worker_id == worker)).values(status=status)
    )
    if found.rowcount != 1:
        raise KeyError(f"no worker {worker!r}")
    if status == BLACKLISTED:
        await ctx.conn.execute(blacklistings.insert().values(
            edge_id=edge.edge_id, edge_index=entry.index, worker_id=worker, reason=bodies.text(b["reason"], 200),
            by=bodies.text(b["by"], 64), at=entry.ts,
        ))  # fmt: skip


async def on_filed(ctx: Any, edge: Any, entry: Entry) -> None:
    b = entry.body
    emergency = b["emergency"] is True
    await ctx.conn.execute(orders.insert().values(
        **_place(edge), order_id=bodies.text(b["order_id"], 32), week=bodies.text(b["week"], 8), content=bodies.text(b["content"], 200),
        trade=_one_of(b["trade"], TRADES), headcount=int(b["headcount"]), amount_fen=bodies.fen(b["amount_fen"]),
        emergency=emergency, emergency_reason=bodies.text(b["emergency_reason"], 200) if emergency else "", status="pending",
        filed_at=entry.ts,
    ))  # fmt: skip


async def _order_status(ctx: Any, edge: Any, body: Any, status: str) -> None:
    if "pay_id" in body:  # the routing desk decides pay lists too: only their payment counts here
        return
    order = (orders.c.edge_id == edge.edge_id) & (orders.c.order_id == bodies.text(body["order_id"], 32))
    await ctx.conn.execute(update(orders).where(order).values(status=status))


async def on_approved(ctx: Any, edge: Any, entry: Entry) -> None:
    await _order_status(ctx, edge, entry.body, "approved")


async def on_rejected(ctx: Any, edge: Any, entry: Entry) -> None:
    await _order_status(ctx, edge, entry.body, "rejected")


async def on_dispatched(ctx: Any, edge: Any, entry: Entry) -> None:
    b = entry.body
    order, mode = bodies.text(b["order_id"], 32), _one_of(b["mode"], ("rotation", "posted"))
    for worker in dict.fromkeys(b["workers"]):
        await ctx.conn.execute(dispatched.insert().values(edge_id=edge.edge_id, order_id=order, worker_id=bodies.text(worker, 16), mode=mode))
    await _order_status(ctx, edge, {"order_id": order}, "dispatched")


async def on_pay_filed(ctx: Any, edge: Any, entry: Entry) -> None:
    b = entry.body
    pay = bodies.text(b["pay_id"], 32)
    for line in b["lines"]:
        await ctx.conn.execute(pay_lines.insert().values(
            edge_id=edge.edge_id, pay_id=pay, worker_id=bodies.text(line["worker"], 16), half_days=int(line["half_days"]),
            amount_fen=bodies.fen(line["amount_fen"]), paid=False,
        ))  # fmt: skip


async def on_paid(ctx: Any, edge: Any, entry: Entry) -> None:
    pay = (pay_lines.c.edge_id == edge.edge_id) & (pay_lines.c.pay_id == bodies.text(entry.body["pay_id"], 32))
    await ctx.conn.execute(update(pay_lines).where(pay).values(paid=True))


ON_ENTRY = {
    REGISTERED: on_registered, STATUS: on_status, FILED: on_filed, APPROVED: on_approved, REJECTED: on_rejected,
    DISPATCHED: on_dispatched, PAY_FILED: on_pay_filed, PAID: on_paid,
}  # fmt: skip
