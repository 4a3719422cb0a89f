"""The central half of the part contract: a part registered through central/contract.py alone gets its table
created by the store, its router mounted, its templates found and its nav link shown, on both databases."""

from __future__ import annotations

import httpx
import pytest
from central_example_part import EXAMPLE, notes
from central_support import db_url, pg_server, store  # noqa: F401 - fixtures
from sqlalchemy import Column, Integer, MetaData, Table

from central.app import create_app
from central.contract import CentralPart
from central.db import metadata
from central.store import CentralStore


async def test_a_central_part_gets_its_table_page_and_nav(store: CentralStore) -> None:
    async with store.db.writer.begin() as conn:  # the store created the part's table when it opened
        await conn.execute(notes.insert().values(text="第一条"))
    token = await store.issue_token("all", "督查")
    app = create_app(store, parts=(EXAMPLE,))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://central") as client:
        page = await client.get("/m/example", headers={"Authorization": f"Bearer {token}"})
        assert page.status_code == 200
        assert "第一条" in page.text and 'href="/m/example"' in page.text
        overview = await client.get("/", headers={"Authorization": f"Bearer {token}"})
        assert 'href="/m/example"' in overview.text  # the nav link on the central's own pages too
        assert (await client.get("/m/example")).status_code == 303  # no one logged in: to the login page


def test_a_part_table_must_be_the_central_s_and_carry_its_name() -> None:
    with pytest.raises(ValueError, match="central.db.metadata"):
        CentralPart("stray", "游离", tables=(Table("stray_rows", MetaData(), Column("id", Integer, primary_key=True)),))
    with pytest.raises(ValueError, match="must be named"):
        CentralPart("named", "命名", tables=(Table("other_rows", metadata, Column("id", Integer, primary_key=True)),))
    metadata.remove(metadata.tables["other_rows"])  # not left for the other tests' stores to create
