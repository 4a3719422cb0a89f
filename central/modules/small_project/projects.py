"""The villages' projects as the township sees them: each verified small-project entry of a village's ledger
(exactly once, in the ingest's transaction; central/decisions/delivery.py) moves the central's row of the
project: filed → approved or rejected → recommended (the village's contractor) → drawn (the village applied the
township's draw) → awarded or failed → completed. A project approved, with its recommended contractor and no
draw yet, awaits the township's draw (:func:`awaiting`).

The kinds are the edge part's (edge/modules/small_project/kinds.py), spelt here: the central imports nothing of
the edge's module but its rules."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import BigInteger, Column, PrimaryKeyConstraint, String, Table, Text, select
from sqlalchemy.ext.asyncio import AsyncConnection

from central import bodies
from central.db import metadata
from central.store import Principal
from edge.ledger import Entry

NAME = "small_project"
FILED, APPROVED, REJECTED, RECOMMENDED, DRAWN, OPENED, COMPLETED = (
    f"{NAME}.{k}" for k in ("filed", "approved", "rejected", "recommended", "drawn", "opened", "completed")
)
STATUS = {"pending": "村审批中", "approved": "已批准", "rejected": "已驳回", "drawn": "报价中", "awarded": "已定标",
          "failed": "流标", "completed": "已竣工结算"}  # fmt: skip

projects = Table(
    "small_project_projects",
    metadata,
    Column("edge_id", String(64), nullable=False),
    Column("project_id", String(32), nullable=False),
    Column("county", Text, nullable=False),
    Column("township", Text, nullable=False),
    Column("village", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("category", Text, nullable=False),
    Column("place", Text, nullable=False),
    Column("total_fen", BigInteger, nullable=False),
    Column("flagged", BigInteger, nullable=False),  # bill lines above their guide price
    Column("status", String(16), nullable=False),
    Column("recommended", Text, nullable=True),  # JSON {id, name}: the village's
    Column("filed_index", BigInteger, nullable=False),  # the filing's index in the village's ledger
    Column("updated_at", Text, nullable=False),
    PrimaryKeyConstraint("edge_id", "project_id"),
)


async def on_filed(ctx: Any, edge: Any, entry: Entry) -> None:
    b = entry.body
    lines = b["lines"]
    await ctx.conn.execute(projects.insert().values(
        edge_id=edge.edge_id, project_id=bodies.text(b["id"], 32), county=edge.county, township=edge.township,
        village=edge.village, name=bodies.text(b["name"]), category=bodies.text(b["category"], 20), place=bodies.text(b["place"]),
        total_fen=bodies.fen(b["total_fen"]), flagged=sum(1 for ln in lines if ln.get("above_guide")),
        status="pending", filed_index=entry.index, updated_at=entry.ts,
    ))  # fmt: skip


def _move(frm: tuple[str, ...], to: str) -> Any:
    async def react(ctx: Any, edge: Any, entry: Entry) -> None:
        await _set(ctx.conn, edge, entry, frm, status=to)

    return react


async def _set(conn: AsyncConnection, edge: Any, entry: Entry, frm: tuple[str, ...], **values: Any) -> None:
    done = await conn.execute(projects.update().where(
        projects.c.edge_id == edge.edge_id, projects.c.project_id == bodies.text(entry.body["project_id"], 32),
        projects.c.status.in_(frm),
    ).values(updated_at=entry.ts, **values))  # fmt: skip
    if done.rowcount != 1:  # the edge refused it as well (its projection's anomaly): nothing moves here either
        raise LookupError(f"{edge.edge_id} {entry.body['project_id']}: not in {frm} for {entry.kind}")


async def on_recommended(ctx: Any, edge: Any, entry: Entry) -> None:
    c = entry.body["contractor"]
    chosen = {"id": bodies.text(c["id"], 40), "name": bodies.text(c["name"], 60)}
    await _set(ctx.conn, edge, entry, ("approved",), recommended=json.dumps(chosen, ensure_ascii=False))


async def on_opened(ctx: Any, edge: Any, entry: Entry) -> None:
    await _set(ctx.conn, edge, entry, ("drawn",), status="awarded" if entry.body.get("winner") else "failed")


ON_ENTRY = {
    FILED: on_filed,
    APPROVED: _move(("pending",), "approved"),
    REJECTED: _move(("pending",), "rejected"),
    RECOMMENDED: on_recommended,
    DRAWN: _move(("approved",), "drawn"),
    OPENED: on_opened,
    COMPLETED: _move(("awarded",), "completed"),
}


def _row(r: Any) -> dict[str, Any]:
    return {**r._asdict(), "recommended": json.loads(r.recommended) if r.recommended else None,
            "status_name": STATUS[r.status]}  # fmt: skip


async def listed(conn: AsyncConnection, who: Principal) -> list[dict[str, Any]]:
    """The projects of the villages in ``who``'s scope, newest filing first."""
    rows = (await conn.execute(select(projects).order_by(projects.c.updated_at.desc(), projects.c.project_id))).all()
    return [_row(r) for r in rows if who.covers(r.county, r.township)]


async def one(conn: AsyncConnection, edge_id: str, project_id: str) -> dict[str, Any] | None:
    query = select(projects).where(projects.c.edge_id == edge_id, projects.c.project_id == project_id)
    found = (await conn.execute(query.with_for_update())).first()
    return _row(found) if found else None


def awaiting(row: dict[str, Any]) -> bool:
    """Approved by the village, its contractor recommended, not drawn yet."""
    return row["status"] == "approved" and row["recommended"] is not None
