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

import edge.modules.small_project.rules as rules  # noqa: PLR0402 (the pure rules only, as the layers allow)
from central import bodies
from central.db import metadata
from central.store import Principal, Refusal
from edge.ledger import Entry

NAME = "small_project"
FILED, APPROVED, REJECTED, TOWNSHIP_STEP, RECOMMENDED, REVEALED, DRAWN, OPENED, COMPLETED = (f"{NAME}.{k}" for k in (
    "filed", "approved", "rejected", "township_step", "recommended", "village_revealed", "drawn", "opened", "completed"))  # fmt: skip
STATUS = {"pending": "村审批中", "township": "乡镇审批中", "approved": "已批准", "rejected": "已驳回", "drawn": "报价中", "awarded": "已定标",
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
#: The township's steps of each project's route (frozen into it when the village filed it), and those taken.
township_routes = Table(
    "small_project_township_routes",
    metadata,
    Column("edge_id", String(64), nullable=False),
    Column("project_id", String(32), nullable=False),
    Column("approvers", Text, nullable=False),  # JSON [username]: in order; [] when the category has none
    Column("done", Text, nullable=False),  # JSON [username]: the approvals decided so far, in order
    Column("rejected_by", Text, nullable=True),  # who rejected it (no step after that)
    PrimaryKeyConstraint("edge_id", "project_id"),
)


#: The village's value for a project's draw, once it revealed it (its edge checked it against the commitment).
village_values = Table(
    "small_project_village_values",
    metadata,
    Column("edge_id", String(64), nullable=False),
    Column("project_id", String(32), nullable=False),
    Column("value", Text, nullable=False),
    Column("entry", BigInteger, nullable=False),  # its index in the village's ledger
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
    township = [bodies.text(a, 64) for a in (b["route"].get("township") or [])]
    await ctx.conn.execute(township_routes.insert().values(
        edge_id=edge.edge_id, project_id=b["id"], approvers=json.dumps(township), done="[]"))  # fmt: skip


async def steps_of(conn: AsyncConnection, edge_id: str, project_id: str) -> tuple[list[str], list[str]]:
    """A project's township approvers in order, and those who approved so far."""
    query = select(township_routes).where(township_routes.c.edge_id == edge_id, township_routes.c.project_id == project_id)
    found = (await conn.execute(query)).first()
    return (json.loads(found.approvers), json.loads(found.done)) if found else ([], [])


async def rejected_by(conn: AsyncConnection, edge_id: str, project_id: str) -> str | None:
    query = select(township_routes.c.rejected_by).where(
        township_routes.c.edge_id == edge_id, township_routes.c.project_id == project_id)  # fmt: skip
    return (await conn.execute(query)).scalar()


async def on_village_approved(ctx: Any, edge: Any, entry: Entry) -> None:
    """The village's route complete: the township's steps next, when the category's route has any."""
    approvers, _ = await steps_of(ctx.conn, edge.edge_id, bodies.text(entry.body["project_id"], 32))
    await _set(ctx.conn, edge, entry, ("pending",), status="township" if approvers else "approved")


async def on_township_step(ctx: Any, edge: Any, entry: Entry) -> None:
    """The village applied a township step (the central's own decision, come back up, in the order decided):
    the last approval approves the project, a rejection rejects it; another leaves it with the township."""
    b = entry.body
    if not b.get("approve"):
        await _set(ctx.conn, edge, entry, ("township",), status="rejected")
    elif b.get("final"):  # as the central decided it: the route's last approver
        await _set(ctx.conn, edge, entry, ("township",), status="approved")


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
    chosen = {"id": bodies.text(c["id"], 40), "name": bodies.text(c["name"], 60),
              "commitment": bodies.text(entry.body["commitment"], 64)}  # fmt: skip
    await _set(ctx.conn, edge, entry, ("approved",), recommended=json.dumps(chosen, ensure_ascii=False))


async def on_revealed(ctx: Any, edge: Any, entry: Entry) -> None:
    await ctx.conn.execute(village_values.insert().values(
        edge_id=edge.edge_id, project_id=bodies.text(entry.body["project_id"], 32),
        value=bodies.text(entry.body["value"], rules.VALUE_MAX), entry=entry.index))  # fmt: skip


async def village_value(conn: AsyncConnection, edge_id: str, project_id: str) -> str | None:
    query = select(village_values.c.value).where(village_values.c.edge_id == edge_id,
                                                 village_values.c.project_id == project_id)  # fmt: skip
    return (await conn.execute(query)).scalar()


async def on_opened(ctx: Any, edge: Any, entry: Entry) -> None:
    await _set(ctx.conn, edge, entry, ("drawn",), status="awarded" if entry.body.get("winner") else "failed")


ON_ENTRY = {
    FILED: on_filed,
    APPROVED: on_village_approved,
    TOWNSHIP_STEP: on_township_step,
    REJECTED: _move(("pending",), "rejected"),
    RECOMMENDED: on_recommended,
    REVEALED: on_revealed,
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


async def recommended_of(conn: AsyncConnection, edge_id: str, project_id: str) -> dict[str, Any] | None:
    """The village's recommended contractor with its value's commitment (no lock: for a page)."""
    query = select(projects.c.recommended).where(projects.c.edge_id == edge_id, projects.c.project_id == project_id)
    found = (await conn.execute(query)).scalar()
    return json.loads(found) if found else None


def awaiting(row: dict[str, Any]) -> bool:
    """Approved by the village, its contractor recommended, not drawn yet."""
    return row["status"] == "approved" and row["recommended"] is not None


async def township_step(
    conn: AsyncConnection, decisions: Any, who: Principal, edge_id: str, project_id: str, approve: bool, reason: str
) -> bool:
    """A township officer's step on a project of their township, in the route's order: a decision sent down to
    the village (whose edge checks the order again). True when it completes the township's route."""
    county, _, township = who.name.partition("/")
    if who.level != "township" or who.role != "township_officer" or not township:
        raise Refusal(403, "forbidden", "只有本乡镇的审核人员可以审批")
    project = await one(conn, edge_id, project_id)
    if project is None or (project["county"], project["township"]) != (county, township):
        raise Refusal(404, "not_found", "本乡镇没有这个工程")
    if project["status"] != "township":
        raise Refusal(409, "not_township", f"工程当前为“{project['status_name']}”，不在乡镇审批中")
    approvers, done = await steps_of(conn, edge_id, project_id)
    if await rejected_by(conn, edge_id, project_id):
        raise Refusal(409, "rejected", "本工程已被乡镇驳回")
    why = rules.township_refusal(approvers, done, who.account or "")
    if why is not None:
        raise Refusal(403 if who.account not in approvers else 409, "not_your_turn", why)
    why_not = reason.strip()
    if not approve and len(why_not) < rules.REASON_MIN:
        raise Refusal(400, "reason", f"驳回须写明理由（至少 {rules.REASON_MIN} 个字）")
    final = approve and len(done) + 1 == len(approvers)
    body = {"project_id": project_id, "approver": who.account, "approve": approve, "final": final,
            "reason": "" if approve else why_not[:500]}  # fmt: skip
    await decisions.decide(TOWNSHIP_STEP, body, edge_id, actor=who.account or who.name, conn=conn)
    await conn.execute(township_routes.update().where(
        township_routes.c.edge_id == edge_id, township_routes.c.project_id == project_id,
    ).values(done=json.dumps([*done, who.account] if approve else done), rejected_by=None if approve else who.account))  # fmt: skip
    return final
