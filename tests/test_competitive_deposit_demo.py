"""The demo's competitive deposit across both halves (``make demo`` runs the same hooks in this order): the
village's accounts and plans go up; the central's hook adds two neighbouring villages on their own signed ledgers
and holds last month's tender (finished, opened by the timer, its scores published) and this month's (open); the
award comes down and the village signs. The county then reads three villages' accounts: one eligible, one a fen
under the amount, one short of the time. A second pass adds nothing. SQLite and PostgreSQL."""

from __future__ import annotations

import httpx
from central_accounts_support import PASSWORD
from central_support import COUNTY, TOWNSHIP, VILLAGE, db_url, store  # noqa: F401 - fixtures
from sqlalchemy import select
from test_competitive_deposit_central import EDGE, Site, site  # noqa: F401 - site is a fixture

from central.accounts.demo import DemoSite, ensure_demo_accounts
from central.accounts.store import AccountStore
from central.modules.competitive_deposit import demo as central_demo
from central.modules.competitive_deposit import tender as T
from central.modules.competitive_deposit.tables import accounts, tenders
from edge.modules.competitive_deposit import demo as edge_demo


async def test_the_demo_shows_three_villages_a_finished_tender_and_an_open_one(site: Site) -> None:
    store, decisions, agent, client = site.store, site.decisions, site.agent, site.client
    await ensure_demo_accounts(AccountStore(store.db), COUNTY, TOWNSHIP, PASSWORD)
    demo_site = DemoSite(store, decisions, COUNTY, TOWNSHIP, EDGE, PASSWORD)
    counts = []
    for _ in range(2):  # as central/demo.py seeds: the village, a sync, the central, a sync, the village
        await edge_demo.seed(agent)
        await client.sync_once()
        await central_demo.seed(demo_site)
        await client.sync_once()
        await edge_demo.seed(agent)
        await client.sync_once()
        counts.append((await decisions.ledger.size(), await store.count_entries("demo-huangling"),
                       await store.count_entries("demo-shimen"), await agent.ledger.size()))  # fmt: skip
    assert counts[0] == counts[1]  # the second pass added nothing anywhere

    page = (await site.page(f"county:{COUNTY}")).text
    for village, says in (
        (VILLAGE, "闲置 3,380,000.00 元"),
        ("黄岭村", "闲置 2,999,999.99 元"),
        ("石门村", "闲置 3,500,000.00 元"),
    ):
        assert f"{village} · " in page and says in page, village
    assert "：未达 3,000,000.00 元" in page and "已 13 个月：未达" in page
    assert "已 5 个月：未超过 6 个月" in page and "应竞争性存放</span>" in page
    async with store.db.reader.connect() as conn:
        villages = sorted({r.village for r in await conn.execute(select(accounts))})
        by_status = {r.status: r.tender_id for r in await conn.execute(select(tenders))}
    assert villages == sorted([VILLAGE, "黄岭村", "石门村"])
    assert set(by_status) == {"opened", "bidding"}
    (result,) = [e for e in await decisions.ledger.entries() if e.kind == T.RESULT]
    assert result.body["actor"] == f"timer:{COUNTY}"  # the finished one was opened by the central's timer
    ranking = result.body["decision"]["lots"][0]["ranking"]
    assert [(r["bank_name"], r["score"]) for r in ranking] == [
        ("杭州银行萧山支行", "96.00"), ("萧山农村商业银行河上支行", "94.10"), ("中国农业银行萧山分行", "91.65")]  # fmt: skip
    assert "已签约" in page and '<div class="n" id="rate">2.0500</div>' in page  # the award came down, signed
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=site.app), base_url="http://central") as anyone:
        assert by_status["bidding"] in (await anyone.get("/m/competitive_deposit/public")).text
