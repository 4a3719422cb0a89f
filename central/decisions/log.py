"""The central's decision log: a ledger of the central's own decisions, and the documents they send down.

The log is an edge ledger in every respect (:class:`edge.ledger.Ledger` over ``<central data>/decisions``: hash
chain, RFC 6962 tree, Ed25519 checkpoints, its key made once and kept 0600), so ``qinglian ledger verify``,
``ledger proof`` and ``merkle verify`` work on it unchanged. A checkpoint is signed after every decision: the
central decides seldom, and each decision is then provable at once.

A decision that concerns a village (``village``: the edge id it was enrolled under) also becomes a document,
signed with the same key (:mod:`edge.ledger.decisiondoc`), queued in the ``documents`` table for that edge and
delivered on its next sync (:mod:`central.decisions.delivery`). The ledger is written first; the queue is a
projection of it: a document whose decision is in the log but not in the table (the central stopped between
the two) is queued when the log is opened again (:meth:`DecisionLog.open`), byte for byte the same, since
Ed25519 signatures are deterministic.

Like an edge's, the log keeps its chain head in memory, so one process writes it: :meth:`DecisionLog.open` takes
the folder's writer lock (the edge's ``flock``, dropped by the kernel when the holder dies), and a second central
process on the same data folder is refused at start instead of forking the chain.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from central.db import Database, documents, edges
from edge.kernel.writerlock import WriterLock
from edge.ledger import Entry, Ledger, canonical_json
from edge.ledger.decisiondoc import DocumentError, check_fields, sign_document
from edge.ledger.keys import load_or_create_signing_key, public_key_b64, public_key_pem
from edge.ledger.wire import key_id

log = logging.getLogger("central.decisions")

#: The decision log's folder inside the central's data folder.
DECISIONS_DIR = "decisions"


class DecisionError(ValueError):
    """A decision that cannot be taken as asked (bad kind, body or village): nothing was written."""


class DecisionLog:
    """The central's ledger of its own decisions; use :meth:`open`, then :meth:`decide`."""

    def __init__(self, ledger: Ledger, key: Ed25519PrivateKey, db: Database, lock: WriterLock) -> None:
        self.ledger = ledger
        self._key = key
        self._db = db
        self._lock = lock

    @classmethod
    async def open(cls, data_dir: Path, db: Database) -> DecisionLog:
        """Open (creating on first use) the log in ``data_dir/decisions`` and queue any document it lacks."""
        folder = Path(data_dir) / DECISIONS_DIR
        lock = WriterLock.try_acquire(folder)
        if lock is None:
            raise DecisionError(f"决策日志正由另一个中心进程写入 another central process writes the decision log in {folder}")
        try:
            ledger = await Ledger.open(folder)
        except BaseException:
            lock.release()
            raise
        try:
            # The ledger made or checked its key; the same key signs the documents.
            decisions = cls(ledger, load_or_create_signing_key(folder, create=False), db, lock)
            await decisions._queue_missing()
        except BaseException:
            await ledger.close()
            lock.release()
            raise
        return decisions

    async def close(self) -> None:
        try:
            await self.ledger.close()
        finally:
            self._lock.release()

    # -- the public key ----------------------------------------------------------------------

    def public_key(self) -> dict[str, str]:
        """What ``GET /api/v1/central/pubkey`` answers: the key (base64 of its raw 32 bytes, as an edge pins it
        in ``[central] decision_key``), its fingerprint (SHA-256 of the raw key, hex) and its PEM."""
        key = self.ledger.public_key
        return {"public_key": public_key_b64(key), "fingerprint": key_id(key), "pem": public_key_pem(key).decode()}

    # -- deciding ----------------------------------------------------------------------------

    async def decide(
        self, kind: str, body: Mapping[str, Any], village: str | None = None, *, actor: str,
        conn: AsyncConnection | None = None,
    ) -> Entry:  # fmt: skip
        """Record a decision (``kind`` is the deciding part's, e.g. ``procurement.award``) taken by ``actor``;
        when it concerns a village, queue its signed document for that village's edge (``village``: its edge id).

        The entry's body is ``{"actor", "village", "document", "decision"}``: the decision's own body under
        ``decision``. ``conn``: a write transaction the caller holds (a part reacting to an edge's entry during
        an ingest), in which the document is queued; otherwise the log queues it in a transaction of its own.
        :class:`DecisionError` if the kind, body, actor or village is not acceptable: nothing is written.
        """
        if not isinstance(actor, str) or not actor:
            raise DecisionError("须写明作出决定的人 the actor of a decision is required")
        document_id = uuid.uuid4().hex if village is not None else None
        if village is not None:
            if not isinstance(village, str) or not village:
                raise DecisionError("village 应为边缘编号 village must be the village's edge id")
            # Checked as the document it will become before anything is written.
            try:
                check_fields({"id": document_id, "village": village, "kind": kind, "body": body,
                              "issued_at": "-", "decision_index": 0})  # fmt: skip
            except DocumentError as exc:
                raise DecisionError(str(exc)) from None
            if not await self._enrolled(village, conn):  # a document nobody would ever fetch
                raise DecisionError(f"没有登记为 {village!r} 的村 no edge is enrolled as {village!r}")
        record = {"actor": actor, "village": village, "document": document_id, "decision": dict(body)}
        try:
            entry = await self.ledger.append(kind, record)
        except ValueError as exc:
            raise DecisionError(str(exc)) from None
        await self.ledger.checkpoint()
        if document_id is not None:
            if conn is not None:
                await self.queue(conn, entry)
            else:
                async with self._db.writer.begin() as own:
                    await self.queue(own, entry)
        log.info("decision %d %s by %s%s", entry.index, kind, actor, f" for {village}" if village else "")
        return entry

    async def _enrolled(self, edge_id: str, conn: AsyncConnection | None) -> bool:
        query = select(edges.c.edge_id).where(edges.c.edge_id == edge_id)
        if conn is not None:
            return (await conn.execute(query)).first() is not None
        async with self._db.reader.connect() as own:
            return (await own.execute(query)).first() is not None

    def document_of(self, entry: Entry) -> dict[str, Any]:
        """The signed document of a decision entry that concerns a village."""
        return sign_document(self._key, {
            "id": entry.body["document"], "village": entry.body["village"], "kind": entry.kind,
            "body": entry.body["decision"], "issued_at": entry.ts, "decision_index": entry.index,
        })  # fmt: skip

    async def queue(self, conn: AsyncConnection, entry: Entry) -> None:
        """Queue the document of a logged decision for its village, in ``conn``'s transaction."""
        document = self.document_of(entry)
        await conn.execute(
            documents.insert().values(
                id=document["id"], edge_id=document["village"], kind=entry.kind, decision_index=entry.index,
                content=canonical_json(document), status="pending",
            )
        )  # fmt: skip

    async def _queue_missing(self) -> None:
        """Queue the documents of decisions that the log holds and the table does not (see the module's doc)."""
        async with self._db.reader.connect() as conn:
            queued = set((await conn.execute(select(documents.c.id))).scalars().all())
        missing = [
            e for e in await self.ledger.entries() if e.body.get("document") and e.body["document"] not in queued
        ]
        if missing:
            async with self._db.writer.begin() as conn:
                for entry in missing:
                    await self.queue(conn, entry)
            log.warning("queued %d document(s) whose decisions were logged before a stop", len(missing))
