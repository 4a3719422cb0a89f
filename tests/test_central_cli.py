"""Enrolment and one-shot sync from the command line, against ``qinglian central run`` (SQLite) in a subprocess.

qinglian ledger pubkey --data DIR --json     ->  qinglian central enrol --db URL --edge ID --key KEY
qinglian edge sync --data DIR --central URL  ->  0 accepted / 1 refused (reason on stderr) / 2 unreachable
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from central_support import CentralProcess, fill, free_port

from edge.kernel.sync import STATE_FILENAME
from edge.kernel.writerlock import WriterLock
from edge.ledger import Ledger, canonical_json
from edge.ledger.wire import EDGE_ID_FILENAME
from qinglian.cli import main

pytestmark = pytest.mark.slow

# main() is not reentrant with respect to capsys when two threads run it: serialise their output.
_PRINT = threading.Lock()


@pytest.fixture(scope="module")
def central(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CentralProcess]:
    """One store for the module; every test uses edges of its own (ids derive from fresh keys)."""
    db = f"sqlite:///{tmp_path_factory.mktemp('central') / 'central.sqlite3'}"
    with CentralProcess(db) as process:
        yield process


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with _PRINT:
        code = main(list(args))
        captured = capsys.readouterr()
    return code, captured.out, captured.err


def make_ledger(folder: Path, n: int, start: int = 0) -> None:
    async def make() -> None:
        ledger = await Ledger.open(folder)
        await fill(ledger, n, start=start)
        await ledger.close()

    asyncio.run(make())


def pubkey(capsys: pytest.CaptureFixture[str], folder: Path) -> dict[str, str]:
    code, out, _ = run(capsys, "ledger", "pubkey", "--data", str(folder), "--json")
    assert code == 0
    printed: dict[str, str] = json.loads(out)
    return printed


def status(capsys: pytest.CaptureFixture[str], central: CentralProcess, edge: str) -> dict[str, Any]:
    code, out, _ = run(capsys, "central", "status", "--db", central.db, "--json")
    assert code == 0
    (row,) = [r for r in json.loads(out) if r["edge_id"] == edge]
    return row  # type: ignore[no-any-return]


def sync(capsys: pytest.CaptureFixture[str], central: CentralProcess, folder: Path) -> tuple[int, str, str]:
    return run(capsys, "edge", "sync", "--data", str(folder), "--central", central.url)


def stored(central: CentralProcess, edge: str) -> list[int]:
    with sqlite3.connect(central.db.removeprefix("sqlite:///")) as conn:
        rows = conn.execute("SELECT idx FROM entries WHERE edge_id = ? ORDER BY idx", (edge,)).fetchall()
    return [r[0] for r in rows]


def test_enrol_sync_then_a_tampered_row_is_refused_and_flagged(
    central: CentralProcess, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "edge"
    make_ledger(folder, 150)
    me = pubkey(capsys, folder)

    # The administrator enrols what the technician read off the edge; the place can come later.
    code, out, _ = run(capsys, "central", "enrol", "--db", central.db, "--edge", me["edge"], "--key", me["public_key"])
    assert code == 0 and "place not set" in out
    row = status(capsys, central, me["edge"])
    assert (row["village"], row["township"], row["county"]) == ("未定", "未定", "未定") and row["entries"] == 0

    code, out, err = sync(capsys, central, folder)
    assert code == 0, err
    assert "the store accepted all: 150 new entries" in out
    # The views tell unplaced edges apart; nobody can be given the "未定" township to watch.
    code, token, _ = run(capsys, "central", "issue-token", "--db", central.db, "--scope", "all")
    page = httpx.get(f"{central.url}/", headers={"Authorization": f"Bearer {token.strip()}"}, timeout=10)
    assert page.status_code == 200 and f"未定({me['edge']})" in page.text
    assert run(capsys, "central", "issue-token", "--db", central.db, "--scope", "township:未定")[0] == 1
    assert stored(central, me["edge"]) == list(range(150))
    row = status(capsys, central, me["edge"])
    assert row["entries"] == 150 and row["checkpoint"]["tree_size"] == 150 and not row["flagged"]
    code, out, _ = run(capsys, "edge", "sync", "--data", str(folder), "--central", central.url, "--json")
    assert code == 0 and json.loads(out)["stored"] == 0 and json.loads(out)["pending"] == 0  # nothing twice

    # Enrolling again with the place (the PEM file is accepted too) sets it and keeps the log.
    code, out, _ = run(capsys, "central", "enrol", "--db", central.db, "--edge", me["edge"], "--key",
                       str(folder / "ledger_pub.pem"), "--village", "青莲村", "--township", "河上镇", "--county", "萧山区")  # fmt: skip
    assert code == 0 and "已更新 updated" in out
    row = status(capsys, central, me["edge"])
    assert (row["village"], row["township"], row["county"]) == ("青莲村", "河上镇", "萧山区") and row["entries"] == 150

    # The village edits a pending entry in its database (after dropping the append-only trigger).
    make_ledger(folder, 70, start=150)
    with sqlite3.connect(folder / "ledger.sqlite3") as conn:
        conn.execute("DROP TRIGGER entries_no_update")
        (body,) = conn.execute("SELECT body FROM entries WHERE idx = 180").fetchone()
        edited = {**json.loads(body), "approver": "someone_else"}
        conn.execute("UPDATE entries SET body = ? WHERE idx = 180", (canonical_json(edited),))
    code, out, err = sync(capsys, central, folder)
    assert code == 1 and out == ""
    assert "chain_broken" in err and "180" in err and "flagged this edge" in err
    row = status(capsys, central, me["edge"])
    assert row["flagged"] and row["flag_code"] == "chain_broken" and row["entries"] == 150
    assert stored(central, me["edge"]) == list(range(150))  # nothing of the refused batch

    # After the investigation the county clears the flag; the edited history is still refused.
    assert run(capsys, "central", "clear-flag", "--db", central.db, "--edge", me["edge"])[0] == 0
    assert not status(capsys, central, me["edge"])["flagged"]
    assert sync(capsys, central, folder)[0] == 1 and status(capsys, central, me["edge"])["flagged"]
    assert run(capsys, "central", "clear-flag", "--db", central.db, "--edge", "no-such-edge")[0] == 1


def test_a_batch_signed_by_another_edges_key_is_refused(
    central: CentralProcess, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_ledger(tmp_path / "a", 64)
    make_ledger(tmp_path / "b", 64)
    a, b = pubkey(capsys, tmp_path / "a"), pubkey(capsys, tmp_path / "b")
    for edge in (a, b):
        assert run(capsys, "central", "enrol", "--db", central.db, "--edge", edge["edge"], "--key",
                   edge["public_key"], "--village", "村", "--township", "镇", "--county", "县")[0] == 0  # fmt: skip
    # Edge B's folder made to sync as A (a cloned configuration): B's key signs, A's id is claimed.
    (tmp_path / "b" / EDGE_ID_FILENAME).write_text(a["edge"] + "\n", encoding="utf-8")
    code, _, err = sync(capsys, central, tmp_path / "b")
    assert code == 1 and "foreign_key" in err and b["edge"] in err
    row_a, row_b = status(capsys, central, a["edge"]), status(capsys, central, b["edge"])
    assert row_a["entries"] == 0 and not row_a["flagged"] and row_a["refused_attempts"] == 1
    assert row_b["flagged"] and row_b["flag_code"] == "impersonation" and row_b["entries"] == 0
    assert stored(central, a["edge"]) == []
    # A itself still syncs.
    assert sync(capsys, central, tmp_path / "a")[0] == 0
    assert stored(central, a["edge"]) == list(range(64))


def test_sync_beside_the_running_writer_pushes_what_is_signed(
    central: CentralProcess, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`edge sync` while the agent holds the ledger: it reads, pushes up to the agent's checkpoint, signs nothing."""
    folder = tmp_path / "edge"
    make_ledger(folder, 10)
    me = pubkey(capsys, folder)
    assert run(capsys, "central", "enrol", "--db", central.db, "--edge", me["edge"], "--key", me["public_key"])[0] == 0

    async def scenario() -> None:
        lock = WriterLock.try_acquire(folder)
        assert lock is not None
        writer = await Ledger.open(folder)  # checkpoints every 64; closing signed 10
        try:
            await fill(writer, 150, start=10)  # 160 entries; signed: 64 and 128
            # The "agent" keeps appending while the technician's sync runs.
            busy = asyncio.create_task(fill(writer, 30, start=160))
            code, out, err = await asyncio.to_thread(
                run, capsys, "edge", "sync", "--data", str(folder), "--central", central.url, "--json"
            )
            await busy
            assert code == 0, err
            report = json.loads(out)
            assert report["mode"] == "beside_agent" and report["next_index"] == 128
            assert report["pending"] == report["local_size"] - report["next_index"] > 0
            assert stored(central, me["edge"]) == list(range(report["next_index"]))
            assert await writer.size() == 190  # nothing appended or signed by the syncer
            assert (await writer.latest_checkpoint()).tree_size == 128  # type: ignore[union-attr]
        finally:
            await writer.close()  # signs the tail
            lock.release()

    asyncio.run(scenario())
    # Now no writer runs: the next sync is the writer for a moment and pushes the rest.
    code, out, _ = run(capsys, "edge", "sync", "--data", str(folder), "--central", central.url, "--json")
    assert code == 0 and json.loads(out)["mode"] == "writer" and json.loads(out)["pending"] == 0
    assert stored(central, me["edge"]) == list(range(190))
    state = json.loads((folder / STATE_FILENAME).read_text(encoding="utf-8"))
    assert state["edge_id"] == me["edge"] and state["next_index"] == 190


def test_two_syncers_at_once_take_turns(
    central: CentralProcess, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "edge"
    make_ledger(folder, 3000)
    me = pubkey(capsys, folder)
    assert run(capsys, "central", "enrol", "--db", central.db, "--edge", me["edge"], "--key", me["public_key"])[0] == 0
    codes: list[int] = []

    def one() -> None:
        codes.append(main(["edge", "sync", "--data", str(folder), "--central", central.url]))

    threads = [threading.Thread(target=one) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    capsys.readouterr()
    assert codes == [0, 0]
    assert stored(central, me["edge"]) == list(range(3000))
    state = json.loads((folder / STATE_FILENAME).read_text(encoding="utf-8"))
    assert state["next_index"] == 3000 and not (folder / (STATE_FILENAME + ".tmp")).exists()


def test_unreachable_store_no_ledger_and_bad_arguments(
    central: CentralProcess, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "edge"
    make_ledger(folder, 5)
    me = pubkey(capsys, folder)
    code, _, err = run(capsys, "edge", "sync", "--data", str(folder), "--central", f"http://127.0.0.1:{free_port()}")
    assert code == 2 and "cannot reach the central store" in err
    code, _, err = sync(capsys, central, folder)  # not enrolled
    assert code == 1 and "unenrolled" in err
    code, _, err = sync(capsys, central, tmp_path / "nothing")
    assert code == 2 and "no ledger" in err and not (tmp_path / "nothing").exists()
    code, _, err = run(capsys, "edge", "sync", "--data", str(folder), "--central", "central.example")
    assert code == 2 and "http(s)://" in err
    # Enrolment: bad keys change nothing.
    for key, expected in (("not-base64!", 1), ("AAAA", 1), (str(tmp_path / "absent.pem"), 2)):
        code, _, err = run(capsys, "central", "enrol", "--db", central.db, "--edge", me["edge"], "--key", key)
        assert code == expected and "key" in err, key
    code, out, _ = run(capsys, "central", "status", "--db", central.db, "--json")
    assert me["edge"] not in out
    code, _, err = run(capsys, "central", "enrol", "--db", central.db, "--edge", "bad id", "--key", me["public_key"])
    assert code == 1 and "invalid edge id" in err
