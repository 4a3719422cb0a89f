"""The ledger's verification spread over the machine's cores: the same checks as :mod:`edge.ledger.verify`, in
chunks that worker processes check side by side.

Every check of the one-pass verifier is local to a run of entries except where runs meet, so the entries are cut
into chunks of ``2**m`` (the last one shorter), each starting at a multiple of ``2**m``: a chunk is then a perfect
subtree of the Merkle tree, and every stored node of level ``m`` or below belongs to exactly one chunk. A worker
reads its chunk's rows (its own read-only connection) and checks, as the one-pass verifier does, that its indexes
follow on, the chain from its first stored ``prev_hash``, each recorded leaf hash, each stored node of its levels
(and that it stored none other), and each checkpoint signature whose tree size falls in the chunk. What it hands
back is what crosses chunks: its first ``prev_hash`` and last ``hash``, its subtree hashes at the end and at each
checkpoint, and how many node rows it matched. This process then joins them: each chunk's first ``prev_hash`` is
the previous chunk's last ``hash`` (the genesis hash for the first), the nodes above level ``m`` and every
checkpoint's root come from the chunks' subtrees, and the rows matched are every row the snapshot holds.

It only ever says that the whole ledger checked out. Anything else (a failed check, a malformed or truncating
checkpoint, no public key) is left to the one-pass verifier, which names the first failure exactly as it always
has: a tampered ledger costs one parallel pass more, a sound one is verified in a fraction of the time.
"""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from .checkpoint import Checkpoint
from .entry import GENESIS_PREV_HASH
from .entrycheck import EntryCheck, columns
from .merkle import NODE_MIN_LEVEL, Frontier, fold
from .schema import DB_FILENAME, connect_readonly
from .storednodes import StoredNodes

#: Below this many entries the one-pass verifier is done before worker processes have started.
MIN_ENTRIES = 100_000
#: The smallest chunk, and how many chunks per worker at least (so that the shorter last one evens out).
MIN_CHUNK = 4096
CHUNKS_PER_WORKER = 4


def default_workers() -> int:
    """The cores this process may use."""
    return len(os.sched_getaffinity(0))


CheckpointRow = tuple[int, bytes, str, bytes]


@dataclass(frozen=True)
class _Chunk:
    """What a checked chunk hands back: all that crosses chunks."""

    first_prev: bytes
    last_hash: bytes
    subtrees: list[bytes]  # its Merkle frontier at its end: one hash when the chunk is whole
    at_checkpoints: list[list[bytes]]  # its frontier at each checkpoint's tree size, in the order given
    nodes_matched: int


def verified_in_parallel(
    data_dir: Path, key: Ed25519PublicKey | None, workers: int, chunk: int | None = None
) -> tuple[int, int] | None:
    """``(entries, checkpoints)`` when the whole ledger checks out, None when anything does not (or it is too small
    to be worth it); ``chunk``, a power of two, is for tests."""
    if key is None or workers < 2:
        return None
    db = data_dir / DB_FILENAME
    conn = connect_readonly(db)  # FileNotFoundError when there is none, as the one pass raises
    try:
        conn.execute("BEGIN")  # the size, checkpoints and nodes of one snapshot; entries are never changed
        ((size, last),) = conn.execute("SELECT count(*), max(idx) FROM entries")
        if size < (MIN_ENTRIES if chunk is None else 1) or last != size - 1:
            return None
        if chunk is None:  # the largest power of two that makes CHUNKS_PER_WORKER chunks a worker, or MIN_CHUNK
            share = size // (workers * CHUNKS_PER_WORKER)
            chunk = max(MIN_CHUNK, 1 << share.bit_length() - 1 if share else 1)
        level = chunk.bit_length() - 1
        ((version,),) = conn.execute("PRAGMA user_version")
        ((node_rows,),) = conn.execute("SELECT count(*) FROM nodes")
        above = conn.execute("SELECT level, idx, hash FROM nodes WHERE level > ?", (level,)).fetchall()
        checkpoints = conn.execute(
            "SELECT tree_size, root_hash, timestamp, signature FROM checkpoints ORDER BY tree_size, id"
        ).fetchall()
    except sqlite3.DatabaseError:  # not a ledger's database: the one pass says so
        return None
    finally:
        conn.close()
    try:  # a malformed checkpoint, one of size 0 or one past the end: the one-pass verifier says which
        heads = [Checkpoint(*row) for row in checkpoints]
    except (ValueError, TypeError):
        return None
    if any(not 0 < cp.tree_size <= size for cp in heads):
        return None

    starts = range(0, size, chunk)
    # each checkpoint goes to the chunk holding its last entry
    mine: list[list[CheckpointRow]] = [[] for _ in starts]
    for cp in heads:
        mine[(cp.tree_size - 1) // chunk].append((cp.tree_size, cp.root_hash, cp.timestamp, cp.signature))
    raw_key = key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    # A fork starts a worker in milliseconds where a spawn takes a quarter of a second (it imports everything
    # again), but it copies every thread mid-step: a caller with threads (an event loop's, SQLite's) gets spawns.
    start_method = "fork" if threading.active_count() == 1 else "spawn"
    try:
        with ProcessPoolExecutor(
            min(workers, len(starts)), mp_context=multiprocessing.get_context(start_method), initializer=_worker_init
        ) as pool:
            chunks = list(
                pool.map(
                    _check_chunk,
                    [str(db)] * len(starts),
                    [version] * len(starts),
                    starts,
                    [min(start + chunk, size) for start in starts],
                    mine,
                    [raw_key] * len(starts),
                )
            )
    except (BrokenProcessPool, OSError):  # a worker that died or could not start: the one pass does it all
        return None
    checked = [c for c in chunks if c is not None]
    if len(checked) != len(chunks):
        return None
    joined = _joined(checked, mine, level, size >> level)
    if joined is None:
        return None
    matched, recomputed = joined
    # the nodes above the chunks: each stored as recomputed (one below NODE_MIN_LEVEL may be absent, as the one
    # pass allows), none stored that the entries did not produce; with those matched in the chunks, that is
    # every node row of the snapshot
    stored = {(lvl, idx): h for lvl, idx, h in above}
    produced = {(lvl, idx): h for lvl, idx, h in recomputed}
    if any(stored.get(node, h if node[0] < NODE_MIN_LEVEL else None) != h for node, h in produced.items()):
        return None
    if not stored.keys() <= produced.keys() or matched + len(above) != node_rows:
        return None
    return size, len(heads)


def _joined(
    chunks: list[_Chunk], mine: list[list[CheckpointRow]], level: int, whole: int
) -> tuple[int, list[tuple[int, int, bytes]]] | None:
    """The chunks joined: the node rows they matched and the nodes above ``level`` recomputed from the ``whole``
    chunks' roots; None where the chain breaks between two chunks or a checkpoint's root differs."""
    prev = GENESIS_PREV_HASH
    above = Frontier()  # the whole chunks so far, each a leaf of the tree above level ``level``
    matched = 0
    recomputed: list[tuple[int, int, bytes]] = []
    for number, (c, cps) in enumerate(zip(chunks, mine)):
        if c.first_prev != prev:
            return None
        for (_, root, _, _), subtrees in zip(cps, c.at_checkpoints):
            if fold([*above.hashes, *subtrees]) != root:
                return None
        if number < whole:
            recomputed += [(level + up, idx, h) for up, idx, h in above.append(c.subtrees[0])[1:]]
        prev = c.last_hash
        matched += c.nodes_matched
    return matched, recomputed


def _worker_init() -> None:
    """A check of a live edge's ledger is background work: the seal's device link and ledger come first."""
    os.nice(10)


def _check_chunk(
    db: str, version: int, start: int, stop: int, checkpoints: list[CheckpointRow], raw_key: bytes
) -> _Chunk | None:
    """Check the entries ``start`` ≤ index < ``stop`` as :func:`edge.ledger.verify.verify_ledger` does."""
    key = Ed25519PublicKey.from_public_bytes(raw_key)
    if not all(Checkpoint(*row).verify(key) for row in checkpoints):
        return None
    conn = connect_readonly(Path(db))
    try:
        conn.execute("BEGIN")
        rows = conn.execute(
            f"SELECT {columns(version)} FROM entries WHERE idx >= ? AND idx < ? ORDER BY idx", (start, stop)
        )
        walk = EntryCheck(StoredNodes(conn, start, stop), start)  # the first link is checked where chunks join
        due = iter(checkpoints)
        next_cp = next(due, None)
        at_checkpoints: list[list[bytes]] = []
        for row in rows:
            if walk.check(row) is not None:
                return None
            while next_cp is not None and next_cp[0] == walk.expected:
                at_checkpoints.append(walk.frontier.hashes)
                next_cp = next(due, None)
        if walk.expected != stop or next_cp is not None or walk.first_prev is None or walk.prev is None:
            return None
        return _Chunk(walk.first_prev, walk.prev, walk.frontier.hashes, at_checkpoints, walk.nodes.matched)
    except sqlite3.DatabaseError:
        return None
    finally:
        conn.close()
