"""Documents down, module entries up: what the store does with an edge's verified entries, and what it sends.

Down: the state reply of every sync round (``GET /api/v1/sync/{edge}/state``) carries the edge's pending
documents, oldest decision first (:func:`pending_documents`); an edge that does not know them ignores the
field, and a document stays pending until it is settled. It is settled by the edge's own ledger, never by a
word on the wire: when a batch the store has verified holds the entry that applied it (the document rebuilt from
that entry is byte for byte the one queued) it is ``applied``; when it holds the edge's ``document_refused``
entry for it after checking its signature (a kind none of its parts takes), ``refused`` with that reason. That happens in the transaction that stores the batch, so a
resent batch settles nothing twice, and a reply lost on the way back costs only a resend of the document,
which the edge recognises as applied already and does not apply again.

Up: every new entry of a verified batch whose kind a registered central part reacts to (``CentralPart.on_entry``,
by the kind's prefix) is handed to it in that same transaction, so exactly once however often the batch is
resent. A reaction that fails is rolled back to its savepoint and logged, and the entry is owed to the part
(``reaction_failures``): the batch, accepted, is never lost, and the part is handed the entry again before the
edge's next new entries, in ledger order, until a reaction takes it (a fixed bug, a row that was missing). The
retried reaction's savepoint deletes what is owed, so it too happens exactly once. A reaction that failed after
it had logged a decision is not handed the entry again: the decision log is append-only, so the decision stands
and its document is queued all the same, and a retry would decide twice. Its failure stays in the status for
an administrator.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from central.contract import CentralPart, OnEntry
from central.db import documents, entries, reaction_failures
from central.decisions.log import DecisionError, DecisionLog
from edge.ledger import Entry, canonical_json
from edge.ledger.decisiondoc import (
    DOCUMENT_FIELD,
    DOCUMENT_REFUSED,
    DOCUMENTS_PER_ROUND,
    SETTLING_REFUSALS,
    document_of_entry,
)
from edge.ledger.entry import GENESIS_PREV_HASH, utc_now

log = logging.getLogger("central.decisions")

#: Records a decision in the central's decision log (``DecisionLog.decide`` bound to the ingest's transaction).
Decide = Callable[..., Awaitable[Entry]]


@dataclass(frozen=True)
class EntryContext:
    """What a central part's ``on_entry`` reaction is handed beside the edge and the entry: the write
    transaction the batch is stored in (its own rows go in it too) and ``decide``, which records a decision in
    the central's log and queues its document (``decide(kind, body, village=None, actor=...)``)."""

    conn: AsyncConnection
    decide: Decide


async def pending_documents(conn: AsyncConnection, edge_id: str) -> list[dict[str, Any]]:
    """The documents waiting for ``edge_id``, oldest decision first, at most a round's (the rest follow)."""
    rows = await conn.execute(
        select(documents.c.content)
        .where(documents.c.edge_id == edge_id, documents.c.status == "pending")
        .order_by(documents.c.decision_index)
        .limit(DOCUMENTS_PER_ROUND)
    )
    return [json.loads(content) for content in rows.scalars()]


async def settle(conn: AsyncConnection, edge_id: str, entry_rows: Sequence[Mapping[str, Any]]) -> None:
    """Mark delivered the documents that these verified entries of ``edge_id`` applied or refused."""
    for row in entry_rows:
        applied: dict[str, Any] | None = None
        if row["kind"] == DOCUMENT_REFUSED:
            body = json.loads(row["body"])
            if body.get("anomaly") not in SETTLING_REFUSALS:  # e.g. a forgery carrying a real document's id
                continue
            document_id, status, reason = body.get("document_id"), "refused", body.get("anomaly")
        elif f'"{DOCUMENT_FIELD}"' in row["body"]:
            applied = document_of_entry(row["kind"], json.loads(row["body"]))
            if applied is None or applied["village"] != edge_id:
                continue
            document_id, status, reason = applied["id"], "applied", None
        else:
            continue
        if not isinstance(document_id, str):
            continue
        queued = (
            await conn.execute(
                select(documents.c.content).where(
                    documents.c.id == document_id, documents.c.edge_id == edge_id, documents.c.status == "pending"
                )
            )
        ).scalar()
        # Applied: only the very document queued counts (a village cannot settle one by writing its id).
        if queued is None or (applied is not None and canonical_json(applied) != queued):
            continue
        await conn.execute(
            documents.update().where(documents.c.id == document_id).values(
                status=status, settled_at=utc_now(), edge_index=row["idx"],
                reason=str(reason)[:200] if reason is not None else None,
            )
        )  # fmt: skip


async def hand_to_parts(
    conn: AsyncConnection, edge: Any, entry_rows: Sequence[Mapping[str, Any]], parts: Sequence[CentralPart],
    decide: Decide, queue: Queue,
) -> None:  # fmt: skip
    """Give the entries owed to the parts since an earlier failure, then each new verified entry, to the central
    part that reacts to its kind, each in its own savepoint.

    ``edge``: the edge's row as it was before the batch (its place, and the chain head the entries continue);
    ``queue`` queues the document of a decision that stands though the reaction that took it failed."""
    reactions = {kind: handler for part in parts for kind, handler in part.on_entry.items()}
    if not reactions:
        return
    hand = _Hand(conn, edge, reactions, decide, queue)
    for entry in await _owed(conn, edge.edge_id):
        await hand.react(entry, owed=True)
    prev: bytes = edge.last_hash  # the chain head before this batch
    for row in entry_rows:
        entry_prev, prev = prev, row["hash"]
        if row["kind"] in reactions:
            entry = Entry.from_row((row["idx"], row["ts"], row["kind"], row["body"], entry_prev, row["hash"]))
            await hand.react(entry, owed=False)


#: Queues a logged decision's document in the ingest's transaction (``DecisionLog.queue``).
Queue = Callable[[AsyncConnection, Entry], Awaitable[None]]


@dataclass(frozen=True)
class _Hand:
    """One edge's entries handed to the parts' reactions in one ingest transaction."""

    conn: AsyncConnection
    edge: Any
    reactions: Mapping[str, OnEntry]
    decide: Decide
    queue: Queue

    async def react(self, entry: Entry, *, owed: bool) -> None:
        conn, edge_id = self.conn, self.edge.edge_id
        handler = self.reactions.get(entry.kind)
        where = (reaction_failures.c.edge_id == edge_id) & (reaction_failures.c.idx == entry.index)
        decided: list[Entry] = []

        async def deciding(*args: Any, **kwargs: Any) -> Entry:
            made = await self.decide(*args, **kwargs)
            decided.append(made)
            return made

        try:
            async with conn.begin_nested():
                if handler is not None:  # a part no longer registered owes nothing
                    await handler(EntryContext(conn, deciding), self.edge, entry)
                if owed:
                    await conn.execute(delete(reaction_failures).where(where))
        except Exception as exc:  # a part's fault must not refuse a verified batch: the entry is stored all the same
            log.exception("central part failed on %s entry %d (%s)%s", edge_id, entry.index, entry.kind,
                          f" after logging {len(decided)} decision(s): not retried" if decided else "")  # fmt: skip
            for made in decided:  # the log holds them: their documents go out as for any decision
                if made.body.get("document"):
                    await self.queue(conn, made)
            error = f"{type(exc).__name__}: {exc}"[:1000]
            values = {"error": error, "failed_at": utc_now(), "decisions": len(decided)}
            if owed:
                await conn.execute(update(reaction_failures).where(where).values(
                    attempts=reaction_failures.c.attempts + 1, **values))  # fmt: skip
            else:
                await conn.execute(reaction_failures.insert().values(
                    edge_id=edge_id, idx=entry.index, kind=entry.kind, attempts=1, **values))  # fmt: skip


async def _owed(conn: AsyncConnection, edge_id: str) -> list[Entry]:
    """The edge's entries a reaction failed on before it decided anything, oldest first, as they were verified
    (with the hash before each). One query that starts from the (nearly always empty) table of failures."""
    before = entries.alias("before")
    rows = (
        await conn.execute(
            select(entries.c.idx, entries.c.ts, entries.c.kind, entries.c.body, entries.c.hash,
                   before.c.hash.label("prev_hash"))
            .select_from(reaction_failures)
            .join(entries, (entries.c.edge_id == reaction_failures.c.edge_id) & (entries.c.idx == reaction_failures.c.idx))
            .outerjoin(before, (before.c.edge_id == entries.c.edge_id) & (before.c.idx == entries.c.idx - 1))
            .where(reaction_failures.c.edge_id == edge_id, reaction_failures.c.decisions == 0)
            .order_by(entries.c.idx)
        )  # fmt: skip
    ).all()
    return [Entry.from_row((r.idx, r.ts, r.kind, r.body, r.prev_hash or GENESIS_PREV_HASH, r.hash)) for r in rows]


#: What the store calls once a batch's new entries are stored (``CentralStore.on_verified``).
OnVerified = Callable[[AsyncConnection, Any, list[dict[str, Any]]], Awaitable[None]]


def reactions(parts: Sequence[CentralPart], decisions: Callable[[], DecisionLog | None]) -> OnVerified:
    """The store's hook that hands verified entries to ``parts``; their ``decide`` writes to the decision log
    ``decisions()`` returns (the app's, opened with its lifespan) and queues documents in the ingest's transaction."""

    async def react(conn: AsyncConnection, edge: Any, entry_rows: list[dict[str, Any]]) -> None:
        async def decide(kind: str, body: Mapping[str, Any], village: str | None = None, *, actor: str) -> Entry:
            log = decisions()
            if log is None:
                raise DecisionError("中心库未配置数据目录, 不能记录决定 the central runs without a decision log")
            return await log.decide(kind, body, village, actor=actor, conn=conn)

        async def queue(same_conn: AsyncConnection, entry: Entry) -> None:
            decision_log = decisions()
            if decision_log is not None:  # it is: the entry was decided in it
                await decision_log.queue(same_conn, entry)

        await hand_to_parts(conn, edge, entry_rows, parts, decide, queue)

    return react
