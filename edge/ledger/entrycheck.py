"""Each entry of a ledger checked against the ones before it: the per-entry half of verification, one for the one
pass (:mod:`edge.ledger.verify`) and for each chunk of the parallel check (:mod:`edge.ledger.verify_parallel`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .entry import chain_hash, encode_entry
from .merkle import NODE_MIN_LEVEL, Frontier, leaf_hash
from .schema import ENTRY_COLUMNS
from .storednodes import StoredNodes

#: What :meth:`EntryCheck.check` takes: a row of :func:`columns`.
Row = tuple[Any, ...]


def columns(version: int) -> str:
    """The columns of a :data:`Row` in a ledger of schema ``version``: an entry's, and the leaf hash recorded with
    it (NULL under version 1, which recorded leaves as level-0 nodes only)."""
    return f"{ENTRY_COLUMNS}, {'leaf_hash' if version >= 2 else 'NULL'}"


@dataclass(frozen=True)
class Problem:
    """Why an entry does not check out, and the first entry the ledger can no longer vouch for (None: a proof
    node, no entry)."""

    first_bad_index: int | None
    reason: str


class EntryCheck:
    """The entries from ``start`` on, one row at a time in index order.

    Each row's index follows on; its columns have their types; its ``prev_hash`` is the hash before it (``prev``,
    or for a chunk whose first link is checked by whoever joins the chunks, its own) and its ``hash`` is
    SHA-256(prev_hash || canonical bytes); the leaf hash recorded when it was appended (its ``leaf_hash``, or for
    an entry of a version-1 ledger its level-0 node) is the one recomputed; and every stored node it completes
    matches, none of level ``NODE_MIN_LEVEL`` or more missing. ``start`` must be a multiple of the largest subtree
    the entries complete (0, or a chunk's size), so ``frontier``, over the entries from ``start``, names the nodes.
    """

    def __init__(self, nodes: StoredNodes, start: int = 0, prev: bytes | None = None) -> None:
        self.nodes = nodes
        self.start = start
        self.expected = start  # the index of the next row
        self.prev = prev  # the hash the next row must chain on to (None: the first row's own prev_hash)
        self.first_prev: bytes | None = prev
        self.frontier = Frontier()
        self._level_0 = nodes.pending(0)  # only a version-1 part has level-0 nodes: its leaves as recorded

    def check(self, row: Row) -> Problem | None:
        """The row's problem, or None when it checks out (and the check moves on to the next index)."""
        index, ts, kind, body, stored_prev, stored_hash, recorded = row
        if index != self.expected:
            missing = self.expected
            return Problem(missing, f"第 {missing} 条缺失 entry {missing} is missing (next stored: {index!r})")
        if type(ts) is not str or type(kind) is not str or type(body) is not str:
            return Problem(index, f"第 {index} 条字段类型被改动 entry {index}: a column has the wrong type")
        data = encode_entry(index, ts, kind, body)
        if self.prev is None:
            self.first_prev = self.prev = stored_prev
        if stored_prev != self.prev:
            return Problem(index, f"第 {index} 条 prev_hash 与上一条不符 entry {index}: prev_hash breaks the chain")
        if chain_hash(self.prev, data) != stored_hash:
            return Problem(index, f"第 {index} 条内容或哈希被改动 entry {index}: hash does not match its content")
        leaf = leaf_hash(data)
        completed = self.frontier.append(leaf)
        if self._level_0 or recorded != leaf:  # else: the one leaf hash recorded is the one recomputed
            recorded_leaves = {recorded, self.nodes.stored(0, index) if self._level_0 else None} - {None}
            if recorded_leaves != {leaf}:
                return Problem(
                    index,
                    f"第 {index} 条在追加后被改写 entry {index} differs from its leaf hash recorded "
                    "at append time — the chain was rewritten"
                    if recorded_leaves
                    else f"第 {index} 条缺少追加时记录的叶哈希 entry {index}: no leaf hash recorded at append time",
                )
            self._level_0 = self.nodes.pending(0)
        for level, local_index, node in completed[1:]:
            node_index = (self.start >> level) + local_index
            stored = self.nodes.stored(level, node_index)
            if stored != node and (stored is not None or level >= NODE_MIN_LEVEL):
                return Problem(
                    None, f"证明节点被改动 proof node (level {level}, index {node_index}) does not match the entries"
                )
        self.prev = stored_hash
        self.expected += 1
        return None
