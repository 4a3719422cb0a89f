"""The append-only ledger in SQLite (aiosqlite): hash chain, Merkle proofs, signed checkpoints.

One :class:`Ledger` per data directory and process. It keeps the chain head
and the Merkle frontier in memory, so an append costs a few hashes and one
transaction. Each entry row holds its leaf hash, and every perfect subtree of
level :data:`~edge.ledger.merkle.NODE_MIN_LEVEL` or more is written with the
entry that completes it; a proof folds the smaller ones from at most
``2**NODE_MIN_LEVEL`` entries, which keeps proofs at O(log n) lookups.

Other processes read the same ledger through :meth:`Ledger.open_reader`: the
same queries and proofs on a read-only connection, without the signing key.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import aiosqlite
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from edge.ledger.private import create_private

from .checkpoint import Checkpoint
from .entry import (
    GENESIS_PREV_HASH,
    Entry,
    canonical_text,
    chain_hash,
    check_kind,
    decode_body,
    encode_entry,
    utc_now,
)
from .keys import PUBLIC_KEY_FILENAME, load_or_create_signing_key, load_public_key
from .merkle import (
    EMPTY_ROOT,
    NODE_MIN_LEVEL,
    Frontier,
    LeafRange,
    NodeId,
    consistency_proof_ranges,
    fold_small,
    inclusion_proof_ranges,
    kept_subtrees,
    leaf_hash,
    nodes_for_ranges,
    range_hash,
    split_kept,
)
from .schema import DB_FILENAME, ENTRY_COLUMNS, SCHEMA, SCHEMA_VERSION, STORED_COLUMNS, UPGRADE_FROM_1, WRITER_PRAGMAS

DEFAULT_CHECKPOINT_EVERY = 64


class LedgerError(Exception):
    """The ledger cannot be used as asked (closed, wrong schema, missing key or proof data)."""


def _prepare(kind: object, body: Mapping[str, Any]) -> tuple[str, str, bool]:
    """Validate one entry before anything is written: ``(kind, canonical body JSON, written by orjson)``."""
    return (check_kind(kind), *canonical_text(body))


class Ledger:
    """Append-only, tamper-evident record of seal events and module decisions.

    Use :meth:`open`; all methods are coroutines and safe to call from many
    tasks of one event loop. Every operation on the database is serialised by
    one lock, so readers never see an append that has not committed. A second
    writer process would hold a stale chain head: its appends fail on the
    primary key (nothing is overwritten), so run one ledger-writing process.
    """

    def __init__(
        self,
        conn: aiosqlite.Connection,
        data_dir: Path,
        key: Ed25519PrivateKey | None,
        public_key: Ed25519PublicKey,
        checkpoint_every: int,
        frontier: Frontier,
        last_hash: bytes,
        latest_checkpoint: Checkpoint | None,
    ) -> None:
        self._conn: aiosqlite.Connection | None = conn
        self._data_dir = data_dir
        self._key = key  # None for a reader
        self._public_key = public_key
        self._checkpoint_every = checkpoint_every
        self._frontier = frontier
        self._last_hash = last_hash
        self._latest_checkpoint = latest_checkpoint
        self._lock = asyncio.Lock()

    @classmethod
    async def open(cls, data_dir: Path, *, checkpoint_every: int = DEFAULT_CHECKPOINT_EVERY) -> Ledger:
        """Open (creating on first use) the ledger and its signing key in ``data_dir``.

        A checkpoint is signed automatically whenever the size reaches a
        multiple of ``checkpoint_every``, and on :meth:`close`.
        """
        if type(checkpoint_every) is not int or checkpoint_every < 1:
            raise ValueError(f"checkpoint_every 必须是正整数 must be a positive integer, got {checkpoint_every!r}")
        data_dir = Path(data_dir)
        create_private(data_dir / DB_FILENAME)
        # Autocommit (isolation_level=None): a lone INSERT is its own transaction, durable (synchronous=FULL)
        # when the statement returns, so most single appends make one round trip to aiosqlite's thread
        # instead of two (an INSERT, then a COMMIT; each trip costs ~0.15 ms on a 2-core VM). A write of
        # more rows opens its transaction itself (BEGIN IMMEDIATE).
        conn = await aiosqlite.connect(data_dir / DB_FILENAME, isolation_level=None)
        try:
            for pragma in WRITER_PRAGMAS:
                await conn.execute(pragma)
            ((version,),) = await conn.execute_fetchall("PRAGMA user_version")
            if version not in (0, 1, SCHEMA_VERSION):
                raise LedgerError(f"台账格式版本 {version} 不支持 unsupported ledger schema version {version}")
            upgrade = UPGRADE_FROM_1 if version == 1 else ""
            await conn.executescript(f"BEGIN IMMEDIATE;{SCHEMA}{upgrade}PRAGMA user_version={SCHEMA_VERSION};COMMIT;")
            frontier, last_hash, latest = await _read_head(conn)
            # A fresh key is fine while nothing has been signed; once checkpoints
            # exist, a new key would make every one of them look forged.
            try:
                key = load_or_create_signing_key(data_dir, create=latest is None)
            except FileNotFoundError as exc:
                raise LedgerError(f"{exc}; 已有签名检查点 the ledger already has signed checkpoints") from None
            if latest is not None and not latest.verify(key.public_key()):
                raise LedgerError("签名密钥与台账检查点不符 the signing key did not sign this ledger's checkpoints")
        except BaseException:
            await conn.close()
            raise
        return cls(conn, data_dir, key, key.public_key(), checkpoint_every, frontier, last_hash, latest)

    @classmethod
    async def open_reader(cls, data_dir: Path) -> Ledger:
        """Open an existing ledger read-only, alongside its writer: it never writes, creates or signs.

        A reader sees the ledger as it was at the last :meth:`refresh` (done here): size, frontier
        and latest checkpoint stay put until the next one, so its answers agree with one state of
        the log. It needs only ``ledger_pub.pem``, not the signing key. ``FileNotFoundError`` if
        there is no ledger, :class:`LedgerError` if the public key did not sign its checkpoints.
        """
        data_dir = Path(data_dir)
        db_path = data_dir / DB_FILENAME
        if not db_path.is_file():
            raise FileNotFoundError(f"找不到台账 no ledger database at {db_path}")
        public_key = load_public_key(data_dir / PUBLIC_KEY_FILENAME)
        # Autocommit (isolation_level=None), so refresh() can read one snapshot between BEGIN and COMMIT.
        conn = await aiosqlite.connect(f"{db_path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
        try:
            ((version,),) = await conn.execute_fetchall("PRAGMA user_version")
            if version not in (1, SCHEMA_VERSION):  # a version-1 ledger reads alike: proofs fold from the entries
                raise LedgerError(f"台账格式版本 {version} 不支持 unsupported ledger schema version {version}")
            ledger = cls(
                conn, data_dir, None, public_key, DEFAULT_CHECKPOINT_EVERY, Frontier(), GENESIS_PREV_HASH, None
            )
            await ledger.refresh()
        except BaseException:
            await conn.close()
            raise
        return ledger

    @property
    def read_only(self) -> bool:
        """Whether this is a reader (:meth:`open_reader`), which cannot append or sign."""
        return self._key is None

    async def refresh(self) -> None:
        """A reader: catch up with what the writer has committed since. (The writer is always current.)"""
        if self._key is not None:
            return
        async with self._lock:
            conn = self._connection()
            await conn.execute("BEGIN")
            try:
                frontier, last_hash, latest = await _read_head(conn)
            finally:
                await conn.execute("COMMIT")
            if latest is not None and not latest.verify(self._public_key):
                raise LedgerError(
                    f"{PUBLIC_KEY_FILENAME} 未签署此台账的检查点 {PUBLIC_KEY_FILENAME} did not sign this ledger's checkpoints"
                )
            self._frontier, self._last_hash, self._latest_checkpoint = frontier, last_hash, latest

    async def __aenter__(self) -> Ledger:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    @property
    def data_dir(self) -> Path:
        return self._data_dir

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self._public_key

    def _connection(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise LedgerError("台账已关闭 the ledger is closed")
        return self._conn

    def _signing_key(self) -> Ed25519PrivateKey:
        if self._key is None:
            raise LedgerError("只读打开的台账不能写入或签名 a ledger opened for reading cannot append or sign")
        return self._key

    # -- writing -----------------------------------------------------------

    async def append(self, kind: str, body: Mapping[str, Any]) -> Entry:
        """Append one entry; it is durably committed when this returns.

        ``ValueError`` (and nothing written) if ``body`` is not a JSON object of
        strings, integers, booleans, null, lists and objects — floats included.
        """
        prepared = _prepare(kind, body)
        # Shielded: once the write has started, cancelling the caller must not
        # leave a committed entry that the in-memory chain head does not know.
        entries = await asyncio.shield(self._append_prepared([prepared]))
        return entries[0]

    async def append_many(self, items: Iterable[tuple[str, Mapping[str, Any]]]) -> list[Entry]:
        """Append a batch in one transaction: all entries or, on any invalid item, none."""
        prepared = []
        for position, (kind, body) in enumerate(items):
            try:
                prepared.append(_prepare(kind, body))
            except ValueError as exc:
                raise ValueError(f"第 {position} 项 item {position}: {exc}") from None
        if not prepared:
            return []
        return await asyncio.shield(self._append_prepared(prepared))

    async def _append_prepared(self, prepared: list[tuple[str, str, bool]]) -> list[Entry]:
        async with self._lock:
            conn = self._connection()
            key = self._signing_key()
            # Work on copies and adopt them only after COMMIT, so a failed
            # write leaves the ledger exactly as it was.
            frontier = self._frontier.copy()
            prev_hash = self._last_hash
            ts = utc_now()
            entry_rows: list[tuple[int, str, str, str, bytes, bytes, bytes]] = []
            node_rows: list[tuple[int, int, bytes]] = []
            heads: list[tuple[int, bytes]] = []
            for kind, body_json, _ in prepared:
                index = frontier.size
                data = encode_entry(index, ts, kind, body_json)
                entry_hash = chain_hash(prev_hash, data)
                leaf = leaf_hash(data)
                entry_rows.append((index, ts, kind, body_json, prev_hash, entry_hash, leaf))
                node_rows.extend(kept_subtrees(frontier.append(leaf)))
                if frontier.size % self._checkpoint_every == 0:
                    heads.append((frontier.size, frontier.root()))
                prev_hash = entry_hash
            checkpoints = [Checkpoint.sign(key, size, root) for size, root in heads]

            insert = f"INSERT INTO entries ({STORED_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)"
            try:
                if len(entry_rows) == 1 and not node_rows and not checkpoints:
                    await conn.execute(insert, entry_rows[0])  # its own transaction: see open()
                else:
                    await conn.execute("BEGIN IMMEDIATE")
                    await conn.executemany(insert, entry_rows)
                    if node_rows:
                        await conn.executemany("INSERT INTO nodes (level, idx, hash) VALUES (?, ?, ?)", node_rows)
                    if checkpoints:
                        await _insert_checkpoints(conn, checkpoints)
                    await conn.commit()
            except BaseException:
                await conn.rollback()  # a no-op when no transaction is open (the lone INSERT wrote nothing)
                raise
            self._frontier = frontier
            self._last_hash = prev_hash
            if checkpoints:
                self._latest_checkpoint = checkpoints[-1]
            return [
                Entry.made(index, ts, kind, decode_body(body_json, exact=exact), prev, entry_hash)
                for (index, ts, kind, body_json, prev, entry_hash, _), (_, _, exact) in zip(entry_rows, prepared)
            ]

    async def checkpoint(self) -> Checkpoint:
        """Sign and store the current tree head (or return the latest one if nothing was appended since)."""
        return await asyncio.shield(self._checkpoint())

    async def _checkpoint(self) -> Checkpoint:
        async with self._lock:
            return await self._checkpoint_locked()

    async def _checkpoint_locked(self) -> Checkpoint:
        conn = self._connection()
        latest = self._latest_checkpoint
        if latest is not None and latest.tree_size == self._frontier.size:
            return latest
        checkpoint = Checkpoint.sign(self._signing_key(), self._frontier.size, self._frontier.root())
        await _insert_checkpoints(conn, [checkpoint])  # one row, its own transaction (autocommit: see open())
        self._latest_checkpoint = checkpoint
        return checkpoint

    async def close(self) -> None:
        """Checkpoint whatever the last checkpoint does not cover, then close. Idempotent."""
        async with self._lock:
            if self._conn is None:
                return
            latest = self._latest_checkpoint
            if self._key is not None and self._frontier.size > (0 if latest is None else latest.tree_size):
                await self._checkpoint_locked()
            await self._conn.close()
            self._conn = None

    # -- reading -----------------------------------------------------------

    async def size(self) -> int:
        """Number of committed entries."""
        return self._frontier.size

    async def latest_checkpoint(self) -> Checkpoint | None:
        """The most recent signed tree head, if any."""
        return self._latest_checkpoint

    async def entry(self, index: int) -> Entry:
        """Entry ``index``; ``IndexError`` if there is none."""
        entries = await self.entries(index, index + 1) if index >= 0 else []
        if not entries:
            raise IndexError(f"没有第 {index} 条 no ledger entry {index}")
        return entries[0]

    async def entries(self, start: int = 0, stop: int | None = None) -> list[Entry]:
        """Entries ``start`` ≤ index < ``stop`` (default: to the end), in order."""
        async with self._lock:
            conn = self._connection()
            if start < 0 or (stop is not None and stop < start):
                raise ValueError(f"无效范围 invalid entry range [{start}, {stop})")
            end = self._frontier.size if stop is None else min(stop, self._frontier.size)
            rows = await conn.execute_fetchall(
                f"SELECT {ENTRY_COLUMNS} FROM entries WHERE idx >= ? AND idx < ? ORDER BY idx", (start, end)
            )
        return [Entry.from_row(row) for row in rows]

    async def entries_at(self, indexes: Iterable[int]) -> list[Entry]:
        """The entries at ``indexes`` that exist, in index order, in one query (a page's few scattered entries)."""
        wanted = json.dumps(sorted({int(i) for i in indexes}))
        async with self._lock:
            rows = await self._connection().execute_fetchall(
                f"SELECT {ENTRY_COLUMNS} FROM entries WHERE idx IN (SELECT value FROM json_each(?)) AND idx < ? "
                "ORDER BY idx",
                (wanted, self._frontier.size),
            )
        return [Entry.from_row(row) for row in rows]

    async def entries_of_kind(self, kind: str) -> list[Entry]:
        """All entries of one kind, in order."""
        async with self._lock:
            rows = await self._connection().execute_fetchall(
                f"SELECT {ENTRY_COLUMNS} FROM entries WHERE kind = ? ORDER BY idx", (kind,)
            )
        return [Entry.from_row(row) for row in rows]

    # -- Merkle tree -------------------------------------------------------

    def _check_tree_size(self, tree_size: int) -> None:
        if not 0 <= tree_size <= self._frontier.size:
            raise ValueError(f"树大小 {tree_size} 超出台账 tree size {tree_size} outside 0..{self._frontier.size}")

    async def _range_hashes(self, ranges: list[LeafRange]) -> list[bytes]:
        async with self._lock:
            found = await _fetch_nodes(self._connection(), nodes_for_ranges(ranges))
        return [range_hash(start, end, found.__getitem__) for start, end in ranges]

    async def root_hash(self, tree_size: int | None = None) -> bytes:
        """Merkle root of the first ``tree_size`` entries (default: all)."""
        if tree_size is None:
            return self._frontier.root()
        self._check_tree_size(tree_size)
        if tree_size == 0:
            return EMPTY_ROOT
        (root,) = await self._range_hashes([(0, tree_size)])
        return root

    async def inclusion_proof(self, index: int, tree_size: int) -> list[bytes]:
        """Audit path of entry ``index`` in the tree of the first ``tree_size`` entries."""
        self._check_tree_size(tree_size)
        return await self._range_hashes(inclusion_proof_ranges(index, tree_size))

    async def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]:
        """Proof that the tree of ``new_size`` entries extends the tree of ``old_size`` entries."""
        self._check_tree_size(new_size)
        return await self._range_hashes(consistency_proof_ranges(old_size, new_size))


async def _read_head(conn: aiosqlite.Connection) -> tuple[Frontier, bytes, Checkpoint | None]:
    """The ledger's end as stored: Merkle frontier, chain head and latest checkpoint."""
    last = list(await conn.execute_fetchall("SELECT idx, hash FROM entries ORDER BY idx DESC LIMIT 1"))
    size, last_hash = (last[0][0] + 1, last[0][1]) if last else (0, GENESIS_PREV_HASH)
    frontier_nodes = Frontier.nodes_for_size(size)
    found = await _fetch_nodes(conn, frontier_nodes)
    frontier = Frontier(size, [found[node] for node in frontier_nodes])
    cp_rows = list(
        await conn.execute_fetchall(
            "SELECT tree_size, root_hash, timestamp, signature FROM checkpoints ORDER BY tree_size DESC, id DESC LIMIT 1"
        )
    )
    return frontier, last_hash, Checkpoint(*cp_rows[0]) if cp_rows else None


async def _leaf_hashes(conn: aiosqlite.Connection, start: int, stop: int) -> dict[int, bytes]:
    """Leaf hashes of the entries ``start`` ≤ index < ``stop`` that exist, from their stored bytes.

    Hashed from the entry, not read from its ``leaf_hash``: a proof speaks for the entry as it is stored, and
    an entry appended under version 1 has none. (``qinglian ledger verify`` compares the two.)
    """
    rows = await conn.execute_fetchall("SELECT idx, ts, kind, body FROM entries WHERE idx >= ? AND idx < ?", (start, stop))
    return {idx: leaf_hash(encode_entry(idx, ts, kind, body)) for idx, ts, kind, body in rows}


async def _insert_checkpoints(conn: aiosqlite.Connection, checkpoints: list[Checkpoint]) -> None:
    await conn.executemany(
        "INSERT INTO checkpoints (tree_size, root_hash, timestamp, signature) VALUES (?, ?, ?, ?)",
        [(cp.tree_size, cp.root_hash, cp.timestamp, cp.signature) for cp in checkpoints],
    )


async def _fetch_nodes(conn: aiosqlite.Connection, nodes: Iterable[NodeId]) -> dict[NodeId, bytes]:
    """Subtree hashes: stored ones in one indexed query, small ones folded from their entries (one query
    per aligned block of ``2**NODE_MIN_LEVEL`` entries they lie in); ``LedgerError`` if any is missing."""
    wanted = list(nodes)
    high, low = split_kept(wanted)
    found: dict[NodeId, bytes] = {}
    if high:
        # A join on a VALUES list uses the primary key; "(level, idx) IN (VALUES ...)" scans the table.
        values = ",".join("(?, ?)" for _ in high)
        params = [n for node in high for n in node]
        rows = await conn.execute_fetchall(
            f"SELECT n.level, n.idx, n.hash FROM (VALUES {values}) AS v "
            "CROSS JOIN nodes AS n ON n.level = v.column1 AND n.idx = v.column2",
            params,
        )
        found.update(((level, idx), hash_) for level, idx, hash_ in rows)
    leaves: dict[int, bytes] = {}
    for block in sorted({idx << level >> NODE_MIN_LEVEL for level, idx in low}):
        start = block << NODE_MIN_LEVEL
        leaves.update(await _leaf_hashes(conn, start, start + (1 << NODE_MIN_LEVEL)))
    found.update(fold_small(low, leaves))
    missing = [node for node in wanted if node not in found]
    if missing:
        raise LedgerError(
            f"证明缓存缺少节点 proof nodes missing from the database: {missing[:5]}; run `qinglian ledger verify`"
        )
    return found
