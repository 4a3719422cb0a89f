"""Pushing the ledger to the central store: at least once on the wire, exactly once in the store.

:class:`SyncClient` needs no queue of its own: the ledger *is* the offline
queue. Everything from the index the store acknowledged up to the end of the
ledger is pending, durably, however long the village stays offline; on every
start the client asks the store where it stands (``GET .../state``) and
resumes from there, so a crash, a cut cable or a restarted store at any point
costs at most a resend, which the store recognises and acknowledges.

A batch is the entries ``[acked, c)`` for a checkpoint ``c`` the ledger signed
(the largest at most ``batch_size`` entries ahead; the ledger signs one every
64 entries, and the client signs the tail before pushing it), that
checkpoint, and the RFC 6962 consistency proof from the store's last accepted
checkpoint. Requests are signed with the ledger key (see :mod:`edge.syncwire`).

Configuration flows back on the same exchange: when the store's merged
configuration for this edge differs from the one held here, the reply carries
it. The client checks its hash, records a ``config_received`` ledger entry
(once per distinct configuration), keeps it in ``central_config.json`` in the
data folder (:func:`load_received_config`), and calls ``on_config``.

So do the central's decisions for this village: the state reply carries the signed documents waiting for it.
With the central's key pinned (``decision_key``), the client checks each and records it as an entry of its kind
(:class:`edge.kernel.central.DocumentInbox`), pushed in the same round; the store holding that entry is the
acknowledgement, so a cut connection costs a resend of the document, never a second application.

    client = SyncClient(ledger, "https://central.example", "xs-hs-qinglian")
    task = client.start()          # runs until stop(): sync, sleep, retry with backoff
    ...
    await client.stop()

Two syncers may share a data folder (the agent's and a technician's
``qinglian edge sync``): a round holds ``sync.lock`` (an ``flock``), so they
take turns and never interleave their pushes or their writes to the state and
configuration files. Over a reader (:meth:`Ledger.open_reader`, when another
process is the ledger's writer) a round appends and signs nothing: it pushes
what the writer's checkpoints cover and leaves configuration to the writer.

The edge's id is the one its last round used (kept in ``edge_id`` in the data
folder) or, before any, one derived from its ledger key (:func:`edge.ledger.wire.edge_id_of`),
so ``qinglian ledger pubkey`` and ``qinglian edge sync`` need only the folder.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import os
import random
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge.kernel.central import CONFIG_FILENAME, DocumentInbox, load_received_config
from edge.kernel.files import write_atomic
from edge.kernel.tasks import cancel_and_wait
from edge.kernel.writerlock import WriterLock
from edge.ledger import Checkpoint, Ledger
from edge.ledger.entry import utc_now
from edge.ledger.keys import load_or_create_signing_key, public_key_from_b64
from edge.ledger.private import open_private
from edge.ledger.schema import DB_FILENAME, connect_readonly
from edge.ledger.wire import (
    API_PREFIX,
    CONFIG_RECEIVED,
    EDGE_ID_FILENAME,
    canonical_hash,
    entry_to_wire,
    sign_request,
)

log = logging.getLogger("edge.sync")

STATE_FILENAME = "sync_state.json"
#: Held (flock) for the length of a round.
ROUND_LOCK_FILENAME = "sync.lock"

ConfigCallback = Callable[[dict[str, Any], str], Awaitable[None] | None]
#: Appends one entry to the ledger; the agent passes one that goes through its Recorder.
RecordEntry = Callable[[str, dict[str, Any]], Awaitable[Any]]


class SyncError(Exception):
    """Base of the sync client's errors."""

    code = "sync_error"


class SyncUnavailable(SyncError):
    """The store could not be reached or answered with a server error: retry later."""

    code = "unavailable"


class SyncRefused(SyncError):
    """The store refused (or this edge cannot proceed): retrying the same thing will not help."""

    def __init__(
        self, code: str, reason: str, status: int | None = None, flagged: bool = False, next_index: int | None = None
    ) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason
        self.status = status
        self.flagged = flagged
        self.next_index = next_index


@dataclass
class SyncResult:
    """What one :meth:`SyncClient.sync_once` did."""

    batches: int = 0
    stored: int = 0  # entries the store stored for the first time
    duplicates: int = 0  # entries it already held (a resend)
    next_index: int = 0  # the store holds [0, next_index)
    local_size: int = 0
    config_version: int | None = None
    config_hash: str | None = None
    config_changed: bool = False
    documents_applied: int = 0  # the central's signed documents applied this round
    documents_refused: int = 0  # and refused (each recorded as an anomaly)


def _record_edge_id(data_dir: Path, edge_id: str) -> None:
    path = data_dir / EDGE_ID_FILENAME
    try:
        if path.read_text(encoding="utf-8").strip() == edge_id:
            return
    except FileNotFoundError:
        pass
    tmp = path.with_name(path.name + ".tmp")
    with open_private(tmp, "w") as f:
        f.write(edge_id + "\n")
    os.replace(tmp, path)


@asynccontextmanager
async def _one_round_at_a_time(data_dir: Path) -> AsyncIterator[None]:
    """Hold ``sync.lock`` for a round; the kernel drops it if the holder dies, even by kill -9."""
    while (lock := WriterLock.try_acquire(data_dir, ROUND_LOCK_FILENAME)) is None:
        await asyncio.sleep(0.1)  # the other syncer's round: it ends, or its process does
    try:
        yield
    finally:
        lock.release()


class SyncClient:
    """Pushes a :class:`Ledger` to the central store and brings its configuration back."""

    def __init__(
        self,
        ledger: Ledger,
        central_url: str,
        edge_id: str,
        *,
        key: Ed25519PrivateKey | None = None,
        batch_size: int = 1000,
        interval: float = 60.0,
        min_backoff: float = 1.0,
        max_backoff: float = 600.0,
        timeout: float = 60.0,
        transport: httpx.AsyncBaseTransport | None = None,
        on_config: ConfigCallback | None = None,
        record: RecordEntry | None = None,
        decision_key: str | None = None,
        document_kinds: Collection[str] = (),
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be ≥ 1")
        self.ledger = ledger
        self.edge_id = edge_id
        self.data_dir = ledger.data_dir
        self.batch_size = batch_size
        self.interval = interval
        self.min_backoff = min_backoff
        self.max_backoff = max_backoff
        self.on_config = on_config
        # Inside the agent every entry must go through its Recorder (which keeps the working
        # database in step with the ledger); standing alone, appending to the ledger is enough.
        # Over a reader, nothing is recorded: configuration is the writer's to take.
        self._record: RecordEntry = record or ledger.append
        self._writer = not ledger.read_only
        # The central's signed documents, when its key is pinned: checked against it and recorded as entries
        # of their kinds (``document_kinds``: those the registered parts declare). Over a reader, the writer's.
        self.documents: DocumentInbox | None = None
        if decision_key is not None and self._writer:
            self.documents = DocumentInbox(public_key_from_b64(decision_key), edge_id, document_kinds, self._record)
        # The ledger key signs requests too: the store knows it from enrolment, nothing else to provision.
        self._key = key or load_or_create_signing_key(self.data_dir, create=False)
        self._http = httpx.AsyncClient(base_url=central_url.rstrip("/"), timeout=timeout, transport=transport)
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._clock_offset = 0.0
        self._recorded_hash: str | None = None  # of the last config_received entry
        self._started = False
        self.acked: int | None = None
        self.last_success_at: str | None = None
        self.last_error: str | None = None
        self.last_error_code: str | None = None
        self.next_attempt_at: float | None = None
        self.refused: SyncRefused | None = None

    # -- running ----------------------------------------------------------------------------

    def start(self) -> asyncio.Task[None]:
        """Run :meth:`run` as a task of the current loop."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self.run(), name=f"sync-{self.edge_id}")
        return self._task

    def trigger(self) -> None:
        """Sync now rather than at the next interval (e.g. after an important entry)."""
        self._wake.set()

    async def stop(self) -> None:
        """Stop the task (an in-flight batch is simply resent next time) and close the HTTP client."""
        if self._task is not None:
            await cancel_and_wait(self._task)
            self._task = None
        await self._http.aclose()

    async def aclose(self) -> None:
        await self.stop()

    async def run(self) -> None:
        """Sync forever: every ``interval`` seconds when all is well, with exponential backoff when not."""
        backoff = self.min_backoff
        while True:
            try:
                await self.sync_once()
                backoff = self.min_backoff
                delay = self.interval
            except SyncUnavailable as exc:
                delay = backoff * (0.5 + random.random() / 2)
                log.info("central store unavailable (%s); retrying in %.1f s", exc, delay)
                backoff = min(backoff * 2, self.max_backoff)
            except SyncRefused as exc:
                # The same push would be refused again: try again only slowly, and say why.
                delay = self.max_backoff
                log.error("central store refused the ledger of %s: %s", self.edge_id, exc)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # never let the task die: a bug here must not stop the agent
                log.exception("sync failed")
                self.last_error, self.last_error_code = str(exc), "internal"
                delay = backoff
                backoff = min(backoff * 2, self.max_backoff)
            self.next_attempt_at = time.time() + delay
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=delay)
            except TimeoutError:
                pass

    def status(self) -> dict[str, Any]:
        """For the console and the CLI: how far the store is, and the last problem."""
        return {
            "edge_id": self.edge_id,
            "acked": self.acked,
            "last_success_at": self.last_success_at,
            "last_error": self.last_error,
            "last_error_code": self.last_error_code,
            "next_attempt_at": self.next_attempt_at,
            "config_hash": self._held_config_hash(),
        }

    # -- one round --------------------------------------------------------------------------

    async def sync_once(self) -> SyncResult:
        """Push everything pending, in batches, and take any new configuration; raise on failure.

        Safe to call at any time and to interrupt at any point.
        """
        async with self._lock, _one_round_at_a_time(self.data_dir):
            try:
                result = await self._sync_once()
            except SyncError as exc:
                self.last_error = str(exc)
                self.last_error_code = exc.code
                if isinstance(exc, SyncRefused):
                    self.refused = exc
                raise
            self.last_success_at = utc_now()
            self.last_error = self.last_error_code = None
            self.refused = None
            self._save_state(result)
            return result

    async def _sync_once(self) -> SyncResult:
        if not self._started:
            await asyncio.to_thread(_record_edge_id, self.data_dir, self.edge_id)
            await self._load_recorded_config()
            if self.documents is not None:
                await self.documents.load(self.data_dir)
            self._started = True
        # A reader catches up with the writer now, inside the round lock: whatever the other
        # syncer pushed is then in its view, so the store is never "ahead" of it.
        await self.ledger.refresh()
        result = SyncResult()
        state = await self._request_json("GET", f"{API_PREFIX}/{self.edge_id}/state")
        acked = int(state["next_index"])
        self.acked = acked
        stale = state.get("config_hash") is not None and state["config_hash"] != self._held_config_hash()
        if self._writer and stale:
            reply = await self._request_json("GET", f"{API_PREFIX}/{self.edge_id}/config")
            result.config_changed |= await self._take_config(reply["config"], reply["config_hash"])
        if self.documents is not None and state.get("documents"):
            # Recorded now, pushed in this round: the store settles each when it holds the entry.
            result.documents_applied, result.documents_refused = await self.documents.take(state["documents"], acked)
        while True:
            size = await self.ledger.size()
            result.local_size = size
            if acked > size:
                raise SyncRefused(
                    "store_ahead",
                    f"中心库已有 {acked} 条, 本地台账只有 {size} 条: 本地台账被截断或从旧备份恢复 "
                    f"the store holds {acked} entries but the local ledger has {size}: it was cut or restored "
                    "from an old backup",
                )
            if acked == size:
                break
            latest = await self.ledger.latest_checkpoint()
            if latest is None or latest.tree_size < size:
                if not self._writer:  # the tail is the writer's to sign: push what is signed
                    size = 0 if latest is None else latest.tree_size
                    if acked >= size:
                        break
                else:
                    # Sign the tail so it goes in this round; the agent may have written since ``size`` was
                    # read, and the checkpoint covers that too: push up to it.
                    size = (await self.ledger.checkpoint()).tree_size
            while acked < size:
                checkpoint = await self._checkpoint_for_batch(acked, size)
                reply = await self._push(acked, checkpoint)
                result.batches += 1
                result.stored += int(reply.get("stored", 0))
                result.duplicates += int(reply.get("duplicates", 0))
                acked = int(reply["next_index"])
                self.acked = acked
                if self._writer and reply.get("config") is not None and reply.get("config_hash") is not None:
                    result.config_changed |= await self._take_config(reply["config"], reply["config_hash"])
            if not self._writer:
                break
            # Taking a config appends an entry: go round once more to push it too.
        result.next_index = acked
        held = load_received_config(self.data_dir)
        if held is not None:
            result.config_hash = held["config_hash"]
            result.config_version = held["config_version"]
        return result

    async def _push(self, acked: int, checkpoint: Checkpoint) -> dict[str, Any]:
        entries = await self.ledger.entries(acked, checkpoint.tree_size)
        if len(entries) != checkpoint.tree_size - acked:
            raise SyncRefused(
                "local_gap", f"本地台账缺少条目 the local ledger lacks entries in [{acked}, {checkpoint.tree_size})"
            )
        proof = await self.ledger.consistency_proof(acked, checkpoint.tree_size)
        payload = {
            "from_index": acked,
            "entries": [entry_to_wire(e) for e in entries],
            "checkpoint": checkpoint.to_dict(),
            "consistency": {"from_size": acked, "proof": [p.hex() for p in proof]},
            "config_hash": self._held_config_hash(),
        }
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        try:
            return await self._request_json("POST", f"{API_PREFIX}/{self.edge_id}/batches", body)
        except SyncRefused as exc:
            if exc.code == "gap" and isinstance(exc.next_index, int):
                # The store holds less than we thought (e.g. restored from backup): resume from there.
                return {"next_index": exc.next_index, "stored": 0, "duplicates": 0}
            raise

    async def _checkpoint_for_batch(self, acked: int, end: int) -> Checkpoint:
        """The signed checkpoint that ends the next batch: the largest within ``batch_size``, else the nearest.

        Never one beyond ``end``, the size this round pushes to (a writer in another process may
        have signed further than this client's view of the ledger).
        """
        db_path = self.data_dir / DB_FILENAME
        limit = min(acked + self.batch_size, end)

        def find() -> tuple[Any, ...] | None:
            conn = connect_readonly(db_path)
            try:
                columns = "tree_size, root_hash, timestamp, signature"
                row = conn.execute(
                    f"SELECT {columns} FROM checkpoints WHERE tree_size > ? AND tree_size <= ? "
                    "ORDER BY tree_size DESC, id DESC LIMIT 1",
                    (acked, limit),
                ).fetchone()
                if row is None:
                    row = conn.execute(
                        f"SELECT {columns} FROM checkpoints WHERE tree_size > ? AND tree_size <= ? "
                        "ORDER BY tree_size ASC, id DESC LIMIT 1",
                        (acked, end),
                    ).fetchone()
                return row  # type: ignore[no-any-return]
            finally:
                conn.close()

        try:
            row = await asyncio.to_thread(find)
        except sqlite3.Error as exc:
            raise SyncError(f"无法读取检查点 cannot read checkpoints: {exc}") from exc
        if row is None:
            raise SyncError(f"没有 {acked} 到 {end} 之间的检查点 no checkpoint in ({acked}, {end}]")
        return Checkpoint(*row)

    # -- HTTP -------------------------------------------------------------------------------

    async def _request_json(self, method: str, path: str, body: bytes = b"") -> dict[str, Any]:
        for attempt in range(2):
            headers = sign_request(self._key, self.edge_id, method, path, body, now=time.time() + self._clock_offset)
            if body:
                headers["Content-Type"] = "application/json"
            try:
                response = await self._http.request(method, path, content=body, headers=headers)
            except httpx.HTTPError as exc:
                raise SyncUnavailable(f"无法连接中心库 cannot reach the central store: {exc!r}") from exc
            if response.status_code >= 500 or response.status_code in (408, 429):
                raise SyncUnavailable(f"中心库暂不可用 central store answered {response.status_code}")
            try:
                data = response.json()
            except ValueError:
                raise SyncUnavailable(f"中心库回复无法解析 unreadable reply ({response.status_code})") from None
            if response.status_code == 200 and isinstance(data, dict):
                return data
            code = data.get("code", "refused") if isinstance(data, dict) else "refused"
            if code == "clock_skew" and attempt == 0 and isinstance(data.get("server_time"), int):
                # The Pi has no real-time clock: trust the store's for signing, and say so.
                self._clock_offset = data["server_time"] - time.time()
                log.warning("edge clock differs from the central store's by %.0f s; compensating", self._clock_offset)
                continue
            if not isinstance(data, dict):
                raise SyncRefused(code, response.text, response.status_code)
            raise SyncRefused(
                code,
                str(data.get("reason", "")),
                response.status_code,
                bool(data.get("flagged")),
                data.get("next_index"),
            )
        raise SyncUnavailable("clock skew persists")  # pragma: no cover - the loop returns or raises

    # -- configuration ----------------------------------------------------------------------

    async def _load_recorded_config(self) -> None:
        received = await self.ledger.entries_of_kind(CONFIG_RECEIVED)
        self._recorded_hash = received[-1].body.get("hash") if received else None

    def _held_config_hash(self) -> str | None:
        held = load_received_config(self.data_dir)
        return None if held is None else held["config_hash"]

    async def _take_config(self, config: dict[str, Any], config_hash: str) -> bool:
        """Keep a configuration from the store; record it in the ledger once. Whether it was new."""
        if not isinstance(config, dict) or canonical_hash(config) != config_hash:
            raise SyncUnavailable(
                "收到的配置与其哈希不符 received config does not match its hash (corrupted in transit?)"
            )
        new = config_hash != self._recorded_hash
        if new:
            # The ledger first: the record is what counts; the file is a cache the agent reads.
            await self._record(
                CONFIG_RECEIVED,
                {
                    "version": config.get("version"),
                    "hash": config_hash,
                    "sources": config.get("sources", []),
                },
            )
            self._recorded_hash = config_hash
        if self._held_config_hash() != config_hash:
            held = {
                "config_hash": config_hash,
                "config_version": config.get("version"),
                "received_at": utc_now(),
                "config": config,
            }
            await asyncio.to_thread(write_atomic, self.data_dir / CONFIG_FILENAME, held)
            log.info(
                "configuration version %s (%s) received from the central store", config.get("version"), config_hash[:12]
            )
        if self.on_config is not None:
            outcome = self.on_config(config, config_hash)
            if inspect.isawaitable(outcome):
                await outcome
        return new

    def _save_state(self, result: SyncResult) -> None:
        """What the store acknowledged, for tools that run while the agent does (informative only)."""
        try:
            _write_state(
                self.data_dir / STATE_FILENAME, {"edge_id": self.edge_id, "at": self.last_success_at, **asdict(result)}
            )
        except OSError as exc:
            log.warning("cannot write %s: %s", STATE_FILENAME, exc)


def _write_state(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open_private(tmp, "w") as f:
        f.write(json.dumps(data, ensure_ascii=False))
    os.replace(tmp, path)
