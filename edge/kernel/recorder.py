"""Recording a step: append to the ledger first, then apply to the working database.

The ledger and the database are two SQLite files, so one transaction cannot
cover both. The order makes that safe: the ledger commit is the step; the
database follows and remembers the last entry it applied, and whatever it is
missing after a crash is re-applied from the ledger (``catch_up``) before the
next step is taken. Steps are serialised by one lock: a step reads the state,
decides, records — nothing else moves in between.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, Generic, TypeVar

from edge.kernel.db import WorkingDB
from edge.kernel.errors import Unavailable
from edge.kernel.projection import apply_entries
from edge.ledger import Entry, Ledger

log = logging.getLogger("edge.recorder")

Observer = Callable[[Sequence[Entry]], None]
_CATCH_UP_BATCH = 500


DB = TypeVar("DB", bound=WorkingDB)  # the working database with the queries of whoever records


class Recorder(Generic[DB]):
    def __init__(self, ledger: Ledger, db: DB) -> None:
        self.ledger = ledger
        self.db = db
        self._lock = asyncio.Lock()
        self._observers: list[Observer] = []
        self._behind = True  # until catch_up has run, the database may lag the ledger
        self.changed = asyncio.Condition()  # notified after every recorded step

    # -- steps -----------------------------------------------------------------------

    @asynccontextmanager
    async def step(self) -> AsyncIterator[None]:
        """Hold the writer for one read-decide-record step."""
        async with self._lock:
            if self._behind:
                await self._catch_up_locked()
            yield

    async def record(self, kind: str, body: Mapping[str, Any]) -> Entry:
        return (await self.record_many([(kind, body)]))[0]

    async def record_many(self, items: Sequence[tuple[str, Mapping[str, Any]]]) -> list[Entry]:
        """Append entries in one ledger transaction, then apply them; call inside :meth:`step`."""
        if not self._lock.locked():
            raise RuntimeError("record() outside a step")
        entries = await self.ledger.append_many(items)
        self._behind = True
        # Shielded like the ledger's own append: the entries are committed, so their effects must land.
        await asyncio.shield(apply_entries(self.db, entries))
        self._behind = False
        for observer in list(self._observers):
            try:
                observer(entries)
            except Exception:  # an observer's bug must not undo a recorded step
                log.exception("ledger observer failed")
        async with self.changed:
            self.changed.notify_all()
        return entries

    # -- recovery --------------------------------------------------------------------------

    async def catch_up(self) -> int:
        """Apply ledger entries the database has not seen; return how many."""
        async with self._lock:
            return await self._catch_up_locked()

    async def _catch_up_locked(self) -> int:
        applied = await self.db.applied_upto()
        size = await self.ledger.size()
        if applied > size - 1:
            raise Unavailable(
                f"数据库领先于台账 the edge database has applied entry {applied} but the ledger has only {size} "
                "entries: the ledger was cut or replaced; run `qinglian ledger verify`",
                "ledger_behind",
            )
        count = 0
        start = applied + 1
        while start < size:
            entries = await self.ledger.entries(start, min(size, start + _CATCH_UP_BATCH))
            await apply_entries(self.db, entries)
            count += len(entries)
            start += len(entries)
        if count:
            log.info("applied %d ledger entries the database was missing", count)
        for part in self.db.parts.parts:
            if part.backfill is not None:
                await part.backfill(self.db, self.ledger)
        self._behind = False
        return count

    # -- observers -----------------------------------------------------------------------

    def subscribe(self, observer: Observer) -> Callable[[], None]:
        """Call ``observer(entries)`` after each recorded step (on the event loop); returns an unsubscribe."""
        self._observers.append(observer)
        return lambda: self._observers.remove(observer)

    async def wait_for(self, predicate: Callable[[], Awaitable[Any]], timeout: float) -> Any:
        """Wait until ``await predicate()`` is truthy, re-checking after every recorded step.

        ``TimeoutError`` after ``timeout`` seconds. The half-second re-check covers
        a notification that slips in between the check and the wait.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            value = await predicate()
            if value:
                return value
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"条件未在 {timeout} 秒内满足 not reached within {timeout} s")
            async with self.changed:
                try:
                    await asyncio.wait_for(self.changed.wait(), min(remaining, 0.5))
                except TimeoutError:
                    pass
