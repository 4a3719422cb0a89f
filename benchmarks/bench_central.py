"""Central store figures: verified ingest against plain inserts, verification cost, catch-up, many edges at once.

    .venv/bin/python benchmarks/bench_central.py [--entries 20000] [--batch 1000] [--catch-up 100000]
                                                 [--edges 100] [--edge-entries 500] [--no-postgres]
                                                 [--proof-size 1000000]

``--entries 0``, ``--catch-up 0``, ``--edges 0`` or ``--proof-size 0`` leaves that part out, e.g. the
issue's catch-up figure alone: ``--catch-up 100000 --entries 0 --edges 0 --proof-size 0``.

Runs on SQLite (a temp file) and on PostgreSQL (a throw-away cluster started
here with initdb/pg_ctl, as the tests do). Prints figures; asserts nothing.

* ingest: ``CentralStore.ingest`` of every batch of a real ledger (parse, chain,
  Merkle root, Ed25519, consistency proof, then one transaction), in entries/s,
  against inserting the same entry rows with the same engine and batch size
  without any verification ("plain inserts");
* verification: the pure checks of one batch (parse + chain + tree + signature +
  consistency proof), per batch and per entry;
* catch-up: one edge with 100,000 pending entries (``--catch-up``; several months of a
  busy village) pushed by the real ``SyncClient`` over HTTP to ``qinglian central run``
  in a subprocess, as ``qinglian edge sync`` does;
* many edges: N edges (default 100) pushing their pending entries at once over HTTP;
* consistency-proof check at 1,000,000 entries (pure, O(log n)).

The HTTP figures also give the central process's own CPU time per entry: the edges' clients run in this
process on the same machine, so the wall-clock figure is the whole system's, and on a shared, loaded machine
it moves with the load; the central's CPU per entry is its cost alone.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from central_support import CentralProcess, PostgresServer

from central.db import entries as entries_table
from central.store import CentralStore, check_extension, parse_batch
from edge.kernel.sync import SyncClient
from edge.ledger import Checkpoint, Frontier, Ledger, verify_consistency
from edge.ledger.merkle import consistency_proof_ranges, range_hash
from edge.ledger.schema import DB_FILENAME, connect_readonly
from edge.ledger.wire import entry_to_wire


async def make_ledger(path: Path, n: int, checkpoint_every: int = 64) -> Ledger:
    ledger = await Ledger.open(path, checkpoint_every=checkpoint_every)
    items: list[tuple[str, dict[str, Any]]] = []
    for i in range(n):
        if i % 4 == 0:
            items.append(("seal.press", {"device_id": "QL-0001", "event_id": i, "event": {"k": "press", "n": 1, "total": i},
                                         "request_id": f"SR-{i // 4:06d}"}))  # fmt: skip
        else:
            items.append(("seal_request.approval", {"request_id": f"SR-{i:06d}", "approver": "zhangwei"}))
        if len(items) == 2000:
            await ledger.append_many(items)
            items = []
    if items:
        await ledger.append_many(items)
    await ledger.checkpoint()
    return ledger


def checkpoints_of(path: Path) -> dict[int, Checkpoint]:
    conn = connect_readonly(path / DB_FILENAME)
    try:
        rows = conn.execute("SELECT tree_size, root_hash, timestamp, signature FROM checkpoints ORDER BY id").fetchall()
    finally:
        conn.close()
    return {r[0]: Checkpoint(*r) for r in rows}


async def payloads(ledger: Ledger, batch: int) -> list[dict[str, Any]]:
    cps = checkpoints_of(ledger.data_dir)
    size = await ledger.size()
    out = []
    start = 0
    while start < size:
        end = (
            max(s for s in cps if s <= min(start + batch, size))
            if any(start < s <= start + batch for s in cps)
            else min(s for s in cps if s > start)
        )
        entries = await ledger.entries(start, end)
        proof = await ledger.consistency_proof(start, end)
        out.append({
            "from_index": start, "entries": [entry_to_wire(e) for e in entries], "checkpoint": cps[end].to_dict(),
            "consistency": {"from_size": start, "proof": [p.hex() for p in proof]}, "config_hash": None,
        })  # fmt: skip
        start = end
    return out


async def bench_ingest(url: str, ledger: Ledger, batches: list[dict[str, Any]], label: str) -> None:
    store = await CentralStore.open(url)
    try:
        pem = (ledger.data_dir / "ledger_pub.pem").read_text()
        await store.enrol_edge("bench", "青莲村", "河上镇", "萧山区", pem)
        n = sum(len(b["entries"]) for b in batches)
        # Batch for batch, the verified ingest and then the same entry rows inserted plainly with the same
        # engine, in turns, so both see the same load on a shared machine.
        verified = plain = 0.0
        for b in batches:
            t0 = time.perf_counter()
            await store.ingest("bench", b)
            verified += time.perf_counter() - t0
            rows = [
                {"edge_id": "plain", "idx": e.index, "ts": e.ts, "kind": e.kind, "body": e.body_json,
                 "hash": e.hash, "leaf_hash": e.hash, "day": e.ts[:10], "flag": None} for e in parse_batch(b).entries
            ]  # fmt: skip
            t0 = time.perf_counter()
            async with store.db.writer.begin() as conn:
                await conn.execute(entries_table.insert(), rows)
            plain += time.perf_counter() - t0
        print(f"  {label:<10} verified ingest {n / verified:>9,.0f} entries/s ({verified:6.2f} s)   "
              f"plain inserts {n / plain:>9,.0f} entries/s ({plain:6.2f} s)   verified/plain = {plain / verified:4.2f}")  # fmt: skip
    finally:
        await store.close()


def bench_verification(batches: list[dict[str, Any]], public_pem_path: Path) -> None:
    from edge.ledger import load_public_key

    key = load_public_key(public_pem_path)
    frontier, last = Frontier(), bytes(32)
    per_batch: list[float] = []
    sign_s: list[float] = []
    for b in batches:
        t0 = time.perf_counter()
        parsed = parse_batch(b)
        t1 = time.perf_counter()
        assert parsed.checkpoint.verify(key)
        t2 = time.perf_counter()
        ext = check_extension("bench", parsed, parsed.from_index, last, frontier)
        t3 = time.perf_counter()
        last = ext.last_hash
        per_batch.append(t3 - t0)
        sign_s.append(t2 - t1)
    n = sum(len(b["entries"]) for b in batches)
    sizes = [len(b["entries"]) for b in batches]
    print(f"  per batch of ~{statistics.median(sizes):.0f} entries: median {statistics.median(per_batch) * 1000:.1f} ms "
          f"(Ed25519 check {statistics.median(sign_s) * 1e6:.0f} µs); {sum(per_batch) / n * 1e6:.1f} µs per entry")  # fmt: skip


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far (Linux ``/proc``; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def central_cpu(central: CentralProcess, since: float, entries: int) -> str:
    """The central process's CPU per entry since ``since`` (its :func:`cpu_seconds` then)."""
    assert central.proc is not None
    used = cpu_seconds(central.proc.pid) - since
    if not used or not entries:
        return ""
    return f"; central CPU {used / entries * 1e6:.1f} µs/entry ({entries / used:,.0f} entries per CPU second)"


async def bench_catch_up(url: str, entries: int, batch: int, label: str, work: Path) -> None:
    ledger = await make_ledger(work / f"catchup-{label}", entries)
    store = await CentralStore.open(url)
    await store.enrol_edge("village", "青莲村", "河上镇", "萧山区", (ledger.data_dir / "ledger_pub.pem").read_text())
    await store.close()
    with CentralProcess(url) as central:
        client = SyncClient(ledger, central.url, "village", batch_size=batch, timeout=120)
        assert central.proc is not None
        cpu = cpu_seconds(central.proc.pid)
        t0 = time.perf_counter()
        result = await client.sync_once()
        elapsed = time.perf_counter() - t0
        used = central_cpu(central, cpu, result.stored)
        await client.stop()
    await ledger.close()
    print(f"  {label:<10} {result.stored:,} entries in {result.batches} batches: {elapsed:6.2f} s "
          f"({result.stored / elapsed:,.0f} entries/s){used}")  # fmt: skip


async def bench_many_edges(url: str, edges: int, per_edge: int, label: str, work: Path) -> None:
    folder = work / f"edges-{label}"
    ledgers = []
    for i in range(edges):
        ledgers.append(await make_ledger(folder / f"e{i:03d}", per_edge))
    store = await CentralStore.open(url)
    for i, ledger in enumerate(ledgers):
        await store.enrol_edge(
            f"e{i:03d}", f"村{i:03d}", f"镇{i % 10}", "萧山区", (ledger.data_dir / "ledger_pub.pem").read_text()
        )
    await store.close()
    with CentralProcess(url) as central:
        clients = [
            SyncClient(led, central.url, f"e{i:03d}", batch_size=1000, timeout=300) for i, led in enumerate(ledgers)
        ]
        assert central.proc is not None
        cpu = cpu_seconds(central.proc.pid)
        t0 = time.perf_counter()
        results = await asyncio.gather(*(c.sync_once() for c in clients))
        elapsed = time.perf_counter() - t0
        total = sum(r.stored for r in results)
        used = central_cpu(central, cpu, total)
        for c in clients:
            await c.stop()
    for ledger in ledgers:
        await ledger.close()
    print(
        f"  {label:<10} {edges} edges × {per_edge} entries at once: {elapsed:6.2f} s ({total / elapsed:,.0f} entries/s)"
        f"{used}"
    )


def bench_consistency(size: int) -> None:
    t0 = time.perf_counter()
    frontier = Frontier()
    nodes: dict[tuple[int, int], bytes] = {}
    import hashlib

    for i in range(size):
        for level, idx, h in frontier.append(hashlib.sha256(b"\0" + i.to_bytes(8, "big")).digest()):
            nodes[(level, idx)] = h
    build = time.perf_counter() - t0
    old = size // 3 + 12_345
    proof = [range_hash(a, b, nodes.__getitem__) for a, b in consistency_proof_ranges(old, size)]
    old_root = range_hash(0, old, nodes.__getitem__)
    new_root = frontier.root()
    runs = 1000
    t0 = time.perf_counter()
    for _ in range(runs):
        ok = verify_consistency(old, size, old_root, new_root, proof)
    check = (time.perf_counter() - t0) / runs
    assert ok
    print(
        f"  {old:,} → {size:,} entries: proof of {len(proof)} hashes, check {check * 1e6:.0f} µs "
        f"(building the tree in memory took {build:.1f} s)"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=20_000, help="ledger for ingest (default 20,000; 0: skip)")
    parser.add_argument("--catch-up", type=int, default=100_000, help="pending entries to catch up (default 100,000)")
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--edges", type=int, default=100)
    parser.add_argument("--edge-entries", type=int, default=500)
    parser.add_argument("--proof-size", type=int, default=1_000_000)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-central-"))
    pg = None
    if not args.no_postgres:
        pg = PostgresServer()
        pg.start()
    try:

        def urls() -> list[tuple[str, str]]:
            out = [("SQLite", f"sqlite:///{work / f'c-{time.monotonic_ns()}.sqlite3'}")]
            if pg is not None:
                out.append(("PostgreSQL", pg.create_database()))
            return out

        if args.entries:
            print(f"== preparing a ledger of {args.entries:,} entries")
            ledger = await make_ledger(work / "edge", args.entries)
            try:
                batches = await payloads(ledger, args.batch)
                print(f"== ingest, {len(batches)} batches of ≤{args.batch} (CentralStore.ingest, no HTTP)")
                for label, url in urls():
                    await bench_ingest(url, ledger, batches, label)
                print("== verification (pure: parse + chain + Merkle root + Ed25519 + consistency proof)")
                bench_verification(batches, ledger.data_dir / "ledger_pub.pem")
            finally:
                await ledger.close()
        if args.catch_up:
            print(f"== catch-up: one edge with {args.catch_up:,} pending entries over HTTP, real SyncClient and server")
            for label, url in urls():
                await bench_catch_up(url, args.catch_up, args.batch, label, work)
        if args.edges:
            print(f"== {args.edges} edges pushing at once over HTTP")
            for label, url in urls():
                await bench_many_edges(url, args.edges, args.edge_entries, label, work)
        if args.proof_size:
            print("== consistency-proof check")
            bench_consistency(args.proof_size)
    finally:
        if pg is not None:
            pg.stop()
        import shutil

        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
