"""Offline verification of a ledger directory: recompute everything from the stored bytes.

One streaming pass over the entries (stdlib ``sqlite3``, one read snapshot,
so it can run while the agent appends) checks, in index order:

* indexes are contiguous from 0 (nothing removed from the middle);
* each ``prev_hash`` is the previous entry's ``hash`` and each ``hash`` is
  SHA-256(prev_hash || canonical bytes) — any changed byte of ts, kind, body
  or hash shows here;
* each entry's leaf hash recorded at append time (its ``leaf_hash``, or for
  an entry appended under schema version 1 its level-0 node) equals the one
  recomputed, so an entry rewritten together with the rest of the chain is
  still caught at its own index;
* each stored proof node equals the one recomputed, and none of level
  ``NODE_MIN_LEVEL`` or more is missing;
* each checkpoint, when the pass reaches its tree size: its Ed25519 signature
  under the ledger's public key and its root against the Merkle root of the
  entries so far (the root comes from the running :class:`Frontier`, so
  thousands of checkpoints cost nothing extra);
* at the end, that no checkpoint or proof node speaks of entries beyond the
  last one (the tail was cut off).

The first failure stops the pass and is reported.
"""

from __future__ import annotations

import math
import sqlite3
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from .checkpoint import Checkpoint
from .entry import GENESIS_PREV_HASH
from .entrycheck import EntryCheck, columns
from .keys import PUBLIC_KEY_FILENAME, load_public_key
from .schema import DB_FILENAME, connect_readonly
from .storednodes import StoredNodes
from .verify_parallel import default_workers, verified_in_parallel


@dataclass(frozen=True)
class VerifyReport:
    """Outcome of :func:`verify_ledger`.

    ``entries`` and ``checkpoints`` count what checked out before the pass
    stopped. ``first_bad_index`` is the first entry the ledger can no longer
    vouch for: the changed or missing entry, or — when a checkpoint's signed
    root disagrees with entries whose chain was rewritten consistently — the
    first entry after the last good checkpoint. It is ``None`` when the
    entries are sound but a checkpoint is not; ``bad_checkpoint`` then names
    that checkpoint by its tree size.
    """

    ok: bool
    entries: int
    checkpoints: int
    first_bad_index: int | None
    reason: str
    bad_checkpoint: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _stored_public_key(data_dir: Path) -> tuple[Ed25519PublicKey | None, str]:
    path = data_dir / PUBLIC_KEY_FILENAME
    try:
        return load_public_key(path), ""
    except (OSError, ValueError) as exc:
        return None, f"无法读取公钥 cannot read the public key {path}: {exc}"


def verify_ledger(
    data_dir: Path, public_key: Ed25519PublicKey | None = None, *, workers: int | None = None
) -> VerifyReport:
    """Verify the ledger in ``data_dir`` against ``public_key`` (default: its ``ledger_pub.pem``).

    Pass the key the central store registered to catch a ledger re-signed with
    a substituted key pair. ``FileNotFoundError`` if there is no ledger.

    A large ledger is first checked on ``workers`` processes (default: one per
    core; :mod:`edge.ledger.verify_parallel`); unless that finds it all sound,
    the one pass below runs and names the first failure.
    """
    data_dir = Path(data_dir)
    key, key_problem = (public_key, "") if public_key is not None else _stored_public_key(data_dir)
    sound = verified_in_parallel(data_dir, key, default_workers() if workers is None else workers)
    if sound is not None:
        return VerifyReport(True, *sound, None, _intact(*sound))
    conn = connect_readonly(data_dir / DB_FILENAME)
    try:
        conn.execute("BEGIN")  # every cursor below reads the same snapshot
        return _verify_snapshot(conn, key, key_problem)
    finally:
        conn.close()


def _verify_snapshot(conn: sqlite3.Connection, key: Ed25519PublicKey | None, key_problem: str) -> VerifyReport:
    entries = 0  # entries checked so far == index expected next
    checkpoints = 0
    good_size = 0  # tree size vouched for by the last good checkpoint

    def failed(first_bad_index: int | None, reason: str, bad_checkpoint: int | None = None) -> VerifyReport:
        return VerifyReport(False, entries, checkpoints, first_bad_index, reason, bad_checkpoint)

    try:
        nodes = StoredNodes(conn)
        walk = EntryCheck(nodes, 0, GENESIS_PREV_HASH)
        frontier = walk.frontier
        cp_rows = conn.execute(
            "SELECT tree_size, root_hash, timestamp, signature FROM checkpoints ORDER BY tree_size, id"
        )
        cp_row = next(cp_rows, None)
        next_due: float = 0  # the entry count at which check_checkpoints() has work next

        def check_checkpoints() -> VerifyReport | None:
            """Check the checkpoints of the tree size reached so far (and malformed ones, which sort elsewhere)."""
            nonlocal cp_row, checkpoints, good_size, next_due
            while cp_row is not None and not (type(cp_row[0]) is int and cp_row[0] > entries):
                size = cp_row[0]
                try:
                    checkpoint = Checkpoint(*cp_row)
                except ValueError as exc:
                    return failed(None, f"检查点格式错误 malformed checkpoint (tree size {size!r}): {exc}", size)
                if checkpoint.tree_size != entries:
                    return failed(None, f"检查点顺序错误 checkpoint tree size {size} out of order", size)
                if key is None:
                    return failed(None, key_problem, size)
                if not checkpoint.verify(key):
                    return failed(None, f"检查点签名无效 checkpoint at tree size {size}: invalid signature", size)
                if checkpoint.root_hash != frontier.root():
                    return failed(
                        good_size,
                        f"检查点根哈希与条目不符 checkpoint at tree size {size}: the signed root differs from "
                        f"entries {good_size}..{size - 1} — the chain was rewritten",
                        size,
                    )
                checkpoints += 1
                good_size = size
                cp_row = next(cp_rows, None)
            next_due = math.inf if cp_row is None else cp_row[0] if type(cp_row[0]) is int else 0
            return None

        ((version,),) = conn.execute("PRAGMA user_version")
        rows = conn.execute(f"SELECT {columns(version)} FROM entries ORDER BY idx")
        for row in rows:
            if entries >= next_due and (bad := check_checkpoints()) is not None:
                return bad
            if (problem := walk.check(row)) is not None:
                return failed(problem.first_bad_index, problem.reason)
            entries += 1
        if (bad := check_checkpoints()) is not None:
            return bad

        if cp_row is not None:
            return failed(
                entries,
                f"台账被截短 ledger truncated: {entries} entries left but a checkpoint signed {cp_row[0]}",
                cp_row[0],
            )
        extra = nodes.leftover()
        if extra is not None:
            return failed(
                entries,
                f"台账被截短 ledger truncated: proof node (level {extra[0]}, index {extra[1]}) "
                f"covers entries beyond the last one ({entries - 1})",
            )
    except sqlite3.DatabaseError as exc:
        return failed(entries, f"数据库无法读取 database unreadable at entry {entries}: {exc}")
    return VerifyReport(
        True,
        entries,
        checkpoints,
        None,
        _intact(entries, checkpoints),
    )


def _intact(entries: int, checkpoints: int) -> str:
    return f"台账完好 ledger intact: {entries} 条目 entries, {checkpoints} 个检查点 checkpoints"
