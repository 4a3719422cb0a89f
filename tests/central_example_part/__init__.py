"""A test-only central part: registers through central/contract.py alone (a table, a page with its template, a
nav link and items on 我的工作), so tests/test_central_accounts_contract.py shows the central half of the contract working end to end."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import Column, Integer, Table, Text, select

from central.contract import CentralPart, NavItem, WorkItem
from central.db import metadata

notes = Table(
    "example_notes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("text", Text, nullable=False),
)


def router(shell: Any) -> APIRouter:
    api = APIRouter()

    @api.get("/m/example", include_in_schema=False)
    async def page(request: Request) -> Response:
        await shell.require(request, "county_officer", "supervisor")
        async with shell.store.db.reader.connect() as conn:
            rows = (await conn.execute(select(notes.c.text).order_by(notes.c.id))).scalars().all()
        return await shell.render(request, "example/notes.html", notes=list(rows))

    return api


async def work(shell: Any, who: Any) -> list[WorkItem]:
    """A county officer's notes to read; nothing for anyone else."""
    if who.role != "county_officer":
        return []
    async with shell.store.db.reader.connect() as conn:
        texts = (await conn.execute(select(notes.c.text).order_by(notes.c.id))).scalars().all()
    return [WorkItem(f"待阅：{text}", "/m/example") for text in texts]


EXAMPLE = CentralPart(
    "example", "示例", tables=(notes,), router=router, templates=Path(__file__).parent / "templates",
    nav=(NavItem("/m/example", "示例记录", ("county_officer", "supervisor")),), work=work,
)  # fmt: skip
