"""The stored proof nodes of a ledger, read level by level in index order alongside a verifying pass."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator


class StoredNodes:
    """One ordered cursor per level over the ``nodes`` table (or the part of it over leaves ``start`` to ``stop``).

    A node of each level is completed in increasing index order as entries are
    appended, so one ordered cursor per level (about log2 n of them) compares
    every stored node without loading any table into memory. Below
    ``NODE_MIN_LEVEL`` only a ledger's version-1 part has nodes.
    """

    def __init__(self, conn: sqlite3.Connection, start: int = 0, stop: int | None = None) -> None:
        self._conn = conn
        self._start, self._stop = start, stop
        self._levels: list[Iterator[tuple[int, bytes]]] = []
        self._next: list[tuple[int, bytes] | None] = []
        self.matched = 0  # nodes handed out by stored()

    def stored(self, level: int, index: int) -> bytes | None:
        """The stored hash of node ``(level, index)``, if there is one; nodes must be asked for in order."""
        row = self._peek(level)
        if row is None or row[0] != index:
            return None
        self._next[level] = next(self._levels[level], None)
        self.matched += 1
        return row[1]

    def pending(self, level: int) -> bool:
        """Whether nodes of ``level`` remain to be asked for."""
        return self._peek(level) is not None

    def _peek(self, level: int) -> tuple[int, bytes] | None:
        while len(self._levels) <= level:
            lvl = len(self._levels)
            if self._stop is None:
                rows = self._conn.execute("SELECT idx, hash FROM nodes WHERE level = ? ORDER BY idx", (lvl,))
            else:  # the nodes of this level over any of the leaves start..stop-1
                rows = self._conn.execute(
                    "SELECT idx, hash FROM nodes WHERE level = ? AND idx >= ? AND idx < ? ORDER BY idx",
                    (lvl, self._start >> lvl, ((self._stop - 1) >> lvl) + 1),
                )
            self._levels.append(rows)
            self._next.append(next(rows, None))
        return self._next[level]

    def leftover(self) -> tuple[int, int] | None:
        """A stored node the entries did not produce, if any: ``(level, index)`` (of the whole table)."""
        for level, stored in enumerate(self._next):
            if stored is not None:
                return level, stored[0]
        higher: tuple[int, int] | None = self._conn.execute(
            "SELECT level, idx FROM nodes WHERE level >= ? ORDER BY level, idx LIMIT 1", (len(self._levels),)
        ).fetchone()
        return higher
