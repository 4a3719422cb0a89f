"""The contract every part of the edge registers through: the seal and each governance module alike.

A part is one frozen :class:`Part` value, listed in the static tuple ``edge.modules.PARTS``. Registration
is static on purpose: a ledger's projection must never depend on what happens to be installed, and a
dataclass is checked by mypy where a hook is not. The kernel reads the tuple (projection handlers, kinds,
config sections, commands, ticks); the web shell reads it too (routers, templates, nav, exports, what goes
on the notice board). Nothing here imports the web: the shell's context object is ``Any`` to the kernel.
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiosqlite

from edge.kernel.toml import ConfigSection

if TYPE_CHECKING:
    from fastapi import APIRouter

    from edge.kernel.routing import Routed
    from edge.ledger import Entry

#: Applies one ledger entry to the working database: a function of the entry only (time and decisions are
#: in it), so a replay from an empty database gives the same state.
Handler = Callable[[aiosqlite.Connection, "Entry"], Awaitable[None]]
#: Runs one queued command (CLI -> queue -> the one ledger writer); ``host`` is the agent that is the writer.
Command = Callable[[Any, Mapping[str, Any]], Awaitable[dict[str, Any]]]
#: A part's periodic work (deadlines: 7 days, 3 months, 3 days): ``host`` is the running agent.
Tick = Callable[[Any], Awaitable[None]]
#: The pushes one new entry of the part asks for (``edge.kernel.notices``): ``host`` is the running agent, read
#: inside its recorder step, after the working database applied the entry.
Notices = Callable[[Any, "Entry"], Awaitable[list["Notice"]]]
#: The rows of a public list for a village: each a tuple in the order of the export's columns.
Rows = Callable[[aiosqlite.Connection, str], Awaitable[list[tuple[Any, ...]]]]


@dataclass(frozen=True)
class NavItem:
    """A link in the console's navigation, shown to a principal holding any of ``roles`` (empty: everyone logged in)."""

    path: str
    title: str
    roles: tuple[str, ...] = ()


@dataclass(frozen=True)
class Export:
    """A list a part offers as CSV and XLSX (公示): Chinese column headers and the rows of one village."""

    name: str  # file stem and URL segment
    title: str
    columns: tuple[str, ...]
    rows: Rows


@dataclass(frozen=True)
class Published:
    """One item on the village notice board (村务公开). Never anything personal: no phone or ID numbers,
    nothing from a whistleblower."""

    title: str
    kind: str  # the ledger kind it comes from
    at: str  # UTC, ISO-8601, as the ledger writes it
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    link: str | None = None


@dataclass(frozen=True)
class Awaiting:
    """A routed item on one person's route, as the console's 待审批 inbox shows it beside every part's. Whether
    it is their turn is the routing rules' answer (``edge.kernel.routing.why_not`` on ``routed``), the same
    for every part."""

    id: str
    title: str  # what it is about, e.g. the matter of a seal request
    summary: str  # one line of Chinese: who filed it, how much, when
    link: str  # the part's page where it is decided
    at: str  # filed, UTC ISO-8601
    routed: Routed  # the item as the routing rules read it
    detail: Mapping[str, Any] | None = None  # the part's own API form of the item (the seal: its request)


@dataclass(frozen=True)
class Notice:
    """One push a part asks for (``edge.kernel.notices``): what to tell whom, and the console page it is about."""

    event: str  # awaiting_approval, approved, rejected or a part's own (e.g. "overdue"), shown with the delivery
    item_id: str  # the item it is about (a request, a project, an order): its deliveries are listed by it
    title: str
    body: str  # Chinese, one or two sentences
    link: str  # the console path of the item's page, e.g. "/work_order/orders/WO-20261130-01"
    people: tuple[str, ...]  # person ids (config [[people]]): each of their accounts' devices is pushed to
    group: bool = False  # also to the village's group robots (an item awaiting approval)
    accounts: tuple[str, ...] = ()  # console usernames, where a part's roster names accounts (the whistleblower station)


#: The pending routed items on the logged-in principal's route that they may see, in a part: called with the web
#: shell's context and the principal.
Inbox = Callable[[Any, Any], Awaitable[list[Awaiting]]]


@dataclass(frozen=True)
class Part:
    """One part of the edge: the seal, or a governance module."""

    name: str  # ledger prefix == URL segment == the central store's key
    title: str  # Chinese, e.g. "限额工程"
    kinds: Mapping[str, str]  # every entry kind it writes -> its Chinese name (the ledger page and central show these)
    schema: str = ""  # its tables' SQL (CREATE ... IF NOT EXISTS)
    schema_version: int = 0
    projection: Mapping[str, Handler] = field(default_factory=dict)  # kind -> handler; kinds without one change no table
    # Further ledger prefixes the part owns beside its name (the seal writes grant.*, device.*, ... too): an entry
    # under any of them whose kind the part does not declare is refused by the projection as an anomaly.
    prefixes: tuple[str, ...] = ()
    routing_kinds: tuple[str, ...] = ()  # item kinds that go through the routing desk, e.g. ("seal_request",)
    # The ledger page's filter groups, ledger prefix -> Chinese name ("grant": "授权"), in the order shown; none:
    # one group, its own prefix under its title.
    groups: Mapping[str, str] = field(default_factory=dict)
    config: ConfigSection | None = None
    commands: Mapping[str, Command] = field(default_factory=dict)  # queue command kind -> its handler
    cli: Callable[[argparse._SubParsersAction], None] | None = None  # type: ignore[type-arg]
    router: Callable[[Any], APIRouter] | None = None  # called with the web shell's context object
    templates: Path | None = None
    nav: tuple[NavItem, ...] = ()
    roles: Mapping[str, str] = field(default_factory=dict)  # role id -> Chinese name, beyond the kernel's
    tick: Tick | None = None
    exports: tuple[Export, ...] = ()
    publishes: Callable[[aiosqlite.Connection, str], Awaitable[list[Published]]] | None = None
    inbox: Inbox | None = None  # its items in the console's 待审批 inbox
    notices: Notices | None = None  # who is pushed what when it writes an entry (the next approver, a deadline missed)
    # Run when the working database is opened, in its schema transaction, with the version it had (0: new):
    # what an upgrade needs beyond CREATE ... IF NOT EXISTS.
    migrate: Callable[[aiosqlite.Connection, int], Awaitable[None]] | None = None
    # Run when the recorder catches the database up with the ledger (``host``: the working database and the
    # ledger): apply again what an older schema could not hold.
    backfill: Callable[[Any, Any], Awaitable[None]] | None = None
    # `make demo`: seeds believable sample data through the part's own desk (ledger entries first, as a user's
    # steps would), called with the running agent (``host``) before the console opens. A second demo run with
    # the same data calls it again: it adds nothing when its sample data is already there.
    demo: Tick | None = None
    # The ledger timeline's one line of Chinese for an entry of its kinds (called with the entry and the
    # village's EdgeConfig, pure; None or no hook: the kernel shows the kind's name and the body as written).
    summarize: Callable[[Entry, Any], str | None] | None = None
    # Kinds (of its own) that the central store's signed decisions may write here: a document of such a kind is
    # recorded as an entry of it, and the handler acts on it (an award starts the signing clock). Any other kind
    # from the central is refused: the central never writes, say, a seal approval by this back door.
    from_central: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        owned = self.owned_prefixes
        for kind in self.kinds:
            if kind.partition(".")[0] not in owned:
                raise ValueError(f"part {self.name}: kind {kind!r} is outside its prefixes {owned}")
        stray = set(self.from_central) - set(self.kinds)
        if stray:
            raise ValueError(f"part {self.name}: from_central names kinds it does not declare {sorted(stray)}")
        ungrouped = set(self.groups) - set(owned)
        if ungrouped:
            raise ValueError(f"part {self.name}: filter groups for prefixes it does not own {sorted(ungrouped)}")
        undeclared = set(self.projection) - set(self.kinds)
        if undeclared:
            raise ValueError(f"part {self.name}: handlers for undeclared kinds {sorted(undeclared)}")

    @property
    def owned_prefixes(self) -> tuple[str, ...]:
        return (self.name, *self.prefixes)
