"""限额工程 at the central, over the real sync: a township officer publishes the guide-price catalogue from a CSV;
it comes down to the township's village as a signed document and is the catalogue a project is priced from. Bad
files, another township's officer, a county officer and a reused version are refused and publish nothing.
SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest_asyncio
from central_accounts_support import OTHER_TOWNSHIP, Central, Clock, csrf_of, login, staff
from central_support import COUNTY, TOWNSHIP, db_url, enrol, pg_server, store  # noqa: F401 - fixtures
from edge_support import config_for

from central.app import create_app
from central.db import documents
from central.decisions.log import DecisionLog
from central.modules.small_project import CENTRAL_SMALL_PROJECT
from central.store import CentralStore
from edge.agent import EdgeAgent
from edge.kernel.accounts import Actor
from edge.kernel.config import CentralSettings
from edge.kernel.sync import SyncClient
from edge.ledger import Entry
from edge.modules.small_project import SMALL_PROJECT, desk
from edge.modules.small_project import projection as P
from edge.modules.small_project.rules import BillLine
from edge.seal.part import SEAL

EDGE = "qinglian-cun"
CSV = (
    "编号,名称,单位,单价(元)\nDL-01,C25 混凝土路面（厚 20cm）,平方米,120.00\nDL-02,花岗岩路缘石安装,米,85.50\n".encode(
        "utf-8-sig"
    )
)


@dataclasses.dataclass
class Site:
    store: CentralStore
    app: Any
    agent: EdgeAgent
    client: SyncClient

    def http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://central")


@pytest_asyncio.fixture
async def site(store: CentralStore, tmp_path: Path) -> AsyncIterator[Site]:  # noqa: F811
    decisions = await DecisionLog.open(tmp_path / "central", store.db)
    app = create_app(store, parts=(CENTRAL_SMALL_PROJECT,), decisions=decisions)
    key = decisions.public_key()["public_key"]
    config = config_for(tmp_path / "village", "socket://127.0.0.1:9")
    config = dataclasses.replace(config, central=CentralSettings("http://central", EDGE, decision_key=key))
    agent = await EdgeAgent.open(config, parts=(SEAL, SMALL_PROJECT))
    await enrol(store, EDGE, agent.config.data_dir)

    async def record(kind: str, body: dict[str, Any]) -> Entry:
        async with agent.recorder.step():
            return await agent.recorder.record(kind, body)

    client = SyncClient(agent.ledger, "http://central", EDGE, transport=httpx.ASGITransport(app=app), record=record,
                        decision_key=key, document_kinds=SMALL_PROJECT.from_central)  # fmt: skip
    for username, role, scope in (("zhenshen", "township_officer", f"township:{COUNTY}/{TOWNSHIP}"),
                                  ("pushen", "township_officer", f"township:{COUNTY}/{OTHER_TOWNSHIP}"),
                                  ("xianjian", "county_officer", f"county:{COUNTY}")):  # fmt: skip
        await staff(Central(store, app, Clock()), username, role, scope)
    try:
        yield Site(store, app, agent, client)
    finally:
        await client.stop()
        await agent.close()
        await decisions.close()


async def post(
    client: httpx.AsyncClient, data: bytes, version: str = "2026-下半年", token: str | None = None
) -> httpx.Response:
    form = {
        "version": version,
        "effective": "2026-07-01",
        "csrf": token if token is not None else await csrf_of(client, "/m/small_project"),
    }
    return await client.post("/m/small_project/catalogues", data=form, files={"file": ("目录.csv", data, "text/csv")})


async def queued(site: Site) -> int:
    async with site.store.db.reader.connect() as conn:
        return len((await conn.execute(documents.select())).all())


async def test_a_township_publishes_its_catalogue_and_the_village_prices_from_it(site: Site) -> None:
    async with site.http() as officer, site.http() as other, site.http() as county:
        for client, username in ((officer, "zhenshen"), (other, "pushen"), (county, "xianjian")):
            assert (await login(client, username)).status_code == 303
        assert 'id="publish-form"' in (await officer.get("/m/small_project")).text
        assert 'id="publish-form"' not in (await county.get("/m/small_project")).text
        # Refused, and nothing published: a county officer, no CSRF token, bad files.
        assert (await post(county, CSV, token="")).status_code == 403
        assert (await post(officer, CSV, token="wrong")).status_code == 403
        for bad, says in ((b"code,name\n1,2\n", "表头"), ("编号,名称,单位,单价(元)\nDL-01,路面,平方米,1e3\n".encode(), "第 2 行单价"),
                          ("编号,名称,单位,单价(元)\nDL-01,路面,平方米,1\nDL-01,又一个,米,2\n".encode(), "编号 DL-01 重复"), (b"\xff\xfe", "UTF-8")):  # fmt: skip
            refused = await post(officer, bad)
            assert refused.status_code == 400 and says in refused.text
        assert await queued(site) == 0
        assert (await post(officer, CSV)).status_code == 303
        assert (await post(officer, CSV)).status_code == 409  # the same version again
        page = (await officer.get("/m/small_project")).text
        assert "<td>2026-下半年</td><td>2026-07-01</td><td>2</td><td>1</td><td>zhenshen</td>" in page
        assert "2026-下半年" not in (await other.get("/m/small_project")).text  # another township's
        assert (await post(other, CSV, version="浦阳-1")).status_code == 303  # a township without villages here
    assert await queued(site) == 1
    down = await site.client.sync_once()
    assert (down.documents_applied, down.documents_refused) == (1, 0)
    async with site.agent.recorder.step():
        catalogue = await P.current_catalogue(site.agent.db.conn)
    assert catalogue is not None and catalogue.version == "2026-下半年" and catalogue.items["DL-02"].price_fen == 8_550
    clerk = Actor("cunwu", None, frozenset({"village_staff"}))
    draft = desk.ProjectDraft("西岙自然村道路硬化", "道路", "西岙自然村", "硬化村道", (BillLine("DL-01", "100"),))
    project_id = await desk.file_project(site.agent, clerk, draft)
    async with site.agent.recorder.step():
        row = await P.project(site.agent.db.conn, project_id)
    assert row is not None and row["catalogue_version"] == "2026-下半年" and row["total_fen"] == 1_200_000
