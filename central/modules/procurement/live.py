"""What the bidders' live pages show, published once per change: each tender's latest :class:`~tender.Board`,
and a wake-up for every page when one changes.

A bid (or the award) computes its tender's board in its own transaction and publishes it after the commit; each
live page then takes its bidder's view from the board in memory (its own rank looked up, nothing read), so a bid
costs one read of the tender however many bidders watch. A board is kept only if it follows a later decision
than the one held, so two bids whose commits finish out of order never leave the earlier standing on show. A
change no board follows (a blacklisting withdraws bids across tenders) forgets the boards: each page then reads
its tender once, until the next bid publishes again. One process: the central runs one.
"""

from __future__ import annotations

import asyncio

from central.modules.procurement.tender import Board


class Boards:
    """The latest board per tender, and a counter of changes (not a queue: a page that slept through several
    wake-ups shows the latest board, and nothing is lost)."""

    def __init__(self) -> None:
        self.changes = 0
        self._held: dict[tuple[str, str], Board] = {}
        self._changed = asyncio.Condition()

    def latest(self, edge_id: str, demand_id: str) -> Board | None:
        return self._held.get((edge_id, demand_id))

    async def publish(self, board: Board) -> None:
        key = (board.edge_id, board.demand_id)
        held = self._held.get(key)
        if held is None or held.version < board.version:
            self._held[key] = board
        await self._wake()

    async def forget(self) -> None:
        """Every board may be stale (bids withdrawn): pages read their tender again."""
        self._held.clear()
        await self._wake()

    async def _wake(self) -> None:
        async with self._changed:
            self.changes += 1
            self._changed.notify_all()

    async def wait(self, seen: int, timeout: float) -> bool:
        """True once something changed after ``seen``; False after ``timeout`` seconds without a change."""
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(lambda: self.changes != seen), timeout)
            except TimeoutError:
                return False
        return True
