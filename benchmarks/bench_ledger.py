"""Ledger throughput against plain SQLite and hashlib, measured in the same run.

    python benchmarks/bench_ledger.py [--entries N] [--single N] [--batch B] [--dir DIR]

1. single appends: ``Ledger.append`` one at a time (each a durable commit)
   against plain ``sqlite3`` inserts of the very same rows, one commit each;
2. batched appends: ``Ledger.append_many`` in batches of B, building the
   N-entry ledger, against plain ``executemany`` of the same rows per batch;
3. ``verify_ledger`` over the N entries against hashing their canonical bytes
   once each with hashlib (the least any verifier must do), plus the time just
   to read the rows back.

The plain-SQLite side uses the same schema, WAL and synchronous=FULL settings.
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
from edge.ledger.schema import DB_FILENAME, ENTRY_COLUMNS, SCHEMA, WRITER_PRAGMAS

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


def read_rows(db: Path, chunk: int) -> Iterator[list[Row]]:
    """The stored entry rows, ``chunk`` at a time, without holding them all."""
    conn = sqlite3.connect(db)
    try:
        cur = conn.execute(f"SELECT {ENTRY_COLUMNS} FROM entries ORDER BY idx")
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


def plain_inserts(rows: Iterator[list[Row]], path: Path) -> float:
    """Seconds to insert the rows into a fresh database, one transaction per list."""
    conn = plain_db(path)
    insert = f"INSERT INTO entries ({ENTRY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)"
    elapsed = 0.0
    for batch in rows:
        start = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(insert, batch)
        conn.execute("COMMIT")
        elapsed += time.perf_counter() - start
    conn.close()
    return elapsed


def rate_line(label: str, count: int, ledger_s: float, plain_s: float) -> None:
    ledger_rate, plain_rate = count / ledger_s, count / plain_s
    print(
        f"  {label}: ledger {ledger_rate:>10,.0f} entries/s   plain SQLite {plain_rate:>10,.0f} entries/s   "
        f"ledger/plain = {ledger_rate / plain_rate:.2f}"
    )


async def bench_single(work: Path, count: int) -> None:
    ledger = await Ledger.open(work / "single")
    start = time.perf_counter()
    for i in range(count):
        await ledger.append(*seal_event(i))
    ledger_s = time.perf_counter() - start
    await ledger.close()
    plain_s = plain_inserts(read_rows(work / "single" / DB_FILENAME, 1), work / "plain-single.sqlite3")
    rate_line(f"single appends ({count:,}, one commit each)", count, ledger_s, plain_s)


async def bench_batched(work: Path, count: int, batch: int) -> Path:
    data_dir = work / "big"
    ledger = await Ledger.open(data_dir)
    start = time.perf_counter()
    for first in range(0, count, batch):
        await ledger.append_many([seal_event(i) for i in range(first, min(first + batch, count))])
    ledger_s = time.perf_counter() - start
    await ledger.close()
    plain_s = plain_inserts(read_rows(data_dir / DB_FILENAME, batch), work / "plain-batched.sqlite3")
    rate_line(f"batched appends ({count:,} in batches of {batch:,})", count, ledger_s, plain_s)
    (work / "plain-batched.sqlite3").unlink()
    return data_dir


def bench_verify(data_dir: Path, count: int) -> None:
    db = data_dir / DB_FILENAME
    start = time.perf_counter()
    read = sum(len(rows) for rows in read_rows(db, 10_000))
    read_s = time.perf_counter() - start

    hash_s = 0.0
    for rows in read_rows(db, 10_000):
        blobs = [encode_entry(idx, ts, kind, body) for idx, ts, kind, body, _, _ in rows]
        start = time.perf_counter()
        for blob in blobs:
            hashlib.sha256(blob).digest()
        hash_s += time.perf_counter() - start

    start = time.perf_counter()
    report = verify_ledger(data_dir)
    verify_s = time.perf_counter() - start
    assert report.ok and report.entries == read == count, report  # a broken ledger would make the figures meaningless

    size_mb = sum(f.stat().st_size for f in data_dir.iterdir()) / 1e6
    print(
        f"  verify_ledger: {verify_s:.2f} s for {count:,} entries and {report.checkpoints:,} checkpoints "
        f"({count / verify_s:,.0f} entries/s; database {size_mb:,.0f} MB)"
    )
    print(f"  hashlib SHA-256 of the same canonical bytes: {hash_s:.2f} s   verify/hashlib = {verify_s / hash_s:.1f}")
    print(f"  reading the rows back with sqlite3: {read_s:.2f} s   verify/read = {verify_s / read_s:.1f}")


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
