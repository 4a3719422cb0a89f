"""The township's review of a village's demand, and the reception of a demand from a village's ledger.

A demand arrives as a verified entry of the village's edge (``procurement.demand_submitted``, handed over
once by the central's decisions machinery). A township officer of the demand's own township approves it (a
decision whose document goes down: bidding opens on it) or returns it with a reason (a decision whose signed
document goes down to the village, which records it as ``procurement.demand_returned``). Each is a decision
written before the row changes, in the same transaction that queues the document.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

import central.modules.procurement.kinds as K
from central.accounts.roles import TOWNSHIP_OFFICER
from central.decisions.log import DecisionLog
from central.modules.procurement.tables import demands, tender_terms, tenders
from central.modules.procurement.terms import of_county
from central.store import Principal, Refusal
from edge.ledger import Entry, canonical_json
from edge.ledger.entry import utc_now

MAX_REASON = 500


def iso(when: datetime) -> str:
    """A moment as the central's tables keep it: UTC, ISO-8601 with a Z."""
    return when.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text)


def check_reason(text: object) -> str:
    """A return's reason: 2 to 500 characters, no control characters but line breaks."""
    cleaned = unicodedata.normalize("NFC", text if isinstance(text, str) else "").strip()
    if any(unicodedata.category(c)[0] == "C" and c != "\n" for c in cleaned):
        raise Refusal(400, "bad_reason", "退回理由含有控制字符")
    if len(cleaned) < 2:
        raise Refusal(400, "missing_reason", "请写明退回的理由，村里据此修改需求")
    if len(cleaned) > MAX_REASON:
        raise Refusal(400, "bad_reason", f"退回理由过长：最多 {MAX_REASON} 个字")
    return cleaned


def may_review(who: Principal, row: Mapping[str, Any]) -> bool:
    """A township officer of the demand's own township (an officer elsewhere, a county officer or a supervisor's
    token reads but does not decide)."""
    return who.role == TOWNSHIP_OFFICER and who.level == "township" and who.covers(row["county"], row["township"])


async def received(ctx: Any, edge: Any, entry: Entry) -> None:
    """A demand the village approved, from its verified ledger: kept for the township's review."""
    b = entry.body
    demand = b["demand"]
    ceiling = demand["ceiling_fen"]
    if type(ceiling) is not int or not 0 < ceiling < 2**63:
        raise ValueError(f"ceiling_fen {ceiling!r:.40} is no amount")
    await ctx.conn.execute(
        demands.insert().values(
            edge_id=edge.edge_id, demand_id=str(b["demand_id"]), village=edge.village, township=edge.township,
            county=edge.county, title=str(demand["title"]), category=str(demand["category"]), ceiling_fen=ceiling,
            delivery_date=str(demand["delivery_date"]), body=canonical_json(demand), entry_index=entry.index,
            status="submitted", received_at=utc_now(),
        )
    )  # fmt: skip


def _row(row: Any) -> dict[str, Any]:
    out = dict(row._mapping)
    out["demand"] = json.loads(out.pop("body"))
    return out


async def in_scope(conn: AsyncConnection, who: Principal) -> list[dict[str, Any]]:
    """The demands ``who`` may see, newest first."""
    rows = (await conn.execute(select(demands).order_by(demands.c.received_at.desc(), demands.c.demand_id))).all()
    return [_row(r) for r in rows if who.covers(r.county, r.township)]


async def review(
    conn: AsyncConnection, decisions: DecisionLog, who: Principal, edge_id: str, demand_id: str, approve: bool,
    reason: object = "", now: datetime | None = None,
) -> Entry:  # fmt: skip
    """The township officer's decision on a submitted demand (inside the caller's write transaction ``conn``); an
    approval opens its bidding window at ``now``."""
    found = (
        await conn.execute(select(demands).where(demands.c.edge_id == edge_id, demands.c.demand_id == demand_id))
    ).first()
    if found is None or not who.covers(found.county, found.township):
        raise Refusal(404, "not_found", "没有此采购需求，或不在您的辖区")
    row = _row(found)
    if not may_review(who, row):
        raise Refusal(403, "forbidden", "只有需求所在乡镇的审核人员可以审核此需求")
    if row["status"] != "submitted":
        raise Refusal(409, "not_pending", f"此需求{K.STATUS_NAMES[row['status']]}，不能再审核")
    actor = who.account or who.name
    if approve:
        # Down to the village too: its demand shows that bidding is open, and until when.
        opened = now or datetime.now(UTC)
        terms = await of_county(conn, row["county"])
        body = {"demand_id": demand_id, "ceiling_fen": row["ceiling_fen"], "closes_at": iso(opened + terms.window),
                "terms": terms.recorded()}  # fmt: skip
        entry = await decisions.decide(K.DEMAND_APPROVED, body, edge_id, actor=actor, conn=conn)
        status, why = "approved", None
        await conn.execute(tenders.insert().values(
            edge_id=edge_id, demand_id=demand_id, opens_at=iso(opened), closes_at=body["closes_at"], status="open",
        ))  # fmt: skip
        await conn.execute(tender_terms.insert().values(
            edge_id=edge_id, demand_id=demand_id, window_s=int(terms.window.total_seconds()),
            extend_s=int(terms.extend.total_seconds()), source=terms.source,
        ))  # fmt: skip
    else:
        why = check_reason(reason)
        entry = await decisions.decide(
            K.DEMAND_RETURNED, {"demand_id": demand_id, "reason": why}, edge_id, actor=actor, conn=conn
        )
        status = "returned"
    await conn.execute(
        demands.update().where(demands.c.edge_id == edge_id, demands.c.demand_id == demand_id).values(
            status=status, reason=why, decided_by=actor, decision_index=entry.index, decided_at=utc_now(),
        )
    )  # fmt: skip
    return entry
