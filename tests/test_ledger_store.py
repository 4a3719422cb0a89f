"""The aiosqlite ledger: entries, encoding, durability, concurrency, checkpoints and keys."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import re
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.ledger import (
    Checkpoint,
    Entry,
    Ledger,
    LedgerError,
    canonical_json,
    chain_hash,
    encode_entry,
    leaf_hash,
    load_public_key,
    verify_inclusion,
    verify_ledger,
)
from edge.ledger.checkpoint import SIGNATURE_DOMAIN, signed_message
from edge.ledger.entry import GENESIS_PREV_HASH
from edge.ledger.merkle import Frontier

ROOT = Path(__file__).resolve().parents[1]
TS_FORMAT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
json_bodies = st.dictionaries(st.text(max_size=8), json_values, max_size=5)


def db_rows(data_dir: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(data_dir / "ledger.sqlite3") as conn:
        return conn.execute(sql).fetchall()


# -- canonical encoding


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**53), st.text(min_size=1), st.text(), json_bodies)
def test_encode_entry_is_canonical_json_of_the_whole_entry(index: int, kind: str, ts: str, body: dict) -> None:
    body_json = canonical_json(body)
    whole = {"index": index, "ts": ts, "kind": kind, "body": body}
    expected = json.dumps(whole, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    assert encode_entry(index, ts, kind, body_json) == expected
    # Canonical means a fixed point: decoding and re-encoding changes nothing.
    assert canonical_json(json.loads(body_json)) == body_json


def test_canonical_json_spelling() -> None:
    assert canonical_json({"b": 1, "a": ["公章", None, True]}) == '{"a":["公章",null,true],"b":1}'


# -- appending and reading


async def test_append_and_read_back(tmp_path: Path) -> None:
    async with await Ledger.open(tmp_path) as ledger:
        assert await ledger.size() == 0
        first = await ledger.append("seal.press", {"seal": "official", "presses": 1, "事项": "合同"})
        second = await ledger.append("approval", {"request": 7, "amount_fen": 123456})
        assert (first.index, second.index) == (0, 1)
        assert TS_FORMAT.match(first.ts)
        assert first.prev_hash == GENESIS_PREV_HASH
        assert first.hash == chain_hash(GENESIS_PREV_HASH, first.canonical_bytes())
        assert second.prev_hash == first.hash
        assert await ledger.size() == 2
        assert await ledger.entry(0) == first
        assert await ledger.entries() == [first, second]
        assert await ledger.entries(1) == [second]
        assert await ledger.entries(0, 1) == [first]
        assert await ledger.entries(5, 9) == []
        assert await ledger.entries_of_kind("approval") == [second]
        assert await ledger.entries_of_kind("nothing") == []
        with pytest.raises(IndexError):
            await ledger.entry(2)
        with pytest.raises(IndexError):
            await ledger.entry(-1)
        with pytest.raises(ValueError):
            await ledger.entries(2, 1)


async def test_tuples_come_back_as_lists(tmp_path: Path) -> None:
    async with await Ledger.open(tmp_path) as ledger:
        entry = await ledger.append("k", {"pages": (1, 2)})
        assert entry.body == {"pages": [1, 2]} == (await ledger.entry(0)).body


async def test_append_many_is_one_batch(tmp_path: Path) -> None:
    async with await Ledger.open(tmp_path) as ledger:
        await ledger.append("k", {"n": -1})
        batch = await ledger.append_many([("k", {"n": i}) for i in range(5)])
        assert [e.index for e in batch] == [1, 2, 3, 4, 5]
        assert batch[0].prev_hash == (await ledger.entry(0)).hash
        assert await ledger.append_many([]) == []
        assert await ledger.entries(1) == batch


async def test_entries_at_reads_scattered_entries_in_order(tmp_path: Path) -> None:
    async with await Ledger.open(tmp_path) as ledger:
        await ledger.append_many(("k", {"n": n}) for n in range(10))
        found = await ledger.entries_at([7, 2, 7, 9, 10, -1])  # repeated, unordered, beyond the end, negative
        assert [(e.index, e.body) for e in found] == [(2, {"n": 2}), (7, {"n": 7}), (9, {"n": 9})]
        assert found[1] == await ledger.entry(7)
        assert await ledger.entries_at([]) == []


async def test_entries_survive_reopen(tmp_path: Path) -> None:
    ledger = await Ledger.open(tmp_path)
    written = [await ledger.append("k", {"n": i}) for i in range(10)]
    root = await ledger.root_hash()
    await ledger.close()
    await ledger.close()  # idempotent
    with pytest.raises(LedgerError):
        await ledger.append("k", {})

    ledger = await Ledger.open(tmp_path)
    assert await ledger.entries() == written
    assert await ledger.root_hash() == root
    more = await ledger.append("k", {"n": 10})
    assert more.index == 10 and more.prev_hash == written[-1].hash
    await ledger.close()
    assert verify_ledger(tmp_path).ok


def test_accepted_entry_survives_a_crash(tmp_path: Path) -> None:
    """A process killed right after append returned (no close, no checkpoint) loses nothing."""
    script = (
        "import asyncio, os, sys\n"
        "from pathlib import Path\n"
        "from edge.ledger import Ledger\n"
        "async def main():\n"
        "    ledger = await Ledger.open(Path(sys.argv[1]))\n"
        "    entry = await ledger.append('seal.press', {'presses': 1})\n"
        "    print(entry.index, flush=True)\n"
        "    os._exit(0)\n"
        "asyncio.run(main())\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=30
    )
    assert result.stdout.strip() == "0", result.stderr
    report = verify_ledger(tmp_path)
    assert report.ok and report.entries == 1 and report.checkpoints == 0


async def test_concurrent_appends_keep_one_valid_chain(tmp_path: Path) -> None:
    ledger = await Ledger.open(tmp_path, checkpoint_every=16)

    async def writer(task: int) -> list[Entry]:
        mine = []
        for n in range(15):
            if n % 5 == 4:
                mine += await ledger.append_many([("k", {"task": task, "n": n, "part": p}) for p in range(3)])
            else:
                mine.append(await ledger.append("k", {"task": task, "n": n}))
            await asyncio.sleep(0)
        return mine

    results = await asyncio.gather(*(writer(t) for t in range(12)))
    total = sum(len(r) for r in results)
    assert await ledger.size() == total == 12 * (12 + 3 * 3)
    for mine in results:  # each task's entries are in the order it appended them
        assert [e.index for e in mine] == sorted(e.index for e in mine)
    entries = await ledger.entries()
    assert [e.index for e in entries] == list(range(total))
    await ledger.close()
    report = verify_ledger(tmp_path)
    assert report.ok, report
    assert report.checkpoints == total // 16 + (total % 16 != 0)


async def test_cancelled_append_leaves_a_consistent_ledger(tmp_path: Path) -> None:
    ledger = await Ledger.open(tmp_path)
    for delay in (0, 0.0005, 0.002):
        task = asyncio.create_task(ledger.append("k", {"delay": str(delay)}))
        await asyncio.sleep(delay)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await ledger.append("k", {"after": str(delay)})
    size = await ledger.size()
    await ledger.close()
    assert db_rows(tmp_path, "SELECT count(*) FROM entries") == [(size,)]
    assert verify_ledger(tmp_path).ok


async def test_a_write_sqlite_refuses_leaves_the_ledger_as_it_was(tmp_path: Path) -> None:
    """A lone entry is written by one statement (its own transaction), a batch inside BEGIN ... COMMIT: when
    SQLite refuses either part way (here a trigger another connection adds), nothing of it stays, and the
    next append continues the chain from the last committed entry."""
    db = tmp_path / "ledger.sqlite3"
    async with await Ledger.open(tmp_path) as ledger:
        await ledger.append_many(("k", {"n": n}) for n in range(31))
        for table in ("entries", "nodes"):  # the 32nd entry completes the first stored proof node
            with sqlite3.connect(db) as conn:
                refuse = "BEGIN SELECT RAISE(ABORT, 'refused'); END"
                conn.execute(f"CREATE TRIGGER refuse BEFORE INSERT ON {table} {refuse}")
            with pytest.raises(sqlite3.IntegrityError, match="refused"):
                await ledger.append_many([("k", {"n": 31}), ("k", {"n": 32})])
            with pytest.raises(sqlite3.IntegrityError, match="refused"):
                await ledger.append("k", {"n": 31})
            with sqlite3.connect(db) as conn:
                conn.execute("DROP TRIGGER refuse")
            assert db_rows(tmp_path, "SELECT count(*) FROM entries") == [(31,)]
            assert db_rows(tmp_path, "SELECT count(*) FROM nodes") == [(0,)]
        assert (await ledger.append("k", {"n": 31})).index == 31
        assert (await ledger.append("k", {"n": 32})).index == 32
    assert db_rows(tmp_path, "SELECT count(*) FROM nodes") == [(1,)]
    assert verify_ledger(tmp_path).ok


# -- bad input changes nothing


@pytest.mark.parametrize(
    ("kind", "body", "message"),
    [
        ("k", {"amount": 12.5}, "fen"),
        ("k", {"items": [{"price": 2.0}]}, r"body\.items\[0\]\.price"),
        ("k", {"x": float("nan")}, "float"),
        ("k", {"photos": {b"raw"}}, "JSON"),
        ("k", {"photo": b"\xff"}, "JSON"),
        ("k", {1: "a"}, "keys"),
        ("k", ["not", "an", "object"], "object"),
        ("k", {"s": "\ud800"}, "Unicode"),
        ("", {}, "kind"),
        (None, {}, "kind"),
    ],
)
async def test_bad_input_is_refused_and_changes_nothing(tmp_path: Path, kind: Any, body: Any, message: str) -> None:
    async with await Ledger.open(tmp_path) as ledger:
        await ledger.append("k", {"ok": 1})
        with pytest.raises(ValueError, match=message):
            await ledger.append(kind, body)
        with pytest.raises(ValueError, match="item 1"):
            await ledger.append_many([("k", {"fine": 1}), (kind, body), ("k", {"fine": 2})])
        assert await ledger.size() == 1
        assert db_rows(tmp_path, "SELECT count(*) FROM entries") == [(1,)]
        assert (await ledger.append("k", {"ok": 2})).index == 1


async def test_entries_cannot_be_changed_through_sql(tmp_path: Path) -> None:
    async with await Ledger.open(tmp_path) as ledger:
        await ledger.append_many(("k", {"n": n}) for n in range(32))  # 32: the first stored proof node
    with sqlite3.connect(tmp_path / "ledger.sqlite3") as conn:
        for sql in (
            "UPDATE entries SET body = '{}'",
            "UPDATE entries SET leaf_hash = NULL",
            "DELETE FROM entries",
            "DELETE FROM nodes",
            "UPDATE checkpoints SET tree_size = 5",
        ):
            with pytest.raises(sqlite3.DatabaseError, match="append-only"):
                conn.execute(sql)


# -- checkpoints


async def test_checkpoints_every_n_and_on_close(tmp_path: Path) -> None:
    ledger = await Ledger.open(tmp_path, checkpoint_every=8)
    assert await ledger.latest_checkpoint() is None
    entries = [await ledger.append("k", {"n": i}) for i in range(10)]
    entries += await ledger.append_many([("k", {"n": i}) for i in range(10, 20)])  # crosses 16 mid-batch
    latest = await ledger.latest_checkpoint()
    assert latest is not None and latest.tree_size == 16
    public_key = ledger.public_key
    await ledger.close()

    rows = db_rows(tmp_path, "SELECT tree_size, root_hash, timestamp, signature FROM checkpoints ORDER BY id")
    assert [row[0] for row in rows] == [8, 16, 20]
    for row in rows:
        checkpoint = Checkpoint(*row)
        assert checkpoint.verify(public_key)
        frontier = Frontier()
        for entry in entries[: checkpoint.tree_size]:
            frontier.append(leaf_hash(entry.canonical_bytes()))
        assert checkpoint.root_hash == frontier.root()
        assert TS_FORMAT.match(checkpoint.timestamp)


async def test_explicit_checkpoint_and_inclusion(tmp_path: Path) -> None:
    async with await Ledger.open(tmp_path) as ledger:
        empty = await ledger.checkpoint()
        assert empty.tree_size == 0 and empty.verify(ledger.public_key)
        entry = await ledger.append("seal.press", {"presses": 1})
        await ledger.append("seal.press", {"presses": 2})
        checkpoint = await ledger.checkpoint()
        assert await ledger.checkpoint() == checkpoint  # nothing new: no second signature
        proof = await ledger.inclusion_proof(entry.index, checkpoint.tree_size)
        assert verify_inclusion(
            leaf_hash(entry.canonical_bytes()), entry.index, checkpoint.tree_size, proof, checkpoint.root_hash
        )
    assert db_rows(tmp_path, "SELECT tree_size FROM checkpoints ORDER BY id") == [(0,), (2,)]
    assert verify_ledger(tmp_path).checkpoints == 2


def test_checkpoint_signature_covers_every_field() -> None:
    key = Ed25519PrivateKey.generate()
    checkpoint = Checkpoint.sign(key, 5, bytes(range(32)))
    assert checkpoint.verify(key.public_key())
    assert signed_message(5, bytes(range(32)), checkpoint.timestamp).startswith(SIGNATURE_DOMAIN.encode() + b"\n")
    for change in ({"tree_size": 6}, {"root_hash": bytes(32)}, {"timestamp": "2000-01-01T00:00:00.000000Z"}):
        assert not dataclasses.replace(checkpoint, **change).verify(key.public_key())
    assert not checkpoint.verify(Ed25519PrivateKey.generate().public_key())


def test_checkpoint_dict_round_trip_and_validation() -> None:
    checkpoint = Checkpoint.sign(Ed25519PrivateKey.generate(), 3, bytes(32), "2025-01-02T03:04:05.000006Z")
    data = json.loads(json.dumps(checkpoint.to_dict()))
    assert Checkpoint.from_dict(data) == checkpoint
    for broken in (
        {**data, "tree_size": -1},
        {**data, "tree_size": True},
        {**data, "root_hash": "abcd"},
        {**data, "signature": "zz"},
        {**data, "timestamp": "x\ny"},
        {k: v for k, v in data.items() if k != "signature"},
        {**data, "root_hash": 5},
    ):
        with pytest.raises(ValueError):
            Checkpoint.from_dict(broken)


# -- the signing key


async def test_key_files(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    async with await Ledger.open(data_dir) as ledger:
        public_key = ledger.public_key
    key_file = data_dir / "ledger_key.pem"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert load_public_key(data_dir / "ledger_pub.pem") == public_key

    (data_dir / "ledger_pub.pem").unlink()
    key_file.chmod(0o644)
    async with await Ledger.open(data_dir) as ledger:
        assert ledger.public_key == public_key  # same key, not a new one
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert load_public_key(data_dir / "ledger_pub.pem") == public_key


async def test_empty_key_file_from_a_power_cut_is_replaced(tmp_path: Path) -> None:
    (tmp_path / "ledger_key.pem").touch()
    async with await Ledger.open(tmp_path) as ledger:
        assert load_public_key(tmp_path / "ledger_pub.pem") == ledger.public_key


async def test_missing_key_with_signed_checkpoints_is_refused(tmp_path: Path) -> None:
    async with await Ledger.open(tmp_path) as ledger:
        await ledger.append("k", {})
    (tmp_path / "ledger_key.pem").unlink()
    with pytest.raises(LedgerError, match="checkpoints"):
        await Ledger.open(tmp_path)
    assert not (tmp_path / "ledger_key.pem").exists()


async def test_foreign_signing_key_is_refused(tmp_path: Path) -> None:
    async with await Ledger.open(tmp_path / "a") as ledger:
        await ledger.append("k", {})
    async with await Ledger.open(tmp_path / "b"):
        pass
    (tmp_path / "a" / "ledger_key.pem").unlink()
    (tmp_path / "b" / "ledger_key.pem").rename(tmp_path / "a" / "ledger_key.pem")
    with pytest.raises(LedgerError, match="did not sign"):
        await Ledger.open(tmp_path / "a")


async def test_bad_options_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        await Ledger.open(tmp_path, checkpoint_every=0)
    assert not os.path.exists(tmp_path / "ledger.sqlite3")
