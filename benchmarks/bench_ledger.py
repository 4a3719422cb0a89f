"""Ledger throughput against plain SQLite and hashlib, measured in the same run.

    python benchmarks/bench_ledger.py [--entries N] [--single N] [--batch B] [--dir DIR]

1. single appends: ``Ledger.append`` one at a time (each a durable commit)
   against plain ``sqlite3`` inserts of the very same rows, one commit each;
2. batched appends: ``Ledger.append_many`` in batches of B, building the
   N-entry ledger, against plain ``executemany`` of the same rows per batch;
3. ``verify_ledger`` over the N entries (on every core when it is large; and in
   one pass, ``workers=1``) against hashing their canonical bytes once each with
   hashlib, plus the time just to read the rows back (the least any verifier
   must do is both, and check every checkpoint's signature).

The plain-SQLite side uses the same schema, WAL and synchronous=FULL settings.
Both sides are timed from ready input to committed rows: the ledger gets the
entries' kind and body, plain SQLite the finished rows; making up the sample
entries is timed on neither side.
Figures only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from edge.ledger import Ledger, encode_entry, verify_ledger
from edge.ledger.verify_parallel import default_workers
from edge.ledger.schema import DB_FILENAME, SCHEMA, STORED_COLUMNS, WRITER_PRAGMAS

Row = tuple[Any, ...]


def seal_event(i: int) -> tuple[str, dict[str, Any]]:
    """A realistic entry: one press of the official seal with its photo hash."""
    return "seal.press", {
        "device": "QL-330106-0001",
        "seal": "official",
        "request": i // 3,
        "press": i % 3 + 1,
        "custodian": "张三",
        "photo_sha256": hashlib.sha256(i.to_bytes(8, "big")).hexdigest(),
    }


def read_rows(db: Path, chunk: int, start: int = 0, stop: int | None = None) -> Iterator[list[Row]]:
    """The stored entry rows from ``start`` (to ``stop``), ``chunk`` at a time, without holding them all."""
    conn = sqlite3.connect(db)
    try:
        cur = conn.execute(
            f"SELECT {STORED_COLUMNS} FROM entries WHERE idx >= ? AND idx < ? ORDER BY idx", (start, stop or 2**62)
        )
        while rows := cur.fetchmany(chunk):
            yield rows
    finally:
        conn.close()


def plain_db(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in WRITER_PRAGMAS:
        conn.execute(pragma)
    conn.executescript(SCHEMA)
    return conn


def plain_inserts(conn: sqlite3.Connection, rows: Iterator[list[Row]]) -> float:
    """Seconds to insert the rows, one transaction per list."""
    insert = f"INSERT INTO entries ({STORED_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)"
    elapsed = 0.0
    for batch in rows:
        start = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(insert, batch)
        conn.execute("COMMIT")
        elapsed += time.perf_counter() - start
    return elapsed


def rate_line(label: str, count: int, ledger_s: float, plain_s: float) -> None:
    ledger_rate, plain_rate = count / ledger_s, count / plain_s
    print(
        f"  {label}: ledger {ledger_rate:>10,.0f} entries/s   plain SQLite {plain_rate:>10,.0f} entries/s   "
        f"ledger/plain = {ledger_rate / plain_rate:.2f}"
    )


# The machine is shared, so its load changes by the second: the two sides take
# turns, a round of ROUND entries each, and see the same load.
ROUND = 100


async def bench_single(work: Path, count: int) -> None:
    ledger = await Ledger.open(work / "single")
    plain = plain_db(work / "plain-single.sqlite3")
    ledger_s = plain_s = 0.0
    for first in range(0, count, ROUND):
        events = [seal_event(i) for i in range(first, min(first + ROUND, count))]
        start = time.perf_counter()
        for kind, body in events:
            await ledger.append(kind, body)
        ledger_s += time.perf_counter() - start
        plain_s += plain_inserts(plain, read_rows(work / "single" / DB_FILENAME, 1, first, first + ROUND))
    await ledger.close()
    plain.close()
    rate_line(f"single appends ({count:,}, one commit each)", count, ledger_s, plain_s)


def completed_nodes(db: Path, first: int, stop: int) -> list[Row]:
    """The proof-node rows the entries ``first`` ≤ index < ``stop`` completed (what the ledger wrote with them)."""
    conn = sqlite3.connect(db)
    try:
        rows: list[Row] = []
        for level in range(stop.bit_length()):
            # node (level, i) is completed by entry ((i + 1) << level) - 1
            low, high = -(-(first + 1) >> level) - 1, stop >> level
            rows += conn.execute(
                "SELECT level, idx, hash FROM nodes WHERE level = ? AND idx >= ? AND idx < ?", (level, low, high)
            ).fetchall()
        return rows
    finally:
        conn.close()


def plain_format_inserts(conn: sqlite3.Connection, entries: list[Row], nodes: list[Row]) -> float:
    """Seconds to insert one batch's entry rows and proof-node rows in one transaction."""
    start = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(f"INSERT INTO entries ({STORED_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)", entries)
    conn.executemany("INSERT INTO nodes (level, idx, hash) VALUES (?, ?, ?)", nodes)
    conn.execute("COMMIT")
    return time.perf_counter() - start


async def bench_batched(work: Path, count: int, batch: int) -> Path:
    """Against plain entry inserts, and against the floor the file format sets: the same entry rows
    plus the proof-node rows the format keeps with them (every completed subtree of NODE_MIN_LEVEL or more)."""
    data_dir = work / "big"
    db = data_dir / DB_FILENAME
    ledger = await Ledger.open(data_dir)
    plain = plain_db(work / "plain-batched.sqlite3")
    floor = plain_db(work / "plain-format.sqlite3")
    ledger_s = plain_s = floor_s = 0.0
    for first in range(0, count, batch):
        stop = min(first + batch, count)
        events = [seal_event(i) for i in range(first, stop)]
        start = time.perf_counter()
        await ledger.append_many(events)
        ledger_s += time.perf_counter() - start
        (rows,) = read_rows(db, batch, first, stop)
        plain_s += plain_inserts(plain, iter([rows]))
        floor_s += plain_format_inserts(floor, rows, completed_nodes(db, first, stop))
    await ledger.close()
    plain.close()
    floor.close()
    rate_line(f"batched appends ({count:,} in batches of {batch:,})", count, ledger_s, plain_s)
    print(
        f"    the same entry and proof-node rows, plain SQLite: {count / floor_s:>10,.0f} entries/s   "
        f"format floor/plain = {plain_s / floor_s:.2f}   ledger/floor = {floor_s / ledger_s:.2f}"
    )
    (work / "plain-batched.sqlite3").unlink()
    (work / "plain-format.sqlite3").unlink()
    return data_dir


def bench_verify(data_dir: Path, count: int, repeat: int = 3) -> None:
    """Best of ``repeat`` rounds, each timing the three in turn (the least disturbed run of each)."""
    db = data_dir / DB_FILENAME
    read_s = hash_s = verify_s = one_s = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        read = sum(len(rows) for rows in read_rows(db, 10_000))
        read_s = min(read_s, time.perf_counter() - start)

        hashed = 0.0
        for rows in read_rows(db, 10_000):
            blobs = [encode_entry(idx, ts, kind, body) for idx, ts, kind, body, *_ in rows]
            start = time.perf_counter()
            for blob in blobs:
                hashlib.sha256(blob).digest()
            hashed += time.perf_counter() - start
        hash_s = min(hash_s, hashed)

        start = time.perf_counter()
        report = verify_ledger(data_dir)
        verify_s = min(verify_s, time.perf_counter() - start)
        assert report.ok and report.entries == read == count, report  # a broken ledger makes the figures meaningless

        start = time.perf_counter()
        assert verify_ledger(data_dir, workers=1) == report
        one_s = min(one_s, time.perf_counter() - start)

    size_mb = sum(f.stat().st_size for f in data_dir.iterdir()) / 1e6
    workers = default_workers()
    print(
        f"  verify_ledger: {verify_s:.2f} s for {count:,} entries and {report.checkpoints:,} checkpoints "
        f"({count / verify_s:,.0f} entries/s, {workers} worker process(es); database {size_mb:,.0f} MB; "
        f"best of {repeat})"
    )
    print(f"    in one pass (workers=1): {one_s:.2f} s ({count / one_s:,.0f} entries/s)   "
          f"one pass/verify = {one_s / verify_s:.2f}")  # fmt: skip
    print(f"  hashlib SHA-256 of the same canonical bytes: {hash_s:.2f} s   verify/hashlib = {verify_s / hash_s:.1f}"
          f"   one pass/hashlib = {one_s / hash_s:.1f}")  # fmt: skip
    print(f"  reading the rows back with sqlite3: {read_s:.2f} s   verify/read = {verify_s / read_s:.1f}"
          f"   one pass/read = {one_s / read_s:.1f}")  # fmt: skip


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000, help="size of the batched/verified ledger")
    parser.add_argument("--single", type=int, default=2_000, help="number of single appends")
    parser.add_argument("--batch", type=int, default=1_000, help="entries per append_many")
    parser.add_argument("--dir", type=Path, help="where to build the databases (default: a temporary directory)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-ledger-", dir=args.dir))
    print(
        f"ledger benchmark — Python {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version}, "
        f"{', '.join(WRITER_PRAGMAS)}; in {work}"
    )
    try:
        await bench_single(work, min(args.single, args.entries))
        data_dir = await bench_batched(work, args.entries, args.batch)
        bench_verify(data_dir, args.entries)
    finally:
        shutil.rmtree(work)


if __name__ == "__main__":
    asyncio.run(main())
