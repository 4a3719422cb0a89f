"""The central half of the part contract: a part registered through central/contract.py alone gets its table
created by the store, its router mounted, its templates found, its nav link shown and its waiting items listed on
the landing page of the accounts they are for, on both databases."""

from __future__ import annotations

import httpx
import pytest
from central_example_part import EXAMPLE, notes
from central_accounts_support import PASSWORD, login
from central_support import db_url, store  # noqa: F401 - fixtures
from sqlalchemy import Column, Integer, MetaData, Table

from central.accounts.store import AccountStore
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


async def test_a_part_lists_what_waits_for_an_account_on_its_landing_page(store: CentralStore) -> None:
    async with store.db.writer.begin() as conn:
        await conn.execute(notes.insert().values(text="河上镇采购需求"))
    accounts = AccountStore(store.db)
    await accounts.create_staff("xianguan", "县监管", "county_officer", "county:萧山区", PASSWORD, "t", own_password=True)
    await accounts.create_staff("hezhen", "何镇", "township_officer", "township:萧山区/河上镇", PASSWORD, "t",
                                own_password=True)  # fmt: skip
    app = create_app(store, parts=(EXAMPLE,))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://central") as county, \
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://central") as township:
        await login(county, "xianguan")
        await login(township, "hezhen")
        mine = (await county.get("/work")).text
        assert "示例" in mine and "待阅：河上镇采购需求" in mine and 'href="/m/example"' in mine
        theirs = (await township.get("/work")).text
        assert "河上镇采购需求" not in theirs and "暂无待办事项" in theirs and 'href="/m/example"' not in theirs


def test_a_part_table_must_be_the_central_s_and_carry_its_name() -> None:
    with pytest.raises(ValueError, match="central.db.metadata"):
        CentralPart("stray", "游离", tables=(Table("stray_rows", MetaData(), Column("id", Integer, primary_key=True)),))
    with pytest.raises(ValueError, match="must be named"):
        CentralPart("named", "命名", tables=(Table("other_rows", metadata, Column("id", Integer, primary_key=True)),))
    metadata.remove(metadata.tables["other_rows"])  # not left for the other tests' stores to create
