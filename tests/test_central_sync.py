"""Central store ingest, on SQLite and on a real PostgreSQL: accept, replay, refuse, flag, store nothing of a bad batch."""

from __future__ import annotations

import itertools
import sqlite3
from pathlib import Path

import httpx
import pytest
from central_support import (  # noqa: F401 - fixtures
    Ledgers,
    api,
    asgi_transport,
    batch,
    clone_key,
    db_url,
    edge_key,
    enrol,
    fill,
    ledgers,
    push,
    signed,
    store,
)
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from central.store import CentralStore, Principal
from edge.kernel.sync import SyncClient, SyncRefused
from edge.ledger import (
    Checkpoint,
    Frontier,
    Ledger,
    canonical_json,
    chain_hash,
    encode_entry,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)
from edge.ledger.wire import API_PREFIX


async def _snapshot(store: CentralStore, edge_id: str) -> tuple[int, list[int], int, dict]:
    """Everything that must not change when a batch is refused."""
    (row,) = [r for r in await store.status() if r["edge_id"] == edge_id]
    detail = await store.edge_detail(Principal("all", "*"), edge_id)
    checkpoint = row["checkpoint"] and {k: v for k, v in row["checkpoint"].items() if k != "age_s"}
    return row["entries"], await store.stored_indexes(edge_id), detail["checkpoints_total"], checkpoint


async def _synced_edge(
    store: CentralStore, ledgers: Ledgers, n: int = 300, edge_id: str = "e1"
) -> tuple[Ledger, SyncClient]:
    ledger = await ledgers.open(edge_id, n)
    await enrol(store, edge_id, ledgers.root / edge_id)
    client = SyncClient(ledger, "http://central", edge_id, transport=asgi_transport(store), batch_size=100)
    await client.sync_once()
    return ledger, client


async def test_fresh_edge_is_accepted_exactly(ledgers: Ledgers, store: CentralStore, tmp_path: Path) -> None:
    ledger, client = await _synced_edge(store, ledgers, 1000)
    try:
        size = await ledger.size()
        assert await store.stored_indexes("e1") == list(range(size))
        (row,) = await store.status()
        assert row["entries"] == size and not row["flagged"]
        latest = await ledger.latest_checkpoint()
        assert row["checkpoint"]["tree_size"] == size
        assert row["checkpoint"]["root_hash"] == latest.root_hash.hex()
        # Every accepted checkpoint is kept: one per batch of at most 100 entries.
        detail = await store.edge_detail(Principal("all", "*"), "e1")
        assert detail["checkpoints_total"] >= size // 100
        # What the store holds is byte for byte the edge's log: same leaves, same root.
        for index in (0, 1, 63, 64, 517, size - 1):
            proof = await store.inclusion_proof("e1", index)
            entry = await ledger.entry(index)
            assert proof["leaf_hash"] == leaf_hash(entry.canonical_bytes()).hex()
            assert proof["verified"] == {"inclusion": True, "checkpoint_signature": True}
            assert await ledger.inclusion_proof(index, size) == [bytes.fromhex(p) for p in proof["proof"]]
        # Nothing pending: a second round pushes nothing.
        again = await client.sync_once()
        assert again.batches == 0 and again.next_index == size
    finally:
        await client.stop()
        await ledger.close()


async def test_replay_is_acknowledged_and_stores_nothing_twice(
    ledgers: Ledgers, store: CentralStore, api: httpx.AsyncClient, tmp_path: Path
) -> None:
    ledger = await ledgers.open("e1", 0, checkpoint_every=10_000)
    await enrol(store, "e1", tmp_path / "e1")
    key = edge_key(tmp_path / "e1")
    await fill(ledger, 150)
    cp150 = await ledger.checkpoint()
    first = await batch(ledger, 0, cp150)
    response = await push(api, key, "e1", first)
    assert response.status_code == 200, response.text
    assert response.json()["stored"] == 150

    # The same batch again (a lost acknowledgement): acknowledged, nothing stored twice.
    for _ in range(2):
        response = await push(api, key, "e1", first)
        assert response.status_code == 200, response.text
        reply = response.json()
        assert (reply["accepted"], reply["stored"], reply["duplicates"], reply["next_index"]) == (True, 0, 150, 150)
    # An overlapping batch that also carries new entries: the old ones are checked, the new ones stored.
    await fill(ledger, 50, start=150)
    cp200 = await ledger.checkpoint()
    overlapping = await batch(ledger, 100, cp200, from_size=150)
    response = await push(api, key, "e1", overlapping)
    assert response.status_code == 200, response.text
    assert response.json()["stored"] == 50 and response.json()["duplicates"] == 50
    assert await store.stored_indexes("e1") == list(range(200))
    # A replay of an older checkpoint alone.
    response = await push(api, key, "e1", await batch(ledger, 150, cp150) | {"from_index": 150, "entries": []})
    assert response.status_code == 200, response.text
    (row,) = await store.status()
    assert not row["flagged"] and row["refused_batches"] == 0
    await ledger.close()


async def test_rewritten_entry_is_refused_and_flagged(
    ledgers: Ledgers, store: CentralStore, api: httpx.AsyncClient, tmp_path: Path
) -> None:
    ledger, client = await _synced_edge(store, ledgers, 128)
    await client.stop()
    before = await _snapshot(store, "e1")
    # The village edits entry 50 in place, recomputes the chain and the tree, and re-signs with its own key.
    payload = await batch(ledger, 0, await ledger.latest_checkpoint())
    payload["entries"][50]["body"]["approver"] = "someone_else"
    payload["checkpoint"] = resign(payload["entries"], edge_key(tmp_path / "e1")).to_dict()
    payload["consistency"] = {"from_size": 128, "proof": []}
    response = await push(api, edge_key(tmp_path / "e1"), "e1", payload)
    assert response.status_code == 409
    body = response.json()
    assert body["accepted"] is False and body["flagged"] is True
    assert body["code"] == "entry_rewritten" and "50" in body["reason"]
    assert await _snapshot(store, "e1") == before
    (row,) = await store.status()
    assert row["flagged"] and row["flag_code"] == "entry_rewritten"
    # The same rewrite pushed as a continuation: the new checkpoint does not extend the accepted one.
    await fill(ledger, 64, start=128)
    payload = await batch(ledger, 0, await ledger.latest_checkpoint())
    payload["entries"][50]["body"]["approver"] = "someone_else"
    cp = resign(payload["entries"], edge_key(tmp_path / "e1"))
    payload = {**payload, "from_index": 128, "entries": payload["entries"][128:], "checkpoint": cp.to_dict(),
               "consistency": {"from_size": 128, "proof": []}}  # fmt: skip
    response = await push(api, edge_key(tmp_path / "e1"), "e1", payload)
    assert response.status_code == 409 and response.json()["code"] in ("chain_broken", "history_rewritten")
    assert await _snapshot(store, "e1") == before
    await ledger.close()


def resign(wire_entries: list[dict], key: Ed25519PrivateKey) -> Checkpoint:
    """Recompute the chain hashes and the tree of edited wire entries and sign a checkpoint over them."""
    prev, frontier = bytes(32), Frontier()
    for e in wire_entries:
        data = encode_entry(e["index"], e["ts"], e["kind"], canonical_json(e["body"]))
        prev = chain_hash(prev, data)
        e["hash"] = prev.hex()
        frontier.append(leaf_hash(data))
    return Checkpoint.sign(key, frontier.size, frontier.root())


async def test_chain_broken_entry_is_refused(
    ledgers: Ledgers, store: CentralStore, api: httpx.AsyncClient, tmp_path: Path
) -> None:
    """An entry changed after its hash was written (no re-signing): the chain does not continue."""
    ledger = await ledgers.open("e1", 64)
    await enrol(store, "e1", tmp_path / "e1")
    key = edge_key(tmp_path / "e1")
    payload = await batch(ledger, 0, await ledger.latest_checkpoint())
    payload["entries"][10]["body"]["approver"] = "mallory"
    response = await push(api, key, "e1", payload)
    assert response.status_code == 409
    assert response.json()["code"] == "chain_broken" and "10" in response.json()["reason"]
    assert await store.stored_indexes("e1") == []
    assert (await store.status())[0]["flagged"]
    await ledger.close()


async def test_forked_history_is_refused(
    ledgers: Ledgers, store: CentralStore, api: httpx.AsyncClient, tmp_path: Path
) -> None:
    ledger, client = await _synced_edge(store, ledgers, 128)
    await client.stop()
    # A second history under the same key: as long, different, and then longer.
    forked_dir = tmp_path / "fork"
    clone_key(tmp_path / "e1", forked_dir)
    fork = await ledgers.open("fork", 0)
    await fill(fork, 128, tag="fork")
    cp128 = await fork.latest_checkpoint()
    assert cp128.tree_size == 128
    before = await _snapshot(store, "e1")

    # Two different checkpoints of the same size.
    response = await push(
        api, edge_key(forked_dir), "e1", {**await batch(fork, 128, cp128), "from_index": 128, "entries": []}
    )
    assert response.status_code == 409 and response.json()["code"] == "forked", response.text
    assert await _snapshot(store, "e1") == before

    # The fork carried on: its new checkpoint does not extend the accepted one.
    await fill(fork, 64, start=128, tag="fork")
    cp192 = await fork.latest_checkpoint()
    response = await push(api, edge_key(forked_dir), "e1", await batch(fork, 128, cp192))
    assert response.status_code == 409
    assert response.json()["code"] in ("chain_broken", "history_rewritten"), response.text
    assert await _snapshot(store, "e1") == before
    # The entries alone are fine, the signed checkpoint is not: the consistency proof names the rewrite.
    payload = await batch(fork, 128, cp192)
    for wire in payload["entries"]:
        wire.pop("hash")
    response = await push(api, edge_key(forked_dir), "e1", payload)
    assert response.status_code == 409 and response.json()["code"] == "history_rewritten", response.text
    assert await _snapshot(store, "e1") == before
    (row,) = await store.status()
    assert row["flagged"] and row["flag_code"] == "forked" and row["refused_batches"] == 3
    await fork.close()
    await ledger.close()


async def test_truncated_then_regrown_ledger_is_refused(ledgers: Ledgers, store: CentralStore, tmp_path: Path) -> None:
    ledger, client = await _synced_edge(store, ledgers, 200)
    await client.stop()
    await ledger.close()
    before = await _snapshot(store, "e1")

    # Cut the ledger back to 100 entries (as an old backup would be) and let it grow again.
    db = tmp_path / "e1" / "ledger.sqlite3"
    with sqlite3.connect(db) as conn:
        for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
            conn.execute(f"DROP TRIGGER {name}")
        conn.execute("DELETE FROM entries WHERE idx >= 100")
        conn.execute("DELETE FROM nodes WHERE ((idx + 1) << level) > 100")
        conn.execute("DELETE FROM checkpoints WHERE tree_size > 100")
    regrown = await ledgers.open("e1")
    assert await regrown.size() == 100
    client = SyncClient(regrown, "http://central", "e1", transport=asgi_transport(store), batch_size=100)
    with pytest.raises(SyncRefused) as refused:  # the store is ahead of the local ledger: nothing to push yet
        await client.sync_once()
    assert refused.value.code == "store_ahead"
    await fill(regrown, 150, start=100, tag="regrown")
    with pytest.raises(SyncRefused) as refused:
        await client.sync_once()
    assert refused.value.status == 409 and refused.value.flagged
    assert refused.value.code in ("chain_broken", "history_rewritten")
    assert await _snapshot(store, "e1") == before
    await client.stop()
    await regrown.close()


async def test_bad_checkpoint_signature_is_refused(
    ledgers: Ledgers, store: CentralStore, api: httpx.AsyncClient, tmp_path: Path
) -> None:
    ledger = await ledgers.open("e1", 64)
    await enrol(store, "e1", tmp_path / "e1")
    payload = await batch(ledger, 0, await ledger.latest_checkpoint())
    signature = bytearray.fromhex(payload["checkpoint"]["signature"])
    signature[5] ^= 1
    payload["checkpoint"]["signature"] = signature.hex()
    response = await push(api, edge_key(tmp_path / "e1"), "e1", payload)
    assert response.status_code == 409 and response.json()["code"] == "bad_checkpoint_signature"
    assert await store.stored_indexes("e1") == []
    (row,) = await store.status()
    assert row["flagged"] and row["checkpoint"] is None
    await ledger.close()


async def test_batch_signed_by_another_edge_is_refused(
    ledgers: Ledgers, store: CentralStore, api: httpx.AsyncClient, tmp_path: Path
) -> None:
    a = await ledgers.open("a", 64)
    b = await ledgers.open("b", 64)
    await enrol(store, "edge-a", tmp_path / "a")
    await enrol(store, "edge-b", tmp_path / "b", village="白马村")
    # Edge B pushes B's own ledger as edge A, signing with its own enrolled key.
    response = await push(api, edge_key(tmp_path / "b"), "edge-a", await batch(b, 0, await b.latest_checkpoint()))
    assert response.status_code == 401 and response.json()["code"] == "foreign_key"
    assert "edge-b" in response.json()["reason"]
    # A key nobody enrolled.
    response = await push(api, Ed25519PrivateKey.generate(), "edge-a", await batch(a, 0, await a.latest_checkpoint()))
    assert response.status_code == 401 and response.json()["code"] == "bad_signature"
    status = {r["edge_id"]: r for r in await store.status()}
    assert status["edge-a"]["entries"] == 0 and status["edge-b"]["entries"] == 0
    # Unsigned evidence never flags the claimed edge; the signer is flagged, the attempts are on record.
    assert not status["edge-a"]["flagged"] and status["edge-a"]["refused_attempts"] == 2
    assert status["edge-b"]["flagged"] and status["edge-b"]["flag_code"] == "impersonation"
    await a.close()
    await b.close()


async def test_unenrolled_edge_is_refused(
    ledgers: Ledgers, store: CentralStore, api: httpx.AsyncClient, tmp_path: Path
) -> None:
    ledger = await ledgers.open("x", 64)
    response = await push(
        api, edge_key(tmp_path / "x"), "stranger", await batch(ledger, 0, await ledger.latest_checkpoint())
    )
    assert response.status_code == 401 and response.json()["code"] == "unenrolled"
    assert await store.status() == []
    assert await store.stored_indexes("stranger") == []
    assert [r["edge_id"] for r in await store.unknown_edge_refusals()] == ["stranger"]
    # The same through the client: a refusal with the store's reason, not a retry loop.
    client = SyncClient(ledger, "http://central", "stranger", transport=asgi_transport(store))
    with pytest.raises(SyncRefused) as refused:
        await client.sync_once()
    assert refused.value.code == "unenrolled" and "未登记" in refused.value.reason
    await client.stop()
    await ledger.close()


async def test_malformed_batches_are_refused_without_flag(
    ledgers: Ledgers, store: CentralStore, api: httpx.AsyncClient, tmp_path: Path
) -> None:
    ledger = await ledgers.open("e1", 128)
    await enrol(store, "e1", tmp_path / "e1")
    key = edge_key(tmp_path / "e1")
    good = await batch(ledger, 0, await ledger.latest_checkpoint())
    cases = {
        "gap in indexes": {**good, "entries": good["entries"][:5] + good["entries"][6:]},
        "not ending on the checkpoint": {**good, "entries": good["entries"][:-1]},
        "float in a body": {**good, "entries": [{**good["entries"][0], "body": {"x": 1.5}}] + good["entries"][1:]},
        "no checkpoint": {k: v for k, v in good.items() if k != "checkpoint"},
    }
    for what, payload in cases.items():
        response = await push(api, key, "e1", payload)
        assert response.status_code == 400, what
        assert response.json()["code"] == "malformed" and response.json()["reason"], what
    # A batch from beyond what the store holds: told where to resume.
    later = await batch(ledger, 64, await ledger.latest_checkpoint())
    response = await push(api, key, "e1", later)
    assert response.status_code == 409 and response.json()["code"] == "gap" and response.json()["next_index"] == 0
    assert await store.stored_indexes("e1") == []
    assert not (await store.status())[0]["flagged"]
    await ledger.close()


async def test_clock_skew_is_compensated(
    ledgers: Ledgers, store: CentralStore, api: httpx.AsyncClient, tmp_path: Path
) -> None:
    """A Pi without a real-time clock may be hours off: the store says so and the client adapts."""
    ledger = await ledgers.open("e1", 10)
    await enrol(store, "e1", tmp_path / "e1")
    response = await signed(api, edge_key(tmp_path / "e1"), "e1", "GET", f"{API_PREFIX}/e1/state", now=1_000_000)
    assert response.status_code == 401 and response.json()["code"] == "clock_skew"
    client = SyncClient(ledger, "http://central", "e1", transport=asgi_transport(store))
    client._clock_offset = -86400 * 30  # a month behind
    result = await client.sync_once()
    assert result.next_index == await ledger.size()
    await client.stop()
    await ledger.close()


async def test_consistency_proofs_served_match(ledgers: Ledgers, store: CentralStore, tmp_path: Path) -> None:
    """The store's witness log lets anyone check that each accepted checkpoint extends the previous one."""
    ledger, client = await _synced_edge(store, ledgers, 777)
    detail = await store.edge_detail(Principal("all", "*"), "e1")
    cps = sorted(detail["checkpoints"], key=lambda c: c["tree_size"])
    for old, new in itertools.pairwise(cps):
        proof = await ledger.consistency_proof(old["tree_size"], new["tree_size"])
        assert verify_consistency(
            old["tree_size"], new["tree_size"], bytes.fromhex(old["root_hash"]), bytes.fromhex(new["root_hash"]), proof
        )
    entry = await ledger.entry(700)
    p = await store.inclusion_proof("e1", 700)
    assert verify_inclusion(
        leaf_hash(entry.canonical_bytes()), 700, p["tree_size"], [bytes.fromhex(h) for h in p["proof"]],
        bytes.fromhex(p["root_hash"]),
    )  # fmt: skip
    await client.stop()
    await ledger.close()


async def test_an_entry_appended_while_the_round_signs_its_tail_goes_up_in_that_round(
    ledgers: Ledgers, store: CentralStore
) -> None:
    # The agent writes between the round measuring the ledger and signing its tail: the checkpoint then covers
    # more than was measured, and the round pushes up to it (it failed with "no checkpoint in (a, b]").
    ledger = await ledgers.open("e1", 5, checkpoint_every=1000)
    await enrol(store, "e1", ledgers.root / "e1")
    client = SyncClient(ledger, "http://central", "e1", transport=asgi_transport(store), batch_size=100)
    sign = ledger.checkpoint

    async def written_meanwhile() -> Checkpoint:
        await ledger.append("seal.press", {"device_id": "QL-1", "event_id": 99, "event": {"k": "press", "n": 1}})
        return await sign()

    ledger.checkpoint = written_meanwhile  # type: ignore[method-assign]
    try:
        result = await client.sync_once()
        assert result.next_index == await ledger.size() == 6
        assert await store.stored_indexes("e1") == list(range(6))
    finally:
        await client.stop()
