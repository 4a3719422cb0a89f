"""The central half of the part contract: what a module registers to have tables, pages and a JSON API at the
central store, for the central's roles (township and county officers, suppliers, banks).

A module's central part lives in ``central/modules/<name>/`` (``<name>`` as on the edge: ledger prefix, URL
segment ``/m/<name>``, central key) and is one line of :data:`central.modules.CENTRAL_PARTS`. The shared pieces
(accounts, sessions, CSRF, the principal and its scope, page rendering) come from the shell object its router is
called with (:class:`central.accounts.shell.CentralShell`), so the part itself is a folder that adds.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import APIRouter
from sqlalchemy import Table

from central.db import metadata
from edge.ledger import Entry

#: A part's reaction to one verified entry of an edge's ledger, called as ``(ctx, edge, entry)``: ``ctx`` is a
#: :class:`central.decisions.delivery.EntryContext` (the transaction the batch is stored in, and ``decide``),
#: ``edge`` the edge's row (edge_id, village, township, county). Exactly once per entry, however often it is resent.
OnEntry = Callable[[Any, Any, Entry], Awaitable[None]]


@dataclass(frozen=True)
class NavItem:
    """A link in the central's navigation, shown to an account holding any of ``roles`` (empty: every account)."""

    path: str
    title: str
    roles: tuple[str, ...] = ()


@dataclass(frozen=True)
class WorkItem:
    """One thing waiting for an account in a part, listed on its landing page (我的工作)."""

    title: str
    link: str  # the part's page where it is done
    detail: str = ""


#: What waits for a principal in a part (a township's demands to review, a supplier's open tenders): called with
#: the central shell and the principal (its role and scope); only what that principal may see and do.
Work = Callable[[Any, Any], Awaitable[list[WorkItem]]]

#: A part's periodic work (a monthly tender gathered on its day, opened when its window ends), called with the
#: central shell once when the central starts and then every minute while it serves (central/ticks.py), only where
#: the central keeps a decision log. It reads what is due from the database, so a pass repeated does nothing more.
Tick = Callable[[Any], Awaitable[None]]


@dataclass(frozen=True)
class CentralPart:
    """One module's central half."""

    name: str  # == the edge part's name
    title: str  # Chinese, e.g. "一网采购"
    # Its own tables, SQLAlchemy Core on the central's one MetaData (central.db.metadata) and named "<name>_...":
    # the store creates them with its own when it opens, by the same code on SQLite and PostgreSQL.
    tables: tuple[Table, ...] = ()
    router: Callable[[Any], APIRouter] | None = None  # called with the central shell (CentralShell)
    templates: Path | None = None  # a folder holding templates/<name>/*.html is found by the central's pages
    nav: tuple[NavItem, ...] = ()
    work: Work | None = None  # its items on each account's 我的工作
    tick: Tick | None = None  # its periodic work
    # The edges' ledger kinds it reacts to (its own prefix's) -> the reaction, for each entry of a verified batch.
    on_entry: Mapping[str, OnEntry] = field(default_factory=dict)
    # The decision kinds it records in the central's decision log (its own prefix's) -> Chinese name.
    decisions: Mapping[str, str] = field(default_factory=dict)
    # `make demo`: seeds its sample data through its own steps (decisions in the central's log first), called
    # with a central.accounts.demo.DemoSite once the demo's accounts exist; a second run adds nothing.
    demo: Callable[[Any], Awaitable[None]] | None = None

    def __post_init__(self) -> None:
        for kind in (*self.on_entry, *self.decisions):
            if kind.partition(".")[0] != self.name:
                raise ValueError(f"central part {self.name}: kind {kind!r} is not under its prefix {self.name}.")
        for table in self.tables:
            if table.metadata is not metadata:
                raise ValueError(f"central part {self.name}: table {table.name} is not on central.db.metadata")
            if not table.name.startswith(f"{self.name}_"):
                raise ValueError(f"central part {self.name}: table {table.name} must be named {self.name}_...")
