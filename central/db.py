"""The central store's schema and database connection: one SQLAlchemy Core code path for SQLite and PostgreSQL.

``--db sqlite:///path`` runs on aiosqlite (WAL, ``synchronous=FULL``: a batch
acknowledged to an edge survives a power cut; the file, and any folder made for
it, readable by the store's user alone), ``--db postgresql://...`` on asyncpg.
The tables, queries and transactions are the same text on both; the only
dialect-specific lines are the connection settings below and the choice of
``ON CONFLICT`` construct in :func:`upsert`.

Every write that must see a consistent state of one edge (an ingest, a flag)
runs in a transaction that first locks the edge's row: ``SELECT ... FOR
UPDATE`` on PostgreSQL, and on SQLite the whole database by ``BEGIN
IMMEDIATE`` (SQLite has one writer at a time anyway, and an immediate
transaction waits for it instead of failing on the upgrade from read to write).
On SQLite the process's write transactions also queue for one lock
(:class:`Writer`) before they open a connection: SQLite's busy handler polls
and is not fair, so fifty requests writing at once made some wait past the
busy timeout and fail with "database is locked"; queued in the process they
take turns in order, and the busy timeout only covers another process (a CLI
beside the server). PostgreSQL keeps its concurrent writers.
Readers use a separate engine with ordinary deferred transactions, so views
never wait for an ingest.
"""

from __future__ import annotations

import asyncio
import os
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Insert,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from edge.ledger.private import FILE_MODE, create_private

metadata = MetaData()

#: One row per enrolled edge: who it is, its key, and the state of its log at the store.
edges = Table(
    "edges",
    metadata,
    Column("edge_id", String(64), primary_key=True),
    Column("village", Text, nullable=False),
    Column("township", Text, nullable=False),
    Column("county", Text, nullable=False),
    Column("public_key", Text, nullable=False),  # PEM, SubjectPublicKeyInfo
    Column("key_id", String(64), nullable=False, unique=True),
    Column("enrolled_at", Text, nullable=False),
    # The log as held: entries [0, size), the last chain hash, the Merkle
    # frontier (one 32-byte hash per set bit of size, largest subtree first).
    # size is always the tree size of the last accepted checkpoint.
    Column("size", BigInteger, nullable=False, default=0),
    Column("last_hash", LargeBinary, nullable=False),
    Column("frontier", LargeBinary, nullable=False),
    Column("last_checkpoint_id", BigInteger, nullable=True),
    Column("last_sync_at", Text, nullable=True),
    Column("config_hash", String(64), nullable=True),  # the merged config the edge says it holds
    # Set only on evidence signed with the edge's own key (a rewritten or forked history).
    Column("flagged", Boolean, nullable=False, default=False),
    Column("flag_code", Text, nullable=True),
    Column("flag_reason", Text, nullable=True),
    Column("flagged_at", Text, nullable=True),
    Index("edges_by_place", "county", "township", "village"),
)

#: The entries, exactly once: keyed by (edge, index).
entries = Table(
    "entries",
    metadata,
    Column("edge_id", String(64), nullable=False),
    Column("idx", BigInteger, nullable=False),
    Column("ts", Text, nullable=False),  # UTC ISO-8601 with Z, as the edge wrote it
    Column("kind", Text, nullable=False),
    Column("body", Text, nullable=False),  # canonical JSON
    Column("hash", LargeBinary, nullable=False),  # chain hash
    Column("leaf_hash", LargeBinary, nullable=False),  # RFC 6962 leaf hash of the canonical bytes
    Column("day", String(10), nullable=False),  # the entry's date in Asia/Shanghai, for views by period
    Column("flag", Text, nullable=True),  # the anomaly the entry reports, if any
    PrimaryKeyConstraint("edge_id", "idx"),
    Index("entries_by_kind_day", "kind", "day"),
    Index("entries_by_flag_day", "flag", "day"),
)

#: Perfect Merkle subtrees of level >= NODE_MIN_LEVEL (smaller ones are folded from leaf hashes on demand).
nodes = Table(
    "nodes",
    metadata,
    Column("edge_id", String(64), nullable=False),
    Column("level", Integer, nullable=False),
    Column("idx", BigInteger, nullable=False),
    Column("hash", LargeBinary, nullable=False),
    PrimaryKeyConstraint("edge_id", "level", "idx"),
)

#: Every checkpoint the store accepted: it is the witness.
checkpoints = Table(
    "checkpoints",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("edge_id", String(64), nullable=False),
    Column("tree_size", BigInteger, nullable=False),
    Column("root_hash", LargeBinary, nullable=False),
    Column("timestamp", Text, nullable=False),
    Column("signature", LargeBinary, nullable=False),
    Column("received_at", Text, nullable=False),
    UniqueConstraint("edge_id", "tree_size", "timestamp", name="checkpoints_once"),
    Index("checkpoints_by_edge", "edge_id", "tree_size"),
)

#: Every refused push or request signed by an enrolled key (the edge's own, or another edge's that pushed in
#: its name), one row each: the evidence supervisors read. Unsigned refusals are only counted (below).
refusals = Table(
    "refusals",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("edge_id", String(64), nullable=False),  # as claimed by the request
    Column("at", Text, nullable=False),
    Column("code", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("authenticated", Boolean, nullable=False),  # signed with the edge's enrolled key
    Column("signer_edge", String(64), nullable=True),  # an enrolled edge whose key signed it instead
    Column("from_index", BigInteger, nullable=True),
    Column("tree_size", BigInteger, nullable=True),
    Index("refusals_by_edge", "edge_id", "at"),
)

#: Refused requests that no enrolled key signed, counted instead of stored one by one: a row per source, edge
#: claimed and reason, so junk from the network can neither grow the table per request nor push the signed
#: refusals (in ``refusals``) out of the supervisors' view.
refusal_counts = Table(
    "refusal_counts",
    metadata,
    Column("source", String(64), nullable=False),  # the client's address, or the overflow source past the cap
    Column("edge_id", String(64), nullable=False),  # the enrolled edge the requests claimed; "" for none enrolled
    Column("code", String(32), nullable=False),
    Column("count", BigInteger, nullable=False),
    Column("first_at", Text, nullable=False),
    Column("last_at", Text, nullable=False),
    Column("last_claimed", String(64), nullable=False),  # the edge id the latest of them claimed
    Column("reason", Text, nullable=False),  # the latest of them's
    PrimaryKeyConstraint("source", "edge_id", "code"),
)

#: Versioned configuration documents per scope (county / township / village) and kind.
config_docs = Table(
    "config_docs",
    metadata,
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("scope_level", String(16), nullable=False),
    Column("scope_name", Text, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("version", Integer, nullable=False),
    Column("content", Text, nullable=False),  # canonical JSON
    Column("sha256", String(64), nullable=False),
    Column("published_at", Text, nullable=False),
    Column("published_by", Text, nullable=True),
    UniqueConstraint("scope_level", "scope_name", "kind", "version", name="config_docs_version"),
)

#: Read-only supervisor access until accounts arrive: a token (stored hashed) per county or township.
supervisor_tokens = Table(
    "supervisor_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("scope_level", String(16), nullable=False),
    Column("scope_name", Text, nullable=False),
    Column("label", Text, nullable=False),
    Column("created_at", Text, nullable=False),
)

#: Signed documents from the central's decision log for one village's edge (:mod:`central.decisions`), each
#: delivered once: pending until the edge's verified ledger shows it applied (or refused) it.
documents = Table(
    "documents",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("edge_id", String(64), nullable=False),
    Column("kind", Text, nullable=False),
    Column("decision_index", BigInteger, nullable=False),  # in the central's decision log
    Column("content", Text, nullable=False),  # the signed document, canonical JSON
    Column("status", String(16), nullable=False),  # pending | applied | refused
    Column("settled_at", Text, nullable=True),
    Column("edge_index", BigInteger, nullable=True),  # the edge's ledger entry that applied or refused it
    Column("reason", Text, nullable=True),  # why the edge refused it
    Index("documents_by_edge", "edge_id", "status", "decision_index"),
)

#: Verified entries a central part's reaction failed on (:mod:`central.decisions.delivery`): handed to it again, in
#: order, before the edge's next new entries until it takes them; an administrator sees them in the status.
reaction_failures = Table(
    "reaction_failures",
    metadata,
    Column("edge_id", String(64), nullable=False),
    Column("idx", BigInteger, nullable=False),  # the entry's index in the edge's ledger
    Column("kind", Text, nullable=False),
    Column("error", Text, nullable=False),  # the last failure, as logged
    Column("attempts", Integer, nullable=False),
    Column("failed_at", Text, nullable=False),  # UTC ISO-8601, the last failure
    # Decisions the failed reaction had logged: they stand (the log is append-only), so it is not handed again
    # (it would decide twice); an administrator repairs the part's rows by hand.
    Column("decisions", Integer, nullable=False),
    PrimaryKeyConstraint("edge_id", "idx"),
)

#: Schema version, for the day the tables change.
meta = Table(
    "central_meta",
    metadata,
    Column("key", String(32), primary_key=True),
    Column("value", Text, nullable=False),
)

SCHEMA_VERSION = "1"


class DatabaseURLError(ValueError):
    """A ``--db`` value that is neither a SQLite nor a PostgreSQL URL."""


#: Set while the current task holds the write lock: a write transaction opened inside another one does not wait
#: for itself (SQLite then answers it as before: busy until the outer one ends). A task started inside one inherits
#: the mark and writes as SQLite alone lets it, so a holder waiting for such a task cannot wait for ever.
_holding: ContextVar[bool] = ContextVar("central_db_holding_write_lock", default=False)


@dataclass(frozen=True)
class Writer:
    """The write engine: ``begin()`` is a write transaction, as ``AsyncEngine.begin()`` is. With ``serial`` (SQLite)
    the process's write transactions take turns, first come first served, behind one lock per event loop (an
    asyncio lock belongs to the loop that waits on it; a store opened by one ``asyncio.run`` may be used by
    another)."""

    engine: AsyncEngine
    serial: bool
    _locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = field(
        default_factory=weakref.WeakKeyDictionary, compare=False, repr=False
    )

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncConnection]:
        if not self.serial or _holding.get():
            async with self.engine.begin() as conn:
                yield conn
            return
        lock = self._locks.setdefault(asyncio.get_running_loop(), asyncio.Lock())
        async with lock:
            held = _holding.set(True)
            try:
                async with self.engine.begin() as conn:
                    yield conn
            finally:
                _holding.reset(held)

    async def dispose(self) -> None:
        await self.engine.dispose()


@dataclass(frozen=True)
class Database:
    """The engines of one store: ``writer`` for locked write transactions, ``reader`` for views."""

    url: str
    dialect: str  # "sqlite" or "postgresql"
    writer: Writer
    reader: AsyncEngine

    async def dispose(self) -> None:
        await self.writer.dispose()
        if self.reader is not self.writer.engine:
            await self.reader.dispose()


def private_file(path: Path) -> None:
    """Create the SQLite file, and any missing folder above it, for the store's user alone (the ledger
    library's :func:`create_private`: folders 0700, the file 0600, whatever the umask). A file of ours that
    others could read, left by a store from before, is narrowed to 0600: the -wal and -shm files SQLite adds
    take the database's mode."""
    create_private(path)
    st = path.stat()
    if st.st_mode & 0o077 and st.st_uid == os.geteuid():
        path.chmod(FILE_MODE)


def upsert(db: Database, table: Table, values: dict[str, Any], update: dict[str, Any]) -> Insert:
    """``INSERT ... ON CONFLICT (primary key) DO UPDATE``: the same SQL on both databases, but each dialect
    has its own construct for it."""
    build = sqlite_insert if db.dialect == "sqlite" else postgresql_insert
    key = [c.name for c in table.primary_key.columns]
    return build(table).values(**values).on_conflict_do_update(index_elements=key, set_=update)


def driver_url(url: str) -> tuple[str, str]:
    """``(dialect, SQLAlchemy async URL)`` for a ``--db`` value; ``DatabaseURLError`` otherwise."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise DatabaseURLError(f"无法解析数据库地址 cannot parse database URL {url!r}: {exc}") from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            raise DatabaseURLError("SQLite 需要文件路径 SQLite needs a file: sqlite:///path/to/central.sqlite3")
        private_file(Path(parsed.database).expanduser())
        return "sqlite", parsed.set(drivername="sqlite+aiosqlite").render_as_string(hide_password=False)
    if backend in ("postgresql", "postgres"):
        return "postgresql", parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    raise DatabaseURLError(f"不支持的数据库 unsupported database {backend!r}: use sqlite:///PATH or postgresql://...")


def _sqlite_engine(url: str, immediate: bool) -> AsyncEngine:
    # NullPool: a connection per transaction is cheap for a local file and never
    # keeps a stale WAL snapshot open between requests.
    engine = create_async_engine(url, poolclass=NullPool, connect_args={"timeout": 30})

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event decide how a transaction starts.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def open_database(url: str) -> Database:
    """Engines for ``url`` (tables are created by :func:`create_schema`)."""
    dialect, async_url = driver_url(url)
    if dialect == "sqlite":
        return Database(url, dialect, Writer(_sqlite_engine(async_url, True), True), _sqlite_engine(async_url, False))
    engine = create_async_engine(async_url, pool_size=10, max_overflow=10, pool_pre_ping=True)
    return Database(url, dialect, Writer(engine, False), engine)


async def create_schema(db: Database) -> None:
    """Create missing tables (idempotent) and check the schema version."""
    async with db.writer.begin() as conn:
        await conn.run_sync(metadata.create_all)
        row = (await conn.execute(meta.select().where(meta.c.key == "schema_version"))).first()
        if row is None:
            await conn.execute(meta.insert().values(key="schema_version", value=SCHEMA_VERSION))
        elif row.value != SCHEMA_VERSION:
            raise RuntimeError(f"中心库格式版本 {row.value} 不支持 unsupported central schema version {row.value}")
