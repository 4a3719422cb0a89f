"""A village's ledger entries in words, for the central's pages: each kind's Chinese name and the line its part
words an entry as, the same line the village's own ledger page shows (edge/web/ledgerview.py's ``summary``), so a
township officer reads what the village reads. The API keeps the entries as written (its fields are a contract)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, cast

from central.configdocs import Doc
from central.store import merged_config_of
from edge.kernel.config import EdgeConfig, Person, parse_people
from edge.kernel.parts import Parts
from edge.kernel.toml import Table
from edge.ledger import Entry
from edge.modules import PARTS
from edge.web.ledgerview import summary

WORDED = Parts(PARTS)


@dataclass(frozen=True)
class _Roster:
    """What the parts' wording reads of a village's config: only its people (``config.people``), here those of
    the roster the central publishes to it. A person it lacks shows as their id, as wording.person_name shows one
    the village's roster lacks."""

    people: Mapping[str, Person]


def kind_name(kind: str) -> str:
    """An entry kind's Chinese name, as its part declares it (the kind itself when no part does)."""
    return WORDED.kind_name(kind)


def entry_line(index: int, ts: str, kind: str, body: dict[str, Any] | str, people: Mapping[str, Person]) -> str:
    """One line of Chinese for an entry (``body`` as a dict, or as the JSON the store keeps), naming the
    ``people`` of its edge's roster as 名字(id)."""
    fields = json.loads(body) if isinstance(body, str) else body
    return summary(Entry.made(index, ts, kind, fields, b"", b""), cast(EdgeConfig, _Roster(people)), {}, WORDED)


def roster_people(roster: Mapping[str, Any] | None, village: str) -> dict[str, Person]:
    """The people of a merged roster (configdocs.merge_for_edge's ``roster``; None when none is published), read
    by the rules the edge reads the one it receives by (edge/kernel/central.py ``effective_config``)."""
    if not roster:
        return {}
    return parse_people([Table(p, f"central.roster.people[{i}]") for i, p in enumerate(roster["people"])], village)


class EdgeWords:
    """Entries worded with the people of the roster published to their edge, for one request: the documents read
    once, each edge's roster merged once (the overview words up to 100 entries of a handful of edges)."""

    def __init__(self, docs: Iterable[Doc]) -> None:
        self._docs = list(docs)
        self._people: dict[str, dict[str, Person]] = {}

    def people(self, edge: Any) -> Mapping[str, Person]:
        """The roster people of ``edge`` (its row in ``edges``), merged as the edge receives them."""
        people = self._people.get(edge.edge_id)
        if people is None:
            merged, _ = merged_config_of(edge, self._docs)
            people = self._people[edge.edge_id] = roster_people(merged["roster"], edge.village)
        return people

    def line(self, edge: Any, index: int, ts: str, kind: str, body: dict[str, Any] | str) -> str:
        """:func:`entry_line` for an entry of ``edge`` (its row in ``edges``)."""
        return entry_line(index, ts, kind, body, self.people(edge))
