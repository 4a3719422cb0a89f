"""What each procurement entry does to the working state: a function of the entry only.

A body the tables cannot take (a missing field, an award for a demand this village never submitted) raises,
and the kernel's projection records the entry as an anomaly and goes on (``edge.kernel.projection``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import aiosqlite

import edge.modules.procurement.kinds as K
from edge.kernel.contract import Handler
from edge.ledger import Entry

_LIVE = ("submitted", "bidding")  # the states in which the central may still decide a demand


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


async def _files(conn: aiosqlite.Connection, entry: Entry, files: list[Mapping[str, Any]]) -> None:
    for f in files:
        await conn.execute(
            "INSERT OR IGNORE INTO procurement_files (sha256, name, size, account, entry, at) VALUES (?, ?, ?, ?, ?, ?)",
            (f["sha256"], f["name"], int(f["size"]), entry.body["account"], entry.index, entry.ts),
        )


async def purchase_recorded(conn: aiosqlite.Connection, entry: Entry) -> None:
    b = entry.body
    await conn.execute(
        "INSERT INTO procurement_purchases (id, day, category, project, supplier, channel, amount_fen, lines, invoice, account,"
        " person, override, demand_id, entry, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (b["id"], b["day"], b["category"], b["project"], b["supplier"], b["channel"], int(b["amount_fen"]), _json(b["lines"]),
         _json(b["invoice"]) if b.get("invoice") else None, b["account"], b.get("person"),
         _json(b["override"]) if b.get("override") else None, b.get("demand_id"), entry.index, entry.ts),
    )  # fmt: skip
    if b.get("invoice") and not b.get("override"):  # an override's invoice was counted when it was asked for
        await _files(conn, entry, [b["invoice"]])
    if b.get("override"):
        await conn.execute(
            "UPDATE procurement_overrides SET purchase_id = ? WHERE id = ?", (b["id"], b["override"]["id"])
        )


async def purchase_refused(conn: aiosqlite.Connection, entry: Entry) -> None:
    b = entry.body
    await conn.execute(
        "INSERT INTO procurement_refusals (entry, purchase, groups, message, account, at) VALUES (?, ?, ?, ?, ?, ?)",
        (entry.index, _json(b["purchase"]), _json(b["groups"]), b["message"], b["account"], entry.ts),
    )


async def override_requested(conn: aiosqlite.Connection, entry: Entry) -> None:
    b = entry.body
    await conn.execute(
        "INSERT INTO procurement_overrides (id, purchase, reason, groups, message, account, person, route, status, filed_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?)",
        (b["id"], _json(b["purchase"]), b["reason"], _json(b["groups"]), b["message"], b["account"], b.get("person"),
         _json(b["route"]), entry.ts),
    )  # fmt: skip
    invoice = b["purchase"].get("invoice")
    if invoice:
        await _files(conn, entry, [invoice])


def _approval(table: str, key: str) -> Handler:
    async def apply(conn: aiosqlite.Connection, entry: Entry) -> None:
        item_id = entry.body[key]
        async with conn.execute(f"SELECT done FROM {table} WHERE id = ? AND status = 'pending'", (item_id,)) as cur:
            row = await cur.fetchone()
        if row is None:
            raise KeyError(f"{item_id} 不在待审批状态")
        await conn.execute(
            f"UPDATE {table} SET done = ? WHERE id = ?", (_json([*json.loads(row[0]), entry.body["approver"]]), item_id)
        )

    return apply


def _decided(table: str, key: str, status: str) -> Handler:
    async def apply(conn: aiosqlite.Connection, entry: Entry) -> None:
        stamp = "decided_at" if table == "procurement_overrides" else "updated_at"
        reason = "decided_reason" if table == "procurement_overrides" else "reason"
        cur = await conn.execute(
            f"UPDATE {table} SET status = ?, {reason} = ?, {stamp} = ? WHERE id = ? AND status = 'pending'",
            (status, entry.body.get("reason"), entry.ts, entry.body[key]),
        )
        if cur.rowcount != 1:
            raise KeyError(f"{entry.body[key]} 不在待审批状态")

    return apply


async def demand_filed(conn: aiosqlite.Connection, entry: Entry) -> None:
    b = entry.body
    await conn.execute(
        "INSERT INTO procurement_demands (id, title, category, project, lines, ceiling_fen, place, delivery_date, documents,"
        " account, person, route, status, filed_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)",
        (b["id"], b["title"], b["category"], b["project"], _json(b["lines"]), int(b["ceiling_fen"]), b["place"],
         b["delivery_date"], _json(b["documents"]), b["account"], b.get("person"), _json(b["route"]), entry.ts, entry.ts),
    )  # fmt: skip
    await _files(conn, entry, b["documents"])


async def _move(conn: aiosqlite.Connection, entry: Entry, frm: tuple[str, ...], to: str, **columns: Any) -> None:
    """Move a demand from one of ``frm`` to ``to``, setting ``columns``; raise when it is not in ``frm``."""
    demand_id = entry.body["demand_id"]
    sets = "".join(f", {c} = ?" for c in columns)
    marks = ", ".join("?" for _ in frm)
    cur = await conn.execute(
        f"UPDATE procurement_demands SET status = ?, updated_at = ?{sets} WHERE id = ? AND status IN ({marks})",
        (to, entry.ts, *columns.values(), demand_id, *frm),
    )
    if cur.rowcount != 1:
        raise ValueError(f"采购需求 {demand_id!r:.40} 不存在或状态不允许此步骤（应为 {'/'.join(frm)}）")


async def demand_submitted(conn: aiosqlite.Connection, entry: Entry) -> None:
    await _move(conn, entry, ("approved",), "submitted")


async def demand_approved(conn: aiosqlite.Connection, entry: Entry) -> None:
    await _move(conn, entry, ("submitted",), "bidding")


async def demand_returned(conn: aiosqlite.Connection, entry: Entry) -> None:
    await _move(conn, entry, _LIVE, "returned", reason=str(entry.body["reason"]))


async def award(conn: aiosqlite.Connection, entry: Entry) -> None:
    b = entry.body
    shown = {k: b[k] for k in ("award_id", "supplier", "amount_fen", "lines", "bids", "bid_details") if k in b}
    int(b["amount_fen"])  # a body without a whole amount is no award
    await _move(conn, entry, _LIVE, "awarded", award=_json({**shown, "document": b.get("document")}))


async def demand_failed(conn: aiosqlite.Connection, entry: Entry) -> None:
    await _move(conn, entry, _LIVE, "failed", reason=str(entry.body["reason"]))


async def contract_signed(conn: aiosqlite.Connection, entry: Entry) -> None:
    b = entry.body
    shown = {"contract_no": b["contract_no"], "signed_on": b["signed_on"], "file": b.get("file")}
    await _move(conn, entry, ("awarded",), "contracted", contract=_json(shown))
    if b.get("file"):
        await _files(conn, entry, [b["file"]])


async def delivery_checked(conn: aiosqlite.Connection, entry: Entry) -> None:
    b = entry.body
    shown = {k: b.get(k) for k in ("received", "passed", "message", "photo", "checked_on")}
    await _move(
        conn,
        entry,
        ("contracted", "delivery_failed"),
        "accepted" if b["passed"] else "delivery_failed",
        delivery=_json(shown),
    )
    if b.get("photo"):
        await _files(conn, entry, [b["photo"]])


async def payment_recorded(conn: aiosqlite.Connection, entry: Entry) -> None:
    b = entry.body
    async with conn.execute("SELECT paid_fen, award FROM procurement_demands WHERE id = ?", (b["demand_id"],)) as cur:
        row = await cur.fetchone()
    if row is None or row[1] is None:
        raise ValueError(f"没有已定标的采购需求 {b['demand_id']!r:.40}")
    paid = int(row[0]) + int(b["amount_fen"])
    settled = paid >= int(json.loads(row[1])["amount_fen"])
    await _move(conn, entry, ("accepted",), "paid" if settled else "accepted", paid_fen=paid)
    await conn.execute(
        "INSERT INTO procurement_payments (entry, demand_id, amount_fen, paid_on, at) VALUES (?, ?, ?, ?, ?)",
        (entry.index, b["demand_id"], int(b["amount_fen"]), b["paid_on"], entry.ts),
    )
    if b.get("voucher"):
        await _files(conn, entry, [b["voucher"]])


PROJECTION: dict[str, Handler] = {
    K.PURCHASE_RECORDED: purchase_recorded,
    K.PURCHASE_REFUSED: purchase_refused,
    K.OVERRIDE_REQUESTED: override_requested,
    f"{K.OVERRIDE}.approval": _approval("procurement_overrides", "override_id"),
    f"{K.OVERRIDE}.approved": _decided("procurement_overrides", "override_id", "approved"),
    f"{K.OVERRIDE}.rejected": _decided("procurement_overrides", "override_id", "rejected"),
    K.DEMAND_FILED: demand_filed,
    f"{K.DEMAND}.approval": _approval("procurement_demands", "demand_id"),
    f"{K.DEMAND}.approved": _decided("procurement_demands", "demand_id", "approved"),
    f"{K.DEMAND}.rejected": _decided("procurement_demands", "demand_id", "rejected"),
    K.DEMAND_SUBMITTED: demand_submitted,
    K.DEMAND_APPROVED: demand_approved,
    K.DEMAND_RETURNED: demand_returned,
    K.AWARD: award,
    K.DEMAND_FAILED: demand_failed,
    K.CONTRACT_SIGNED: contract_signed,
    K.DELIVERY_CHECKED: delivery_checked,
    K.PAYMENT_RECORDED: payment_recorded,
}
