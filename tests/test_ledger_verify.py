"""Offline verification catches every kind of after-the-fact edit; the ``ledger`` CLI reports it."""

from __future__ import annotations

import argparse
import json
import sqlite3
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge.ledger import Checkpoint, Ledger, chain_hash, encode_entry, leaf_hash, load_public_key, verify_ledger
from edge.ledger.cli import register
from edge.ledger.entry import GENESIS_PREV_HASH
from edge.ledger.keys import public_key_pem
from edge.ledger.merkle import NODE_MIN_LEVEL, Frontier
from edge.ledger import verify as verify_module
from edge.ledger import verify_parallel

SIZE = 100
EVERY = 16  # checkpoints at 16, 32, 48, 64, 80, 96, and 100 on close


@pytest.fixture(autouse=True, params=["one pass", "parallel first"])
def verifier(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every case both ways: the one pass alone, and the parallel check first (chunks of 16 on two workers), which
    must never call an edited ledger sound, nor change a word of what the one pass then reports."""
    parallel = request.param == "parallel first"
    monkeypatch.setattr(verify_module, "default_workers", lambda: 2 if parallel else 1)
    monkeypatch.setattr(verify_parallel, "MIN_ENTRIES", 1)
    monkeypatch.setattr(verify_parallel, "MIN_CHUNK", 16)


@pytest.fixture
async def ledger_dir(tmp_path: Path) -> Path:
    async with await Ledger.open(tmp_path, checkpoint_every=EVERY) as ledger:
        await ledger.append_many([("seal.press", {"n": i, "note": f"marker-{i:04d}", "presses": 1}) for i in range(60)])
        for i in range(60, SIZE):
            await ledger.append("approval" if i % 2 else "seal.press", {"n": i, "note": f"marker-{i:04d}"})
    return tmp_path


def tamper(data_dir: Path, *statements: str | tuple[str, tuple]) -> None:
    """Edit the database the way someone with the file would: drop the guards, change rows."""
    with sqlite3.connect(data_dir / "ledger.sqlite3") as conn:
        for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
            conn.execute(f"DROP TRIGGER {name}")
        for statement in statements:
            sql, params = statement if isinstance(statement, tuple) else (statement, ())
            conn.execute(sql, params)


def rewrite_chain(
    data_dir: Path, index: int, new_body: str | None, *, rebuild_nodes: bool, restart: bytes | None = None
) -> None:
    """A careful forger: change one entry and recompute every later hash (and maybe every leaf hash and proof
    node the format records with them); or, with ``restart``, chain entry ``index`` on to that instead."""
    with sqlite3.connect(data_dir / "ledger.sqlite3") as conn:
        rows = conn.execute("SELECT idx, ts, kind, body FROM entries ORDER BY idx").fetchall()
    prev = GENESIS_PREV_HASH
    frontier = Frontier()
    updates, leaves, nodes = [], [], []
    for idx, ts, kind, body in rows:
        body = new_body if idx == index and new_body is not None else body
        prev = restart if idx == index and restart is not None else prev
        data = encode_entry(idx, ts, kind, body)
        entry_hash = chain_hash(prev, data)
        updates.append((body, prev, entry_hash, idx))
        leaves.append((leaf_hash(data), idx))
        nodes += [node for node in frontier.append(leaf_hash(data)) if node[0] >= NODE_MIN_LEVEL]
        prev = entry_hash
    statements: list[str | tuple[str, tuple]] = [
        ("UPDATE entries SET body = ?, prev_hash = ?, hash = ? WHERE idx = ?", u) for u in updates
    ]
    if rebuild_nodes:
        statements += [("UPDATE entries SET leaf_hash = ? WHERE idx = ?", leaf) for leaf in leaves]
        statements.append("DELETE FROM nodes")
        statements += [("INSERT INTO nodes (level, idx, hash) VALUES (?, ?, ?)", n) for n in nodes]
    tamper(data_dir, *statements)


def test_intact_ledger_verifies(ledger_dir: Path) -> None:
    report = verify_ledger(ledger_dir)
    assert report.ok, report
    assert (report.entries, report.checkpoints, report.first_bad_index) == (SIZE, 7, None)


async def test_empty_ledger_verifies(tmp_path: Path) -> None:
    await (await Ledger.open(tmp_path)).close()
    assert verify_ledger(tmp_path).ok


def test_missing_ledger_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        verify_ledger(tmp_path / "nowhere")


@pytest.mark.parametrize(
    ("statement", "bad_index", "reason"),
    [
        ("UPDATE entries SET body = replace(body, '\"presses\":1', '\"presses\":2') WHERE idx = 37", 37, "hash"),
        ("UPDATE entries SET kind = 'seal.void' WHERE idx = 12", 12, "hash"),
        ("UPDATE entries SET ts = '2020-01-01T00:00:00.000000Z' WHERE idx = 0", 0, "hash"),
        ("UPDATE entries SET hash = zeroblob(32) WHERE idx = 50", 50, "hash"),
        ("UPDATE entries SET hash = zeroblob(32) WHERE idx = 47", 47, "hash"),  # the last of a chunk of 16
        ("UPDATE entries SET hash = zeroblob(32) WHERE idx = 99", 99, "hash"),  # the last: no entry after it
        ("UPDATE entries SET prev_hash = zeroblob(32) WHERE idx = 61", 61, "prev_hash"),
        ("UPDATE entries SET body = CAST(body AS BLOB) WHERE idx = 70", 70, "type"),
        ("DELETE FROM entries WHERE idx = 42", 42, "missing"),
        ("DELETE FROM entries WHERE idx IN (98, 99)", 98, "truncated"),
        ("UPDATE entries SET leaf_hash = zeroblob(32) WHERE idx = 33", 33, "leaf"),
        ("UPDATE entries SET leaf_hash = NULL WHERE idx = 33", 33, "leaf"),
    ],
)
def test_edited_entries_are_caught(ledger_dir: Path, statement: str, bad_index: int, reason: str) -> None:
    tamper(ledger_dir, statement)
    report = verify_ledger(ledger_dir)
    assert not report.ok
    assert report.first_bad_index == bad_index, report
    assert reason in report.reason
    assert report.entries == bad_index  # everything before it checked out


@pytest.mark.parametrize(
    ("statement", "bad_index", "reason"),
    [
        ("UPDATE nodes SET hash = zeroblob(32) WHERE level = 5 AND idx = 1", None, "proof node"),
        ("DELETE FROM nodes WHERE level = 6 AND idx = 0", None, "proof node"),
        ("INSERT INTO nodes (level, idx, hash) VALUES (2, 3, zeroblob(32))", None, "proof node"),
        ("INSERT INTO nodes (level, idx, hash) VALUES (3, 500, zeroblob(32))", SIZE, "truncated"),  # no such entries
    ],
)
def test_edited_proof_nodes_are_caught(ledger_dir: Path, statement: str, bad_index: int | None, reason: str) -> None:
    tamper(ledger_dir, statement)
    report = verify_ledger(ledger_dir)
    assert (report.ok, report.first_bad_index) == (False, bad_index), report
    assert reason in report.reason


def test_tail_cut_below_the_last_checkpoint(ledger_dir: Path) -> None:
    # Even with the proof nodes of the removed entries cleaned away.
    tamper(ledger_dir, "DELETE FROM entries WHERE idx >= 70", "DELETE FROM nodes WHERE ((idx + 1) << level) > 70")
    report = verify_ledger(ledger_dir)
    assert (report.ok, report.first_bad_index, report.bad_checkpoint) == (False, 70, 80)
    assert "truncated" in report.reason


def test_tail_cut_with_its_checkpoint_leaves_proof_nodes_behind(ledger_dir: Path) -> None:
    # The proof node of entries 64..95 is left behind. (A cut within the last 2**NODE_MIN_LEVEL entries and
    # their checkpoints leaves nothing here: the central store's copy shows it, test_central_sync.py.)
    tamper(ledger_dir, "DELETE FROM entries WHERE idx >= 90", "DELETE FROM checkpoints WHERE tree_size > 80")
    report = verify_ledger(ledger_dir)
    assert (report.ok, report.first_bad_index) == (False, 90)
    assert "truncated" in report.reason


def test_replaced_checkpoint_signature(ledger_dir: Path) -> None:
    other = Ed25519PrivateKey.generate().sign(b"something else")
    tamper(ledger_dir, ("UPDATE checkpoints SET signature = ? WHERE tree_size = 48", (other,)))
    report = verify_ledger(ledger_dir)
    assert (report.ok, report.first_bad_index, report.bad_checkpoint) == (False, None, 48)
    assert "signature" in report.reason
    assert report.checkpoints == 2 and report.entries == 48


def test_forged_checkpoint_from_another_key(ledger_dir: Path) -> None:
    forged = Checkpoint.sign(Ed25519PrivateKey.generate(), 0, bytes(32))
    tamper(
        ledger_dir,
        (
            "INSERT INTO checkpoints (tree_size, root_hash, timestamp, signature) VALUES (?, ?, ?, ?)",
            (forged.tree_size, forged.root_hash, forged.timestamp, forged.signature),
        ),
    )
    report = verify_ledger(ledger_dir)
    assert (report.ok, report.first_bad_index, report.bad_checkpoint) == (False, None, 0)


def test_checkpoint_root_edited(ledger_dir: Path) -> None:
    tamper(ledger_dir, "UPDATE checkpoints SET root_hash = zeroblob(32) WHERE tree_size = 32")
    report = verify_ledger(ledger_dir)
    assert (report.ok, report.bad_checkpoint) == (False, 32)
    assert "signature" in report.reason


def test_rewritten_chain_is_caught_at_the_entry(ledger_dir: Path) -> None:
    rewrite_chain(ledger_dir, 37, '{"n":37,"note":"marker-0037","presses":9}', rebuild_nodes=False)
    report = verify_ledger(ledger_dir)
    assert (report.ok, report.first_bad_index) == (False, 37)


def test_a_chain_restarted_mid_way_is_caught_where_it_breaks(ledger_dir: Path) -> None:
    # Entry 48 (the first of a chunk of 16 for the parallel check) chained on to a made-up hash, every hash after
    # it recomputed: each entry follows on from the one before, except at 48.
    rewrite_chain(ledger_dir, 48, None, rebuild_nodes=False, restart=bytes(range(32)))
    report = verify_ledger(ledger_dir)
    assert (report.ok, report.first_bad_index) == (False, 48)
    assert "prev_hash" in report.reason


def test_rewritten_chain_and_proof_nodes_fail_the_signed_root(ledger_dir: Path) -> None:
    rewrite_chain(ledger_dir, 37, '{"n":37,"note":"marker-0037","presses":9}', rebuild_nodes=True)
    report = verify_ledger(ledger_dir)
    # Checkpoint 32 still holds; the one at 48 vouches for a different entry in 32..47.
    assert (report.ok, report.first_bad_index, report.bad_checkpoint) == (False, 32, 48)
    assert "root" in report.reason


def test_resigned_ledger_is_caught_with_the_registered_key(ledger_dir: Path) -> None:
    """Someone with the edge host can re-sign everything with a new key; the key the
    central store registered (``--pubkey``) still exposes it."""
    registered = load_public_key(ledger_dir / "ledger_pub.pem")
    rewrite_chain(ledger_dir, 37, '{"n":37,"note":"marker-0037","presses":9}', rebuild_nodes=True)
    with sqlite3.connect(ledger_dir / "ledger.sqlite3") as conn:
        rows = conn.execute("SELECT idx, ts, kind, body FROM entries ORDER BY idx").fetchall()
        sizes = [size for (size,) in conn.execute("SELECT tree_size FROM checkpoints ORDER BY id")]
    forger = Ed25519PrivateKey.generate()
    frontier, roots = Frontier(), {}
    for idx, ts, kind, body in rows:
        frontier.append(leaf_hash(encode_entry(idx, ts, kind, body)))
        roots[frontier.size] = frontier.root()
    forged = [Checkpoint.sign(forger, size, roots[size]) for size in sizes]
    tamper(
        ledger_dir,
        "DELETE FROM checkpoints",
        *[
            (
                "INSERT INTO checkpoints (tree_size, root_hash, timestamp, signature) VALUES (?, ?, ?, ?)",
                (c.tree_size, c.root_hash, c.timestamp, c.signature),
            )
            for c in forged
        ],
    )
    (ledger_dir / "ledger_pub.pem").write_bytes(public_key_pem(forger.public_key()))

    assert verify_ledger(ledger_dir).ok  # locally consistent: this is why the central store witnesses
    report = verify_ledger(ledger_dir, registered)
    assert (report.ok, report.bad_checkpoint) == (False, 16)


def test_flipped_byte_in_the_file(ledger_dir: Path) -> None:
    """Not through SQL: one byte of the database file changed on disk."""
    db = ledger_dir / "ledger.sqlite3"
    content = db.read_bytes()
    assert not (ledger_dir / "ledger.sqlite3-wal").exists() or (ledger_dir / "ledger.sqlite3-wal").stat().st_size == 0
    assert content.count(b"marker-0044") == 1
    db.write_bytes(content.replace(b"marker-0044", b"marker-0045"))
    report = verify_ledger(ledger_dir)
    assert (report.ok, report.first_bad_index) == (False, 44)


async def test_verify_reads_a_snapshot_while_the_agent_appends(ledger_dir: Path) -> None:
    async with await Ledger.open(ledger_dir, checkpoint_every=EVERY) as ledger:
        await ledger.append("k", {"n": SIZE})
        assert verify_ledger(ledger_dir).ok


# -- the CLI


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    parser = argparse.ArgumentParser(prog="qinglian")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    code = args.func(args)
    return code, capsys.readouterr().out


def test_cli_verify_intact(ledger_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run_cli(["ledger", "verify", "--data", str(ledger_dir)], capsys)
    assert code == 0
    assert "台账完好" in out and "intact" in out and "100" in out
    code, out = run_cli(["ledger", "verify", "--data", str(ledger_dir), "--json"], capsys)
    assert code == 0 and json.loads(out)["ok"] is True


def test_cli_verify_on_as_many_workers_as_asked(ledger_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for workers in ("1", "2", "3"):
        code, out = run_cli(["ledger", "verify", "--data", str(ledger_dir), "--workers", workers, "--json"], capsys)
        assert code == 0 and json.loads(out)["entries"] == SIZE
    with pytest.raises(SystemExit):
        run_cli(["ledger", "verify", "--data", str(ledger_dir), "--workers", "0"], capsys)


def test_cli_verify_tampered(ledger_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tamper(ledger_dir, "UPDATE entries SET kind = 'seal.void' WHERE idx = 12")
    code, out = run_cli(["ledger", "verify", "--data", str(ledger_dir)], capsys)
    assert code == 1
    assert "entry 12" in out and "第 12 条" in out
    code, out = run_cli(["ledger", "verify", "--data", str(ledger_dir), "--json"], capsys)
    report = json.loads(out)
    assert code == 1 and report["ok"] is False and report["first_bad_index"] == 12


def test_cli_verify_with_the_wrong_key(ledger_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    other = tmp_path / "other.pem"
    other.write_bytes(public_key_pem(Ed25519PrivateKey.generate().public_key()))
    code, out = run_cli(["ledger", "verify", "--data", str(ledger_dir), "--pubkey", str(other)], capsys)
    assert code == 1 and "signature" in out


def test_cli_verify_without_a_ledger(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = run_cli(["ledger", "verify", "--data", str(tmp_path / "nowhere")], capsys)
    assert code == 2


def test_cli_show(ledger_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run_cli(["ledger", "show", "--data", str(ledger_dir), "--limit", "3"], capsys)
    lines = out.splitlines()
    assert code == 0 and len(lines) == 3
    assert lines[0].startswith("#97") and lines[-1].startswith("#99") and "marker-0099" in lines[-1]

    code, out = run_cli(
        ["ledger", "show", "--data", str(ledger_dir), "--kind", "approval", "--limit", "0", "--json"], capsys
    )
    shown = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and len(shown) == 20
    assert all(e["kind"] == "approval" for e in shown)
    assert [e["index"] for e in shown] == list(range(61, SIZE, 2))


def test_cli_show_bad_arguments(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["ledger", "show", "--data", str(tmp_path)], capsys)[0] == 2
    with pytest.raises(SystemExit):
        run_cli(["ledger", "show", "--data", str(tmp_path), "--limit", "-1"], capsys)
