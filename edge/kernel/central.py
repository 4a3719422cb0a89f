"""Applying what the central store sends down: its configuration, and its signed decisions for this village
(:class:`DocumentInbox`). The ``[central]`` settings themselves are read with the rest of the TOML file, in
:mod:`edge.kernel.config`.

The merged configuration the store sends (see :mod:`central.configdocs`) is
kept in ``central_config.json`` (:func:`load_received_config`).
Its roster and routing rules take effect through :func:`effective_config`:
people are merged by id into the local ``[[people]]`` (the central entry wins),
and a central routing list replaces the local ``[[routes]]`` whole. The result
is checked with the same rules as the TOML file (roles, approvers that exist
and hold the approver role, custodians of the configured devices); a central
configuration that fails them is not applied and the local one stays.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from edge.kernel.config import EdgeConfig, parse_people, parse_routes
from edge.kernel.errors import ConfigError
from edge.kernel.files import write_atomic
from edge.kernel.toml import Table
from edge.ledger.decisiondoc import (
    DOCUMENT_FIELD,
    DOCUMENT_REFUSED,
    DOCUMENTS_PER_ROUND,
    REFUSALS,
    DocumentError,
    claimed_id,
    document_of_entry,
    entry_body,
    verify_document,
)
from edge.ledger.schema import DB_FILENAME, connect_readonly
from edge.ledger.wire import canonical_hash

log = logging.getLogger("edge.centralconfig")

#: Where the edge keeps the last configuration the central store sent ...
CONFIG_FILENAME = "central_config.json"
#: ... and the last one the agent applied (they differ when the latest was refused).
APPLIED_FILENAME = "central_config_applied.json"
#: Ledger entries the agent writes after a received configuration: applied, or refused with the reason.
CONFIG_APPLIED = "config_applied"
CONFIG_REFUSED = "config_refused"


def load_received_config(data_dir: Path, filename: str = CONFIG_FILENAME) -> dict[str, Any] | None:
    """The last configuration received from the central store, as kept in the data folder, or ``None``.

    ``{"config_hash", "config_version", "received_at", "config": {"roster", "routing", "firmware",
    "blacklist", "sources", "version", "edge"}}``. The hash is re-checked, so a damaged file reads as absent.

    The firmware allow-list is ``["config"]["firmware"]``: ``{"releases": [...], "revoked": [hash, ...],
    "min_security_version": n}`` (or ``None`` when nothing was published); each release has
    ``firmware_hash`` and either a whole signed manifest (``"format": "qinglian-release/1"``) or
    ``version`` / ``security_version`` / ``target``. County-wide blacklists are ``["config"]["blacklist"]``.
    """
    path = Path(data_dir) / filename
    try:
        held = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        log.warning("ignoring unreadable %s", path)
        return None
    if not isinstance(held, dict) or not isinstance(held.get("config"), dict):
        return None
    if canonical_hash(held["config"]) != held.get("config_hash"):
        log.warning("ignoring %s: its hash does not match its content", path)
        return None
    return held


def with_received_config(local: EdgeConfig) -> EdgeConfig:
    """``local`` with the held central configuration applied: the latest received if it is valid,
    else the last one applied, else ``local`` itself."""
    for filename in (CONFIG_FILENAME, APPLIED_FILENAME):
        held = load_received_config(local.data_dir, filename)
        if held is None:
            continue
        try:
            return effective_config(local, held["config"])
        except ConfigError as exc:
            log.error("central configuration %s not applied: %s", held["config_hash"][:12], exc.message)
    return local


def save_applied_config(data_dir: Path, received: Mapping[str, Any], config_hash: str) -> None:
    """Keep the configuration just applied, so a restart after a refused one still uses it."""
    write_atomic(Path(data_dir) / APPLIED_FILENAME, {"config_hash": config_hash, "config_version": received.get("version"),
                                                     "config": dict(received)})  # fmt: skip


def effective_config(local: EdgeConfig, received: Mapping[str, Any] | None) -> EdgeConfig:
    """``local`` with the roster and routing of a received central configuration applied.

    :class:`ConfigError` (naming the problem) if the result would not be a
    valid configuration; the caller then keeps ``local``.
    """
    if not received:
        return local
    people = dict(local.people)
    roster = received.get("roster")
    if roster:
        tables = [Table(p, f"central.roster.people[{i}]") for i, p in enumerate(roster.get("people", []))]
        if tables:
            people.update(parse_people(tables, local.village))  # the same rules as the TOML file
    for device in local.devices:
        person = people.get(device.custodian)
        if person is None or not person.has("custodian"):
            raise ConfigError(
                f"中心名册中 {device.custodian!r} 不再是设备 {device.name} 的印章管理员 "
                f"the central roster leaves device {device.name} without its custodian {device.custodian!r}"
            )
    routes = local.routes
    routing = received.get("routing")
    if routing:
        tables = [Table(r, f"central.routing.routes[{i}]") for i, r in enumerate(routing.get("routes", []))]
        if not tables:
            raise ConfigError("中心下发的审批路线为空 the central routing list is empty")
        routes = parse_routes(tables, people)
    elif roster:
        # Still valid with the new roster? (an approver may have lost the role)
        _recheck_routes(local, people)
    return replace(local, people=people, routes=routes)


def _recheck_routes(local: EdgeConfig, people: Mapping[str, Any]) -> None:
    for rule in local.routes:
        for approver in rule.approvers:
            person = people.get(approver)
            if person is None or not person.has("approver"):
                raise ConfigError(
                    f"审批路线 {rule.name} 的审批人 {approver!r} 在中心名册中不是审批人 "
                    f"route {rule.name}: {approver!r} is not an approver in the central roster"
                )


# -- documents: the central's signed decisions for this village ------------------------------------------------

#: Appends one entry through the caller's writer (the agent's Recorder, so the parts' projection acts on it).
RecordDocument = Callable[[str, dict[str, Any]], Awaitable[Any]]


class DocumentInbox:
    """Takes the central store's signed documents (:mod:`edge.ledger.decisiondoc`) for this edge: each applied at
    most once, as an entry of its kind through ``record``, so the part that declares the kind acts on it.

    Refused and recorded as a :data:`DOCUMENT_REFUSED` anomaly (once per document and reason): a document not
    signed by the pinned key (``[central] decision_key``), one for another village, one of a kind no registered
    part declares, and a replay (one applied already, whose application the store already holds). A document
    applied but not yet acknowledged comes back until the store holds its entry (that is its acknowledgement):
    it is not applied again, nor is that an anomaly.

    What was applied is read back from the ledger when the inbox is opened (:meth:`load`), never from a file.
    """

    def __init__(self, key: Ed25519PublicKey, edge_id: str, kinds: Collection[str], record: RecordDocument) -> None:
        self.key = key
        self.edge_id = edge_id
        self.kinds = frozenset(kinds)
        self._record = record
        self.applied: dict[str, int] = {}  # document id -> index of the entry that applied it
        self._refused: set[tuple[str, str]] = set()  # (document id, anomaly) recorded already

    async def load(self, data_dir: Path) -> None:
        """Read from the ledger which documents were applied and which refusals are on record."""

        def scan() -> list[tuple[int, str, str]]:
            conn = connect_readonly(Path(data_dir) / DB_FILENAME)
            try:
                pattern = f'%"{DOCUMENT_FIELD}":{{%'
                return conn.execute(
                    "SELECT idx, kind, body FROM entries WHERE body LIKE ? OR kind = ?", (pattern, DOCUMENT_REFUSED)
                ).fetchall()
            finally:
                conn.close()

        for index, kind, body_json in await asyncio.to_thread(scan):
            body = json.loads(body_json)
            if kind == DOCUMENT_REFUSED:
                self._refused.add((str(body.get("document_id")), str(body.get("anomaly"))))
            elif (document := document_of_entry(kind, body)) is not None:
                self.applied.setdefault(document["id"], index)

    async def take(self, documents: Any, acked: int) -> tuple[int, int]:
        """Check and apply the documents of one state reply; ``acked``: how many entries the store holds.
        How many were applied and how many refused."""
        applied = refused = 0
        if not isinstance(documents, list):
            documents = [documents]
        for raw in documents[:DOCUMENTS_PER_ROUND]:
            claimed = claimed_id(raw)
            try:
                document = verify_document(self.key, raw)
            except DocumentError as exc:
                refused += await self._refuse(claimed, exc.code, str(exc), None)
                continue
            if document["village"] != self.edge_id:
                refused += await self._refuse(
                    claimed,
                    "document_foreign",
                    f"文书发给 {document['village']!r:.70}, 本村是 {self.edge_id}",
                    document,
                )
                continue
            if document["id"] in self.applied:
                if self.applied[document["id"]] < acked:  # the store holds its application: a replay
                    refused += await self._refuse(
                        claimed, "document_replayed", f"已于台账第 {self.applied[document['id']]} 条执行", document
                    )
                continue
            if document["kind"] not in self.kinds:
                reason = f"本村没有写 {document['kind']!r:.100} 的部分"
                refused += await self._refuse(claimed, "document_unknown_kind", reason, document)
                continue
            entry = await self._record(document["kind"], entry_body(document))
            self.applied[document["id"]] = entry.index
            applied += 1
            log.info(
                "central document %s (%s) applied as ledger entry %d", document["id"], document["kind"], entry.index
            )
        return applied, refused

    async def _refuse(self, document_id: str, anomaly: str, reason: str, document: Mapping[str, Any] | None) -> int:
        """Record a refusal once per document and reason (a forger resending one cannot fill the ledger).
        ``document``: the refused document when its signature held (its kind and index are then the central's)."""
        if (document_id, anomaly) in self._refused:
            return 0
        body = {
            # The reason may quote what was sent, and JSON can carry text that is no Unicode (a lone surrogate):
            # escaped, so the refusal itself is always a valid entry.
            "anomaly": anomaly, "document_id": document_id,
            "reason": f"{REFUSALS[anomaly]}：{reason}"[:300].encode("utf-8", "backslashreplace").decode(),
            "kind": None if document is None else document["kind"],
            "decision_index": None if document is None else document["decision_index"],
        }  # fmt: skip
        log.warning("central document %r refused: %s", document_id, body["reason"])
        await self._record(DOCUMENT_REFUSED, body)
        self._refused.add((document_id, anomaly))
        return 1
