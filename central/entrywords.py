"""A village's ledger entries in words, for the central's pages: each kind's Chinese name and the line its part
words an entry as, the same line the village's own ledger page shows (edge/web/ledgerview.py's ``summary``), so a
township officer reads what the village reads. The API keeps the entries as written (its fields are a contract)."""

from __future__ import annotations

import json
from types import MappingProxyType
from typing import Any, cast

from edge.kernel.config import EdgeConfig
from edge.kernel.parts import Parts
from edge.ledger import Entry
from edge.modules import PARTS
from edge.web.ledgerview import summary

WORDED = Parts(PARTS)


class _NoRoster:
    """What the parts' wording reads of a village's config: only its people (``config.people``). The central
    keeps no village's roster of names, so a person shows as their id, as wording.person_name shows one the
    roster lacks."""

    people: MappingProxyType[str, Any] = MappingProxyType({})


_NO_ROSTER = cast(EdgeConfig, _NoRoster())


def kind_name(kind: str) -> str:
    """An entry kind's Chinese name, as its part declares it (the kind itself when no part does)."""
    return WORDED.kind_name(kind)


def entry_line(index: int, ts: str, kind: str, body: dict[str, Any] | str) -> str:
    """One line of Chinese for an entry (``body`` as a dict, or as the JSON the store keeps)."""
    fields = json.loads(body) if isinstance(body, str) else body
    return summary(Entry.made(index, ts, kind, fields, b"", b""), _NO_ROSTER, {}, WORDED)
