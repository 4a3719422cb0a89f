"""The central's own decisions (issue 14): a decision taken at the central travels down to the village's edge as a
signed document, is applied there once as an entry of the example part's kind, travels back up in the edge's
verified ledger and settles the document; the central parts get each verified module entry exactly once.

The edge is a real agent with the test-only example part (tests/example_part), which lets the central approve
its items (``from_central``); the central half is a test-only central part defined here. Both databases.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import socket
import sqlite3
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
import uvicorn
from central_support import COUNTY, TOWNSHIP, VILLAGE, db_url, enrol, push, store  # noqa: F401 - fixtures
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from edge_support import config_for, qinglian
from example_part import DECIDED, EXAMPLE, FILED
from fastapi import APIRouter, Request

from central.app import create_app
from central.contract import CentralPart
from central.db import documents
from central.decisions.delivery import EntryContext
from central.decisions.log import DecisionError, DecisionLog
from central.store import CentralStore, Principal
from edge.agent import EdgeAgent
from edge.kernel.config import CentralSettings, load_config
from edge.kernel.errors import ConfigError
from edge.kernel.sync import SyncClient
from edge.ledger import Entry, verify_ledger
from edge.ledger.decisiondoc import DOCUMENT_REFUSED
from edge.ledger.keys import KEY_FILENAME, load_private_key, public_key_b64, public_key_pem
from edge.ledger.wire import entry_to_wire
from edge.modules import PARTS

EDGE = "qinglian-cun"
#: The example part as a village would run it with the central's approvals switched on.
VILLAGE_EXAMPLE = dataclasses.replace(EXAMPLE, from_central=(DECIDED,))


class Township:
    """The central half of the example part: when a village files an item, the township approves it (a
    decision in the central's log, sent down); what each village applied comes back as a verified entry."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, str, int]] = []  # (edge, kind, item, index): every entry handed over
        # Items whose filing the township's reaction fails on (a bug, a row missing): "before" or "after" it decides.
        self.failing: dict[str, str] = {}

    async def filed(self, ctx: EntryContext, edge: Any, entry: Entry) -> None:
        item = entry.body["id"]
        self.seen.append((edge.edge_id, entry.kind, item, entry.index))
        if self.failing.get(item) == "before":
            raise LookupError(f"乡镇台账缺少 {item}")
        await ctx.decide(DECIDED, {"id": item}, edge.edge_id, actor="township:" + TOWNSHIP)
        if self.failing.get(item) == "after":
            raise LookupError(f"决定之后出错 {item}")

    def filings(self) -> list[str]:
        """The items whose filing was handed over, in order, once per hand-over."""
        return [item for _, kind, item, _ in self.seen if kind == FILED]

    async def approved(self, ctx: EntryContext, edge: Any, entry: Entry) -> None:
        self.seen.append((edge.edge_id, entry.kind, entry.body["id"], entry.index))

    def part(self) -> CentralPart:
        return CentralPart(
            "example", "示例", on_entry={FILED: self.filed, DECIDED: self.approved},
            decisions={DECIDED: "示例事项通过"}, router=self.router,
        )  # fmt: skip

    def router(self, shell: Any) -> APIRouter:
        """A page's action: an officer approves an item of a village through the shell's ``decide``."""
        api = APIRouter()

        @api.post("/api/v1/m/example/{edge_id}/{item}/approve")
        async def approve(request: Request, edge_id: str, item: str) -> dict[str, Any]:
            who = await shell.principal_of(request)
            entry = await shell.decide(DECIDED, {"id": item}, edge_id, actor=who.label or who.name)
            return {"decision_index": entry.index}

        return api


class Wire(httpx.AsyncBaseTransport):
    """The network between the edge and the central, in process: it can reorder or add to the documents of a
    state reply, lose a push on the way there or its reply on the way back, or be down."""

    def __init__(self, app: Any) -> None:
        self.inner = httpx.ASGITransport(app=app)
        self.documents: Callable[[list[Any]], list[Any]] | None = None
        self.down = False
        self.cut_push = ""  # "before": the push never reaches the central; "after": its reply never comes back

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("the village is offline")
        pushing = request.url.path.endswith("/batches")
        if pushing and self.cut_push == "before":
            raise httpx.WriteError("connection cut while pushing")
        response = await self.inner.handle_async_request(request)
        await response.aread()
        if pushing and self.cut_push == "after":
            raise httpx.ReadError("connection cut before the reply")
        if request.url.path.endswith("/state") and self.documents is not None and response.status_code == 200:
            state = json.loads(response.content)
            state["documents"] = self.documents(state.get("documents") or [])
            # ASCII JSON, as the central's own reply: it can carry any string JSON can, a lone surrogate too.
            body = json.dumps(state).encode()
            return httpx.Response(200, content=body, headers={"content-type": "application/json"}, request=request)
        return response


@pytest_asyncio.fixture
async def site(store: CentralStore, tmp_path: Path) -> AsyncIterator[Any]:
    decisions = await DecisionLog.open(tmp_path / "central", store.db)
    township = Township()
    app = create_app(store, parts=(township.part(),), decisions=decisions)
    wire = Wire(app)
    config = config_for(tmp_path / "village", "socket://127.0.0.1:9")
    key = decisions.public_key()["public_key"]
    config = dataclasses.replace(config, central=CentralSettings("http://central", EDGE, decision_key=key))
    agent = await EdgeAgent.open(config, parts=(*PARTS, VILLAGE_EXAMPLE))
    await enrol(store, EDGE, agent.config.data_dir)

    async def record(kind: str, body: dict[str, Any]) -> Entry:
        async with agent.recorder.step():
            return await agent.recorder.record(kind, body)

    client = SyncClient(agent.ledger, "http://central", EDGE, transport=wire, record=record, decision_key=key,
                        document_kinds=[DECIDED])  # fmt: skip
    try:
        yield Site(store, decisions, township, app, wire, agent, client, record)
    finally:
        await client.stop()
        await agent.close()
        await decisions.close()


@dataclasses.dataclass
class Site:
    store: CentralStore
    decisions: DecisionLog
    township: Township
    app: Any
    wire: Wire
    agent: EdgeAgent
    client: SyncClient
    record: Callable[[str, dict[str, Any]], Any]

    async def item_status(self, item: str) -> str | None:
        async with (
            self.agent.recorder.step(),
            self.agent.db.conn.execute("SELECT status FROM example_items WHERE id = ?", (item,)) as cur,
        ):
            row = await cur.fetchone()
        return None if row is None else str(row[0])

    async def documents(self) -> list[Any]:
        async with self.store.db.reader.connect() as conn:
            return list((await conn.execute(documents.select().order_by(documents.c.decision_index))).all())

    async def file(self, item: str) -> Entry:
        entry: Entry = await self.record(FILED, {"id": item, "title": f"事项 {item}", "approver": "zhangwei",
                                                 "phone": "13812345678"})  # fmt: skip
        return entry

    async def applied(self, item: str) -> list[Entry]:
        return [e for e in await self.agent.ledger.entries_of_kind(DECIDED) if e.body["id"] == item]

    async def refusals(self) -> list[dict[str, Any]]:
        return [e.body for e in await self.agent.ledger.entries_of_kind(DOCUMENT_REFUSED)]


async def test_a_decision_round_trips_central_edge_central(site: Site) -> None:
    filed = await site.file("EX-1")
    first = await site.client.sync_once()  # up: the filed item; the township decides at once
    assert first.documents_applied == 0
    assert site.township.seen == [(EDGE, FILED, "EX-1", filed.index)]
    (queued,) = await site.documents()
    assert (queued.edge_id, queued.kind, queued.status) == (EDGE, DECIDED, "pending")
    decision = await site.decisions.ledger.entry(queued.decision_index)
    assert decision.kind == DECIDED and decision.body["decision"] == {"id": "EX-1"}
    assert decision.body["actor"] == f"township:{TOWNSHIP}" and decision.body["village"] == EDGE

    second = await site.client.sync_once()  # down: the document, applied as the part's entry, and pushed back
    assert (second.documents_applied, second.documents_refused) == (1, 0)
    (applied,) = await site.applied("EX-1")
    assert applied.body["document"]["id"] == queued.id and applied.body["document"]["decision_index"] == decision.index
    assert await site.item_status("EX-1") == "approved"  # the part's own projection acted on it
    (settled,) = await site.documents()
    assert (settled.status, settled.edge_index) == ("applied", applied.index)
    assert site.township.seen[-1] == (EDGE, DECIDED, "EX-1", applied.index)

    # The central's view: the document's delivery, for a supervisor of the township.
    token = await site.store.issue_token(f"township:{TOWNSHIP}", "镇纪委")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=site.app), base_url="http://central") as api:
        listed = (await api.get("/api/v1/central/documents", headers={"Authorization": f"Bearer {token}"})).json()
        assert [(d["id"], d["status"], d["edge_index"]) for d in listed] == [(queued.id, "applied", applied.index)]
        assert (await api.get("/api/v1/central/documents")).status_code == 401
        page = await api.get("/central/documents", headers={"Authorization": f"Bearer {token}"})
        assert page.status_code == 200 and "已送达并执行" in page.text and VILLAGE in page.text
        assert f'href="/edges/{EDGE}/entries/{applied.index}"' in page.text  # to the village's entry and its proof
        assert (await api.get("/central/documents")).status_code == 303  # no one logged in: to the login page
        elsewhere = await site.store.issue_token("township:别的镇", "他镇纪委")
        assert (
            await api.get("/api/v1/central/documents", headers={"Authorization": f"Bearer {elsewhere}"})
        ).json() == []
        key = (await api.get("/api/v1/central/pubkey")).json()
        assert key == {**site.decisions.public_key(), "algorithm": "Ed25519"}
        page = await api.get("/central/pubkey")
        assert page.status_code == 200 and key["public_key"] in page.text and key["fingerprint"] in page.text

    # Once: more rounds and a resend of the whole ledger hand nothing over again and apply nothing again.
    third = await site.client.sync_once()
    assert (third.documents_applied, third.batches) == (0, 0)
    checkpoint = await site.agent.ledger.checkpoint()
    entries = await site.agent.ledger.entries(0, checkpoint.tree_size)
    resend = {"from_index": 0, "entries": [entry_to_wire(e) for e in entries], "checkpoint": checkpoint.to_dict(),
              "consistency": {"from_size": 0, "proof": []}, "config_hash": None}  # fmt: skip
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=site.app), base_url="http://central") as raw:
        key_of_edge = load_private_key(site.agent.config.data_dir / KEY_FILENAME)
        reply = await push(raw, key_of_edge, EDGE, resend)
        assert reply.status_code == 200 and reply.json()["stored"] == 0
    assert [s[1] for s in site.township.seen] == [FILED, DECIDED]
    assert len(await site.applied("EX-1")) == 1 and len(await site.documents()) == 1
    assert verify_ledger(site.decisions.ledger.data_dir).ok


async def test_a_reaction_that_fails_is_handed_the_entry_again_with_the_next_batch_until_it_takes_it(
    site: Site,
) -> None:  # fmt: skip
    site.township.failing["EX-20"] = "before"
    await site.file("EX-20")
    await site.client.sync_once()
    assert site.township.filings() == ["EX-20"] and await site.documents() == []
    (status,) = await site.store.status()
    assert status["entries"] == 1 and status["reactions_owed"] == 1  # the entry is stored; the part owes it
    await site.file("EX-21")
    await site.client.sync_once()  # still failing: handed again first, then the new one
    assert site.township.filings() == ["EX-20", "EX-20", "EX-21"]
    del site.township.failing["EX-20"]  # the bug fixed, the row restored
    await site.file("EX-22")
    await site.client.sync_once()
    assert site.township.filings() == ["EX-20", "EX-20", "EX-21", "EX-20", "EX-22"]
    decided = [(await site.decisions.ledger.entry(d.decision_index)).body["decision"]["id"] for d in await site.documents()]
    assert decided == ["EX-21", "EX-20", "EX-22"]
    (status,) = await site.store.status()
    assert status["reactions_owed"] == 0
    await site.file("EX-23")
    await site.client.sync_once()  # once taken, never handed again
    assert site.township.filings().count("EX-20") == 3 and len(await site.documents()) == 4
    await site.client.sync_once()
    assert await site.item_status("EX-20") == "approved"


async def test_a_reaction_that_failed_after_deciding_keeps_the_decision_and_is_not_handed_it_again(
    site: Site,
) -> None:  # fmt: skip
    site.township.failing["EX-30"] = "after"
    await site.file("EX-30")
    await site.client.sync_once()
    # The log is append-only: the decision stands and its document goes out, though the reaction failed.
    (queued,) = await site.documents()
    assert queued.status == "pending"
    (status,) = await site.store.status()
    assert status["reactions_owed"] == 1
    await site.file("EX-31")
    await site.client.sync_once()  # down: EX-30's document; up: EX-31, not EX-30 again (it would decide twice)
    assert site.township.filings() == ["EX-30", "EX-31"]
    assert await site.item_status("EX-30") == "approved"
    decided = [e.body["decision"]["id"] for e in await site.decisions.ledger.entries_of_kind(DECIDED)]
    assert decided == ["EX-30", "EX-31"]
    (status,) = await site.store.status()
    assert status["reactions_owed"] == 1  # left for an administrator: the part's own rows were rolled back


async def test_a_document_for_an_offline_edge_is_applied_once_after_it_returns(site: Site) -> None:
    token = await site.store.issue_token(f"township:{TOWNSHIP}", "镇审核员")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=site.app), base_url="http://central") as api:
        decided = await api.post(f"/api/v1/m/example/{EDGE}/EX-9/approve", headers={"Authorization": f"Bearer {token}"})
    assert decided.status_code == 200, decided.text  # a part's page decides through the central shell
    entry = await site.decisions.ledger.entry(decided.json()["decision_index"])
    assert entry.body["actor"] == "镇审核员" and entry.body["village"] == EDGE
    await site.file("EX-9")  # filed on the edge while it is offline (the central's reaction decides again later)
    site.wire.down = True
    for _ in range(2):
        with pytest.raises(Exception, match="offline"):
            await site.client.sync_once()
    assert await site.applied("EX-9") == [] and [d.status for d in await site.documents()] == ["pending"]
    site.wire.down = False
    back = await site.client.sync_once()
    assert back.documents_applied == 1
    (applied,) = await site.applied("EX-9")
    assert applied.body["document"]["decision_index"] == entry.index
    statuses = {d.decision_index: d.status for d in await site.documents()}
    assert statuses[entry.index] == "applied"


async def test_a_cut_connection_mid_delivery_never_applies_twice(site: Site) -> None:
    await site.decisions.decide(DECIDED, {"id": "EX-2"}, EDGE, actor="township:" + TOWNSHIP)
    await site.file("EX-2")
    # The push that carries the applied entry is cut before it reaches the central: the document comes again.
    site.wire.cut_push = "before"
    with pytest.raises(Exception, match="cut"):
        await site.client.sync_once()
    assert len(await site.applied("EX-2")) == 1 and (await site.documents())[0].status == "pending"
    site.wire.cut_push = ""
    # The agent restarts before the next round: what was applied is read back from its ledger.
    restarted = SyncClient(site.agent.ledger, "http://central", EDGE, transport=site.wire, record=site.record,
                           decision_key=site.decisions.public_key()["public_key"], document_kinds=[DECIDED])  # fmt: skip
    try:
        again = await restarted.sync_once()
    finally:
        await restarted.stop()
    assert (again.documents_applied, again.documents_refused) == (0, 0)  # recognised, not re-applied, no anomaly
    assert len(await site.applied("EX-2")) == 1 and await site.refusals() == []
    assert (await site.documents())[0].status == "applied"

    # The reply is lost after the central stored the batch: it is settled there, nothing comes back.
    await site.decisions.decide(DECIDED, {"id": "EX-3"}, EDGE, actor="township:" + TOWNSHIP)
    site.wire.cut_push = "after"
    with pytest.raises(Exception, match="cut"):
        await site.client.sync_once()
    site.wire.cut_push = ""
    assert [d.status for d in await site.documents()] == ["applied", "applied", "applied"]  # EX-2, its reaction, EX-3
    quiet = await site.client.sync_once()
    assert (quiet.documents_applied, quiet.documents_refused) == (0, 0)
    assert len(await site.applied("EX-3")) == 1 and await site.refusals() == []


async def test_reordered_documents_are_each_applied_once(site: Site) -> None:
    for item in ("EX-4", "EX-5", "EX-6"):
        await site.decisions.decide(DECIDED, {"id": item}, EDGE, actor="township:" + TOWNSHIP)
    site.wire.documents = lambda docs: list(reversed(docs)) + docs[:1]  # newest first, and the oldest twice
    result = await site.client.sync_once()
    assert result.documents_applied == 3 and await site.refusals() == []
    order = [e.body["id"] for e in await site.agent.ledger.entries_of_kind(DECIDED)]
    assert order == ["EX-6", "EX-5", "EX-4"]
    assert {d.status for d in await site.documents()} == {"applied"}


async def test_forged_foreign_replayed_and_unwanted_documents_are_refused_and_recorded(
    site: Site, tmp_path: Path
) -> None:
    good = await site.decisions.decide(DECIDED, {"id": "EX-7"}, EDGE, actor="township:" + TOWNSHIP)
    await site.client.sync_once()
    (genuine,) = [json.loads(d.content) for d in await site.documents()]
    # Signed by a key that is not the central's: the forger's own decision log.
    forger = await DecisionLog.open(tmp_path / "forger", site.store.db)
    forged = forger.document_of(await forger.ledger.append(DECIDED, {"actor": "x", "village": EDGE,
                                                                      "document": "f" * 32, "decision": {"id": "EX-8"}}))  # fmt: skip
    await forger.close()
    tampered = {**genuine, "id": "e" * 32}  # the central's signature over another document
    await _enrol_new(site.store, "another-village", "别村")
    other = await site.decisions.decide(DECIDED, {"id": "EX-1"}, "another-village", actor="township:" + TOWNSHIP)
    foreign = site.decisions.document_of(other)
    unwanted = await site.decisions.decide(FILED, {"id": "EX-X", "title": "?", "approver": "zhangwei",
                                                   "phone": "1"}, EDGE, actor="township:" + TOWNSHIP)  # fmt: skip
    later = await site.decisions.decide(DECIDED, {"id": "EX-13"}, EDGE, actor="township:" + TOWNSHIP)
    copied = {**site.decisions.document_of(later), "body": {"id": "EX-666"}}  # a real id on another body, first
    garbled = {**genuine, "id": "d" * 32, "body": {"\ud800": 1.5}}  # no Unicode, no integer: quoted in the refusal
    site.wire.documents = lambda docs: [
        copied,
        *docs,
        forged,
        tampered,
        foreign,
        genuine,
        {"id": 1, "kind": None},
        garbled,
    ]
    result = await site.client.sync_once()
    assert result.documents_applied == 1  # the genuine EX-13 after its forged copy, and nothing else
    refusals = {(r["anomaly"], r["document_id"]) for r in await site.refusals()}
    assert refusals == {
        ("document_forged", "f" * 32), ("document_forged", "e" * 32), ("document_foreign", foreign["id"]),
        ("document_replayed", genuine["id"]), ("document_malformed", ""), ("document_malformed", "d" * 32),
        ("document_unknown_kind", unwanted.body["document"]), ("document_forged", later.body["document"]),
    }  # fmt: skip
    assert (
        len(await site.applied("EX-7")) == 1
        and await site.applied("EX-8") == []
        and await site.item_status("EX-X") is None
        and await site.item_status("EX-666") is None
        and len(await site.applied("EX-13")) == 1
    )
    # Refused once each: the same flood again adds nothing to the ledger.
    before = await site.agent.ledger.size()
    assert (await site.client.sync_once()).documents_refused == 0 and await site.agent.ledger.size() == before
    # Up at the central: the unwanted document is settled as refused; the refusals are flagged entries of the village.
    statuses = {d.decision_index: (d.status, d.reason) for d in await site.documents()}
    assert statuses[good.index] == ("applied", None)
    assert statuses[unwanted.index] == ("refused", "document_unknown_kind")
    assert statuses[later.index] == ("applied", None)  # its forged copy's refusal settles nothing
    assert statuses[other.index] == ("pending", None)  # still waiting for its own village
    flagged = await site.store.list_entries(Principal("all", "*"), EDGE, kind=DOCUMENT_REFUSED)
    assert {e["flag"] for e in flagged} == {"document_forged", "document_foreign", "document_replayed",
                                            "document_malformed", "document_unknown_kind"}  # fmt: skip


async def test_only_verified_entries_reach_the_central_parts(site: Site) -> None:
    await site.file("EX-10")
    checkpoint = await site.agent.ledger.checkpoint()
    (entry,) = await site.agent.ledger.entries(0, checkpoint.tree_size)
    wire_entry = entry_to_wire(entry)
    wire_entry["body"] = {**wire_entry["body"], "id": "EX-FORGED"}  # changed after it was hashed and signed
    payload = {"from_index": 0, "entries": [wire_entry], "checkpoint": checkpoint.to_dict(),
               "consistency": {"from_size": 0, "proof": []}, "config_hash": None}  # fmt: skip
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=site.app), base_url="http://central") as raw:
        refused = await push(raw, load_private_key(site.agent.config.data_dir / KEY_FILENAME), EDGE, payload)
    assert refused.status_code == 409 and site.township.seen == [] and await site.documents() == []
    await site.store.clear_flag(EDGE)
    await site.client.sync_once()
    assert site.township.seen == [(EDGE, FILED, "EX-10", entry.index)]


async def _enrol_new(store: CentralStore, edge_id: str, village: str = VILLAGE) -> None:
    """Enrol an edge under a fresh key (these tests need the village at the central, not its ledger)."""
    pem = public_key_pem(Ed25519PrivateKey.generate().public_key()).decode()
    await store.enrol_edge(edge_id, village, TOWNSHIP, COUNTY, pem)


async def test_the_queue_is_a_projection_of_the_decision_log(store: CentralStore, tmp_path: Path) -> None:
    await _enrol_new(store, EDGE)
    decisions = await DecisionLog.open(tmp_path / "central", store.db)
    try:
        with pytest.raises(RuntimeError):
            async with store.db.writer.begin() as conn:  # the central stops between the log and the queue
                lost = await decisions.decide(DECIDED, {"id": "EX-1"}, EDGE, actor="admin", conn=conn)
                raise RuntimeError("power cut")
        for body, village in (({"id": "x", "document": {}}, EDGE), ({"amount": 1.5}, None)):
            with pytest.raises(DecisionError):
                await decisions.decide(DECIDED, body, village, actor="admin")
        with pytest.raises(DecisionError):
            await decisions.decide(DECIDED, {"id": "x"}, EDGE, actor="")
        with pytest.raises(DecisionError, match="no edge is enrolled"):
            await decisions.decide(DECIDED, {"id": "x"}, "no-such-village", actor="admin")
        assert await decisions.ledger.size() == 1
    finally:
        await decisions.close()
    async with store.db.reader.connect() as conn:
        assert (await conn.execute(documents.select())).all() == []
    reopened = await DecisionLog.open(tmp_path / "central", store.db)
    try:
        async with store.db.reader.connect() as conn:
            (row,) = (await conn.execute(documents.select())).all()
        assert json.loads(row.content) == reopened.document_of(lost) and row.status == "pending"
    finally:
        await reopened.close()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_the_decision_log_verifies_with_the_ledger_tools_and_a_changed_byte_is_caught(
    store: CentralStore, tmp_path: Path
) -> None:
    await _enrol_new(store, EDGE)
    decisions = await DecisionLog.open(tmp_path / "central", store.db)
    try:
        for i in range(3):
            await decisions.decide(DECIDED, {"id": f"EX-{i}"}, EDGE if i % 2 else None, actor="county:萧山区")
        key = decisions.public_key()
    finally:
        await decisions.close()
    folder = tmp_path / "central" / "decisions"
    assert oct((folder / KEY_FILENAME).stat().st_mode & 0o777) == "0o600"
    verified = qinglian("ledger", "verify", "--data", str(folder), "--json", check=True)
    assert json.loads(verified.stdout)["ok"] is True
    proof = qinglian("ledger", "proof", "--data", str(folder), "--index", "1", check=True)
    (tmp_path / "proof.json").write_text(proof.stdout, encoding="utf-8")
    assert qinglian("merkle", "verify", str(tmp_path / "proof.json"), "--key", key["public_key"]).returncode == 0
    # One byte of the file changed, under SQLite's feet (its triggers refuse an UPDATE): decision 1 now says EX-7.
    db_file = folder / "ledger.sqlite3"
    raw = db_file.read_bytes()
    assert raw.count(b'"id":"EX-1"') == 1
    db_file.write_bytes(raw.replace(b'"id":"EX-1"', b'"id":"EX-7"'))
    with sqlite3.connect(db_file) as db:  # still a readable database: only the ledger's hashes tell
        assert db.execute("SELECT count(*) FROM entries").fetchone() == (3,)
    changed = qinglian("ledger", "verify", "--data", str(folder), "--json")
    report = json.loads(changed.stdout)
    assert changed.returncode != 0 and report["ok"] is False and report["first_bad_index"] == 1


def test_the_edge_pins_the_central_key_in_its_config(tmp_path: Path) -> None:
    path = tmp_path / "edge.toml"
    config_for(tmp_path, "socket://127.0.0.1:9")
    text = path.read_text(encoding="utf-8")

    def central(key: str) -> Path:
        path.write_text(
            f'{text}\n[central]\nurl = "http://c"\nedge_id = "{EDGE}"\ndecision_key = "{key}"\n', encoding="utf-8"
        )
        return path

    with pytest.raises(ConfigError, match="decision_key"):
        load_config(central("MCowBQYDK2VwAyEA"))  # not the 32 bytes of a key
    key = public_key_b64(Ed25519PrivateKey.generate().public_key())
    assert load_config(central(key)).central == CentralSettings("http://c", EDGE, decision_key=key)


async def test_the_agent_takes_documents_of_the_kinds_its_parts_accept(tmp_path: Path) -> None:
    key = public_key_b64(Ed25519PrivateKey.generate().public_key())
    config = config_for(tmp_path, "socket://127.0.0.1:9")
    agent = await EdgeAgent.open(dataclasses.replace(config, central=CentralSettings("http://c", EDGE, decision_key=key)),
                                 parts=(*PARTS, VILLAGE_EXAMPLE))  # fmt: skip
    try:
        client = agent._sync_client()
        assert client.documents is not None and DECIDED in client.documents.kinds  # the parts' from_central alone
        assert FILED not in client.documents.kinds and not any(k.startswith("seal") for k in client.documents.kinds)
        await client.stop()
        agent.config = dataclasses.replace(agent.config, central=CentralSettings("http://c", EDGE))  # no key pinned
        unpinned = agent._sync_client()
        assert unpinned.documents is None  # it takes no document at all
        await unpinned.stop()
    finally:
        await agent.close()
    with pytest.raises(ValueError, match="from_central"):
        dataclasses.replace(EXAMPLE, from_central=("seal_request.approval",))


async def test_an_edge_that_pins_no_key_takes_no_document_and_leaves_it_waiting(site: Site) -> None:
    await site.decisions.decide(DECIDED, {"id": "EX-11"}, EDGE, actor="township:" + TOWNSHIP)
    await site.file("EX-12")  # something to push (the township's reaction approves it in turn)
    old = SyncClient(site.agent.ledger, "http://central", EDGE, transport=site.wire, record=site.record)
    try:
        result = await old.sync_once()  # as an edge from before documents: the field is ignored
    finally:
        await old.stop()
    assert result.stored > 0 and (result.documents_applied, result.documents_refused) == (0, 0)
    assert await site.applied("EX-11") == [] and await site.refusals() == []
    assert [d.status for d in await site.documents()] == ["pending", "pending"]  # delivered once a pinning edge syncs
    assert (await site.client.sync_once()).documents_applied == 2 and len(await site.applied("EX-11")) == 1


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_the_agent_round_trips_a_decision_by_itself_over_http(store: CentralStore, tmp_path: Path) -> None:
    """The running agent, configured by its edge.toml ([central] with decision_key), against the central over a
    real socket: its own sync loop brings the township's decision down and the application back up."""
    decisions = await DecisionLog.open(tmp_path / "central", store.db)
    township = Township()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    server = uvicorn.Server(uvicorn.Config(create_app(store, parts=(township.part(),), decisions=decisions),
                                           log_level="warning", lifespan="off"))  # fmt: skip
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    path = tmp_path / "village" / "edge.toml"
    config_for(tmp_path / "village", "socket://127.0.0.1:9")
    with path.open("a", encoding="utf-8") as f:
        f.write(f'\n[central]\nurl = "http://127.0.0.1:{sock.getsockname()[1]}"\nedge_id = "{EDGE}"\n'
                f'sync_interval_s = 0.2\ndecision_key = "{decisions.public_key()["public_key"]}"\n')  # fmt: skip
    agent = await EdgeAgent.open(load_config(path), parts=(*PARTS, VILLAGE_EXAMPLE))
    try:
        await enrol(store, EDGE, agent.config.data_dir)
        await agent.start()
        async with agent.recorder.step():
            filed = await agent.recorder.record(FILED, {"id": "EX-1", "title": "修缮村道护栏", "approver": "zhangwei",
                                                        "phone": "13812345678"})  # fmt: skip

        async def approved() -> list[Entry]:
            return [e for e in await agent.ledger.entries_of_kind(DECIDED) if e.body["id"] == "EX-1"]

        (applied,) = await agent.recorder.wait_for(approved, 60)  # up, decided, down, applied: by itself
        assert applied.index > filed.index and applied.body["document"]["village"] == EDGE
        sync = agent.sync
        assert sync is not None

        async def acknowledged() -> bool:
            sync.trigger()
            return sync.acked is not None and sync.acked > applied.index

        await agent.recorder.wait_for(acknowledged, 60)
        async with store.db.reader.connect() as conn:
            (row,) = (await conn.execute(documents.select())).all()
        assert (row.status, row.edge_index) == ("applied", applied.index)
        assert township.seen == [(EDGE, FILED, "EX-1", filed.index), (EDGE, DECIDED, "EX-1", applied.index)]
    finally:
        await agent.close()
        server.should_exit = True
        await serving
        await decisions.close()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_a_central_without_a_data_folder_takes_no_decisions(store: CentralStore) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(store)), base_url="http://central"
    ) as api:
        answer = await api.get("/api/v1/central/pubkey")
    assert answer.status_code == 404 and answer.json()["code"] == "no_decision_log"


async def test_one_process_writes_the_decision_log(store: CentralStore, tmp_path: Path) -> None:
    """A second central on the same data folder is refused at start: two writers would fork the log's chain."""
    decisions = await DecisionLog.open(tmp_path / "central", store.db)
    try:
        with pytest.raises(DecisionError, match="另一个中心进程"):
            await DecisionLog.open(tmp_path / "central", store.db)
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", PEEK, str(tmp_path / "central" / "decisions"), stdout=asyncio.subprocess.PIPE
        )
        out, _ = await proc.communicate()
        assert out.decode().strip() == "held"  # another process sees the lock too
    finally:
        await decisions.close()
    again = await DecisionLog.open(tmp_path / "central", store.db)  # closed: free again
    await again.close()


PEEK = """
import sys
from pathlib import Path
from edge.kernel.writerlock import WriterLock
lock = WriterLock.try_acquire(Path(sys.argv[1]))
print("held" if lock is None else "free")
"""
