"""The central half of the part contract: what a module registers to have tables, pages and a JSON API at the
central store, for the central's roles (township and county officers, suppliers, banks).

A module's central part lives in ``central/modules/<name>/`` (``<name>`` as on the edge: ledger prefix, URL
segment ``/m/<name>``, central key) and is one line of :data:`central.modules.CENTRAL_PARTS`. The shared pieces
(accounts, sessions, CSRF, the principal and its scope, page rendering) come from the shell object its router is
called with (:class:`central.accounts.shell.CentralShell`), so the part itself is a folder that adds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import APIRouter
from sqlalchemy import Table

from central.db import metadata


@dataclass(frozen=True)
class NavItem:
    """A link in the central's navigation, shown to an account holding any of ``roles`` (empty: every account)."""

    path: str
    title: str
    roles: tuple[str, ...] = ()


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

    def __post_init__(self) -> None:
        for table in self.tables:
            if table.metadata is not metadata:
                raise ValueError(f"central part {self.name}: table {table.name} is not on central.db.metadata")
            if not table.name.startswith(f"{self.name}_"):
                raise ValueError(f"central part {self.name}: table {table.name} must be named {self.name}_...")
