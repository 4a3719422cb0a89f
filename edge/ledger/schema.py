"""The ledger's on-disk layout: file name, tables, journal settings, read-only access."""

from __future__ import annotations

import sqlite3
from pathlib import Path

DB_FILENAME = "ledger.sqlite3"
#: 1: every perfect Merkle subtree stored in ``nodes``, leaves included.
#: 2: each entry's leaf hash in its own row; ``nodes`` keeps only subtrees of level >= NODE_MIN_LEVEL
#: (an append writes about 1.03 rows instead of 3). A ledger of version 1 is upgraded in place when its
#: writer opens it: its rows stay as they are (leaf_hash NULL, their small subtrees still in ``nodes``).
SCHEMA_VERSION = 2

# Durability: WAL journal with synchronous=FULL fsyncs the write-ahead log at
# every commit, so an append that has returned survives a power cut as well as
# a crash. (WAL with synchronous=NORMAL survives a process crash but may lose
# the last commits on power loss — a threat the design names — so it is not
# good enough for "an accepted record is never lost".) WAL also lets
# `qinglian ledger verify` read a consistent snapshot while the agent appends.
WRITER_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA busy_timeout=5000",
)

_TABLES = """
CREATE TABLE IF NOT EXISTS entries (
    idx       INTEGER PRIMARY KEY,  -- 0, 1, 2, ... without gaps
    ts        TEXT NOT NULL,        -- UTC ISO-8601 with Z
    kind      TEXT NOT NULL,
    body      TEXT NOT NULL,        -- canonical JSON
    prev_hash BLOB NOT NULL,
    hash      BLOB NOT NULL,        -- SHA-256(prev_hash || canonical bytes)
    leaf_hash BLOB                  -- RFC 6962 leaf hash, as appended (NULL: appended under version 1)
);
CREATE INDEX IF NOT EXISTS entries_by_kind ON entries (kind, idx);

-- Hash of every perfect Merkle subtree of level >= NODE_MIN_LEVEL, written as
-- it is completed, so any proof needs O(log n) lookups; the smaller ones are
-- folded from at most 2**NODE_MIN_LEVEL entries on demand.
CREATE TABLE IF NOT EXISTS nodes (
    level INTEGER NOT NULL,
    idx   INTEGER NOT NULL,
    hash  BLOB NOT NULL,
    PRIMARY KEY (level, idx)
) WITHOUT ROWID;

-- Signed tree heads.
CREATE TABLE IF NOT EXISTS checkpoints (
    id        INTEGER PRIMARY KEY,
    tree_size INTEGER NOT NULL,
    root_hash BLOB NOT NULL,
    timestamp TEXT NOT NULL,
    signature BLOB NOT NULL
);
"""

# Nothing in the process may rewrite the record, not even by a slip in some
# other module sharing the database. (Someone with the file can drop these
# triggers: that is what the hashes and signatures are for.)
_APPEND_ONLY = "".join(
    f"CREATE TRIGGER IF NOT EXISTS {table}_no_{op.lower()} BEFORE {op} ON {table} "
    f"BEGIN SELECT RAISE(ABORT, '台账只可追加 the ledger is append-only'); END;\n"
    for table in ("entries", "nodes", "checkpoints")
    for op in ("UPDATE", "DELETE")
)

SCHEMA = _TABLES + _APPEND_ONLY

#: Column order of an entry row, as :meth:`Entry.from_row` expects it.
ENTRY_COLUMNS = "idx, ts, kind, body, prev_hash, hash"
#: Every column an append writes.
STORED_COLUMNS = f"{ENTRY_COLUMNS}, leaf_hash"
#: Upgrades a ledger of version 1 (ALTER TABLE fires no trigger and rewrites no row).
UPGRADE_FROM_1 = "ALTER TABLE entries ADD COLUMN leaf_hash BLOB;"


def connect_readonly(db_path: Path) -> sqlite3.Connection:
    """Open the database for reading only, so inspecting a ledger can never alter it.

    The connection is in autocommit mode; wrap reads that must agree with each
    other in ``BEGIN`` … ``COMMIT`` to read one snapshot while the agent appends.
    """
    if not db_path.is_file():
        raise FileNotFoundError(f"找不到台账 no ledger database at {db_path}")
    return sqlite3.connect(f"{db_path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
