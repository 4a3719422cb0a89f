"""What the central does with each verified whistleblower entry of a village's ledger (exactly once each, in the
ingest's transaction): a clue received is listed for the township with its deadlines and its sealed envelope;
each step moves its state; an overdue flag or an escalation marks it. Nothing is decrypted here.

The kinds and body fields are the edge part's (edge/modules/whistleblower/kinds.py, desk.py): the names are the
contract between the two halves, spelt here because the central imports nothing of the edge's modules.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import update

from central import bodies
from central.modules.whistleblower.tables import clues, sealed
from edge.ledger import Entry

NAME = "whistleblower"
RECEIVED, ACKNOWLEDGED, VERIFIED, RESOLVED, FEEDBACK, ESCALATED, MESSAGE, OVERDUE, REVIEW = (
    f"{NAME}.{k}"
    for k in (
        "clue_received",
        "clue_acknowledged",
        "clue_verified",
        "clue_resolved",
        "clue_feedback",
        "clue_escalated",
        "message",
        "overdue",
        "review_meeting",
    )
)


def _envelope(value: object) -> str:
    if not isinstance(value, dict) or not isinstance(value.get("to"), list):
        raise TypeError("not a sealed envelope")
    return json.dumps(value, sort_keys=True)


def _clue(edge: Any, clue_id: object) -> Any:
    return (clues.c.edge_id == edge.edge_id) & (clues.c.clue_id == bodies.text(clue_id, 32))


async def _seal(
    ctx: Any, edge: Any, entry: Entry, clue_id: object, kind: str, author: str, at: object, envelope: object
) -> None:
    await ctx.conn.execute(sealed.insert().values(
        edge_id=edge.edge_id, edge_index=entry.index, clue_id=bodies.text(clue_id, 32), kind=kind, author=author,
        at=bodies.text(at, 32), envelope=_envelope(envelope),
    ))  # fmt: skip


async def _move(ctx: Any, edge: Any, clue_id: object, **values: Any) -> None:
    await ctx.conn.execute(update(clues).where(_clue(edge, clue_id)).values(**values))


async def on_received(ctx: Any, edge: Any, entry: Entry) -> None:
    b = entry.body
    await ctx.conn.execute(clues.insert().values(
        edge_id=edge.edge_id, clue_id=bodies.text(b["id"], 32), village=edge.village, township=edge.township, county=edge.county,
        source=bodies.text(b["source"], 16), received_at=bodies.text(b["received_at"], 32), ack_due=bodies.text(b["ack_due"], 32),
        feedback_due=bodies.text(b["feedback_due"], 32), state="received",
    ))  # fmt: skip
    await _seal(ctx, edge, entry, b["id"], "clue", "reporter", b["received_at"], b["sealed"])


async def on_acknowledged(ctx: Any, edge: Any, entry: Entry) -> None:
    await _move(ctx, edge, entry.body["id"], state="acknowledged")


async def on_review(ctx: Any, edge: Any, entry: Entry) -> None:
    for clue_id in entry.body["triaged"]:
        await _move(ctx, edge, clue_id, state="triaged")


async def on_verified(ctx: Any, edge: Any, entry: Entry) -> None:
    b = entry.body
    await _move(ctx, edge, b["id"], state="verified")
    await _seal(ctx, edge, entry, b["id"], "note", "station", b["at"], b["note"])


async def on_resolved(ctx: Any, edge: Any, entry: Entry) -> None:
    b = entry.body
    outcome = {"confirmed": "resolved", "dismissed": "dismissed"}[str(b["outcome"])]
    await _move(ctx, edge, b["id"], state=outcome, outcome=str(b["outcome"]))
    await _seal(ctx, edge, entry, b["id"], "reasons", "station", b["at"], b["reasons"])


async def on_feedback(ctx: Any, edge: Any, entry: Entry) -> None:
    b = entry.body
    await _move(ctx, edge, b["id"], state="closed")
    await _seal(ctx, edge, entry, b["id"], "feedback", "station", b["at"], b["sealed"])


async def on_escalated(ctx: Any, edge: Any, entry: Entry) -> None:
    await _move(ctx, edge, entry.body["id"], escalated_at=bodies.text(entry.body["at"], 32))


async def on_message(ctx: Any, edge: Any, entry: Entry) -> None:
    b = entry.body
    author = bodies.text(b["author"], 16)
    if author not in ("reporter", "station"):
        raise ValueError(f"unknown author {author!r}")
    await _seal(ctx, edge, entry, b["id"], "message", author, b["at"], b["sealed"])


async def on_overdue(ctx: Any, edge: Any, entry: Entry) -> None:
    column = {"acknowledge": "ack_overdue", "feedback": "feedback_overdue"}[str(entry.body["step"])]
    await _move(ctx, edge, entry.body["id"], **{column: bodies.text(entry.body["at"], 32)})


ON_ENTRY = {
    RECEIVED: on_received, ACKNOWLEDGED: on_acknowledged, REVIEW: on_review, VERIFIED: on_verified,
    RESOLVED: on_resolved, FEEDBACK: on_feedback, ESCALATED: on_escalated, MESSAGE: on_message, OVERDUE: on_overdue,
}  # fmt: skip
