"""一网采购 across both halves: a demand the village approved goes up in its verified ledger, the central's
procurement part keeps it for the township; a township officer of another township can neither see nor decide
it, a county officer reads but does not decide; the demand's own township officer returns it with a reason (a
decision whose signed document goes down), the village's edge applies it once; another demand is approved (a
central decision, nothing sent down). Both databases."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import socket
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
import uvicorn
from central_accounts_support import CODES, OTHER_TOWNSHIP, PASSWORD, PNG, Central, Clock, form_token, login, staff
from central_support import COUNTY, TOWNSHIP, db_url, enrol, store  # noqa: F401 - fixtures
from edge_support import config_for
from test_procurement_race import open_tender

import central.modules.procurement.kinds as K_CENTRAL
from central.accounts.store import AccountStore
from central.app import create_app
from central.db import documents
from central.decisions.log import DecisionLog
from central.modules.procurement import PROCUREMENT as CENTRAL_PROCUREMENT
from central.modules.procurement.bidding import EXTEND
from central.modules.procurement.creditdesk import deduct, reinstate
from central.modules.procurement.review import review
from central.modules.procurement.suppliers import qualified
from central.modules.procurement.tables import demands
from central.modules.procurement.tender import award, bid, seen_by
from central.modules.procurement.tender import moment as tender_moment
from central.store import CentralStore, Principal, Refusal
from edge.agent import EdgeAgent
from edge.kernel.accounts import Actor
from edge.kernel.config import CentralSettings
from edge.kernel.sync import SyncClient
from edge.ledger import Entry
from edge.modules import PARTS
from edge.modules.procurement import PROCUREMENT, desk
from edge.modules.procurement import kinds as K
from edge.modules.procurement.inputs import DemandDraft, Line, PurchaseDraft

EDGE = "qinglian-cun"
WITH_PROCUREMENT = PARTS if PROCUREMENT in PARTS else (*PARTS, PROCUREMENT)


@dataclasses.dataclass
class Site:
    store: CentralStore
    decisions: DecisionLog
    app: Any
    agent: EdgeAgent
    client: SyncClient

    def http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://central")

    async def demand(self, title: str) -> str:
        people = self.agent.config.people
        staff_actor = Actor("liming", people["liming"], frozenset({"applicant"}))
        boss = Actor("zhangwei", people["zhangwei"], frozenset({"approver"}))
        draft = DemandDraft(
            title,
            "其他",
            "文化礼堂",
            (Line("会议桌", "张", 10, 120_000, "1.8 米"),),
            "青莲村文化礼堂",
            date(2099, 1, 10),
        )
        demand_id = await desk.file_demand(self.agent, staff_actor, draft, _nothing)
        assert await desk.decide_demand(self.agent, boss, demand_id, True)
        return demand_id

    async def edge_status(self, demand_id: str) -> tuple[str, str | None]:
        sql = "SELECT status, reason FROM procurement_demands WHERE id = ?"
        async with self.agent.recorder.step(), self.agent.db.conn.execute(sql, (demand_id,)) as cur:
            row = await cur.fetchone()
        assert row is not None
        return str(row[0]), row[1]

    async def central_rows(self) -> list[Any]:
        async with self.store.db.reader.connect() as conn:
            return list((await conn.execute(demands.select().order_by(demands.c.demand_id))).all())


async def _nothing() -> None:
    return None


@pytest_asyncio.fixture
async def site(store: CentralStore, tmp_path: Path) -> AsyncIterator[Site]:
    decisions = await DecisionLog.open(tmp_path / "central", store.db)
    app = create_app(store, parts=(CENTRAL_PROCUREMENT,), decisions=decisions)
    key = decisions.public_key()["public_key"]
    config = config_for(tmp_path / "village", "socket://127.0.0.1:9")
    config = dataclasses.replace(config, central=CentralSettings("http://central", EDGE, decision_key=key))
    agent = await EdgeAgent.open(config, parts=WITH_PROCUREMENT)
    await enrol(store, EDGE, agent.config.data_dir)

    async def record(kind: str, body: dict[str, Any]) -> Entry:
        async with agent.recorder.step():
            return await agent.recorder.record(kind, body)

    kinds = [kind for part in WITH_PROCUREMENT for kind in part.from_central]
    client = SyncClient(agent.ledger, "http://central", EDGE, transport=httpx.ASGITransport(app=app), record=record,
                        decision_key=key, document_kinds=kinds)  # fmt: skip
    for username, role, scope in (("zhenshen", "township_officer", f"township:{COUNTY}/{TOWNSHIP}"),
                                  ("pushen", "township_officer", f"township:{COUNTY}/{OTHER_TOWNSHIP}"),
                                  ("xianjian", "county_officer", f"county:{COUNTY}")):  # fmt: skip
        await staff(Central(store, app, Clock()), username, role, scope)
    try:
        yield Site(store, decisions, app, agent, client)
    finally:
        await client.stop()
        await agent.close()
        await decisions.close()


async def csrf(client: httpx.AsyncClient) -> str:
    """The session's CSRF token, from the page's forms ("" when the page has none: then the header's)."""
    page = await client.get("/m/procurement")
    return form_token(page) if 'name="csrf"' in page.text else ""


async def test_a_demand_goes_up_is_returned_by_its_township_and_comes_down_once(site: Site) -> None:
    first = await site.demand("文化礼堂桌椅")
    await site.client.sync_once()  # up: the submitted demand, handed to the central part once
    [row] = await site.central_rows()
    assert (row.edge_id, row.demand_id, row.status, row.township, row.ceiling_fen) == (
        EDGE,
        first,
        "submitted",
        TOWNSHIP,
        1_200_000,
    )

    async with site.http() as officer, site.http() as other, site.http() as county:
        for client, username in ((officer, "zhenshen"), (other, "pushen"), (county, "xianjian")):
            assert (await login(client, username)).status_code == 303
        page = await officer.get("/m/procurement")
        assert page.status_code == 200 and "文化礼堂桌椅" in page.text and 'value="return"' in page.text
        # Another township's officer: not in their scope at all.
        assert "文化礼堂桌椅" not in (await other.get("/m/procurement")).text
        path = f"/m/procurement/demands/{EDGE}/{first}/review"
        refused = await other.post(path, data={"decision": "approve", "csrf": await csrf(other)})
        assert refused.status_code == 404
        # The county officer reads it but does not decide.
        seen = await county.get("/m/procurement")
        assert "文化礼堂桌椅" in seen.text and 'value="return"' not in seen.text
        assert (await county.post(path, data={"decision": "approve", "csrf": await csrf(county)})).status_code == 403
        # Without the form's token, or without a reason: nothing decided.
        token = await csrf(officer)
        assert (await officer.post(path, data={"decision": "return", "reason": "缺规格"})).status_code == 403
        assert (await officer.post(path, data={"decision": "return", "reason": " ", "csrf": token})).status_code == 400
        returned = await officer.post(
            path, data={"decision": "return", "reason": "会议桌规格不明，请写明尺寸和材质", "csrf": token}
        )
        assert returned.status_code == 303
        again = await officer.post(path, data={"decision": "approve", "csrf": token})
        assert again.status_code == 409
    [row] = await site.central_rows()
    assert (row.status, row.decided_by, row.reason) == ("returned", "zhenshen", "会议桌规格不明，请写明尺寸和材质")
    decision = await site.decisions.ledger.entry(row.decision_index)
    assert (
        decision.kind == K.DEMAND_RETURNED and decision.body["village"] == EDGE and decision.body["actor"] == "zhenshen"
    )

    down = await site.client.sync_once()  # down: the signed document, applied by the edge's procurement part
    assert (down.documents_applied, down.documents_refused) == (1, 0)
    assert await site.edge_status(first) == ("returned", "会议桌规格不明，请写明尺寸和材质")
    assert (await site.client.sync_once()).documents_applied == 0  # once
    async with site.store.db.reader.connect() as conn:
        [queued] = (await conn.execute(documents.select())).all()
    assert queued.status == "applied"

    # Another demand, approved by its township: its document goes down, and the village sees bidding open.
    second = await site.demand("村道路灯")
    await site.client.sync_once()
    async with site.http() as officer:
        await login(officer, "zhenshen")
        approved = await officer.post(
            f"/m/procurement/demands/{EDGE}/{second}/review", data={"decision": "approve", "csrf": await csrf(officer)}
        )
        assert approved.status_code == 303
    assert [(r.demand_id, r.status) for r in await site.central_rows()] == [(first, "returned"), (second, "approved")]
    assert (await site.client.sync_once()).documents_applied == 1
    assert await site.edge_status(second) == ("bidding", None)


async def apply(site: Site, username: str, kind: str, code: str, categories: list[str], county: str = COUNTY) -> int:
    accounts = AccountStore(site.store.db)
    made = await accounts.apply(kind=kind, username=username, password=PASSWORD, org_name=f"{username} 有限公司", credit_code=code,
                                county=county, contact_name="王经理", contact_phone="13812345678", categories=categories, licence=PNG)  # fmt: skip
    return made.id


async def test_the_suppliers_qualified_for_a_demand_are_the_county_s_approved_ones_of_its_category(site: Site) -> None:
    accounts = AccountStore(site.store.db)
    office = await apply(site, "wenju", "supplier", CODES[0], ["办公用品", "设备家电"])
    await apply(site, "jiancai", "supplier", CODES[1], ["建材五金"])
    daishen = await apply(site, "daishen", "supplier", CODES[2], ["其他"])
    refused = await apply(site, "bohui", "supplier", CODES[3], ["其他"])
    await accounts.decide("county", COUNTY, office, True, "", "xianjian")
    await accounts.decide("county", COUNTY, refused, False, "执照过期", "xianjian")
    approved = await accounts.applications_for("county", COUNTY, "approved")
    assert [a.username for a in qualified(approved, "设备家电")] == ["wenju"]
    assert (
        qualified(approved, "其他") == [] and qualified(approved, "建材五金") == []
    )  # pending, refused: not qualified

    await site.demand("文化礼堂桌椅")  # category 其他: nobody may bid yet
    await site.client.sync_once()
    async with site.http() as officer, site.http() as county:
        await login(officer, "zhenshen")
        await login(county, "xianjian")
        page = await officer.get("/m/procurement")
        assert "本县该类合格供应商 0 家：无人可以竞价" in page.text
        assert (await officer.get("/m/procurement/suppliers")).status_code == 403
        listed = await county.get("/m/procurement/suppliers")
        assert (
            listed.status_code == 200 and listed.text.count("wenju 有限公司") == 3
        )  # 办公用品, 设备家电 and its credit index
        assert "jiancai" not in listed.text and "daishen" not in listed.text and "13812345678" not in listed.text
        assert "100.0 分" in listed.text
        # The credit index, lowest first: a supplier approved later but deducted comes before one at 100.
        await accounts.decide("county", COUNTY, daishen, True, "", "xianjian")
        deducted = await county.post("/m/procurement/suppliers/daishen/deduct", data={
            "kind": "late_delivery", "reason": "交货逾期两天", "evidence": "验收单 YS-3", "csrf": form_token(listed)})  # fmt: skip
        assert deducted.status_code == 303
        listed = await county.get("/m/procurement/suppliers")
        assert "97.5 分" in listed.text and listed.text.index('id="credit-daishen"') < listed.text.index('id="credit-wenju"')


async def test_an_award_comes_down_as_a_signed_document_and_the_deal_goes_on_at_the_village(site: Site) -> None:
    demand_id = await site.demand("党群服务中心空调")
    returned = await site.demand("被退回的需求")
    await site.client.sync_once()
    async with site.store.db.writer.begin() as conn:
        officer = Principal("township", f"{COUNTY}/{TOWNSHIP}", "镇审核员", "township_officer", "zhenshen")
        await review(conn, site.decisions, officer, EDGE, demand_id, True)
        await review(conn, site.decisions, officer, EDGE, returned, False, "请补充规格")
    # The bidding's result, as the central's award decision will send it (the bidding itself is not built yet).
    award = {"demand_id": demand_id, "award_id": "A-1", "supplier": {"id": "wenju", "name": "文具有限公司"},
             "amount_fen": 1_150_000, "lines": [{"line": 1, "unit_fen": 115_000}], "bids": 3}  # fmt: skip
    await site.decisions.decide(K.AWARD, award, EDGE, actor="zhenshen")
    await site.decisions.decide(
        K.AWARD, {**award, "demand_id": returned}, EDGE, actor="zhenshen"
    )  # not awaiting an award
    down = await site.client.sync_once()
    # The approval, the return and both awards: verified and recorded.
    assert (down.documents_applied, down.documents_refused) == (4, 0)
    assert await site.edge_status(demand_id) == ("awarded", None)
    assert await site.edge_status(returned) == ("returned", "请补充规格")  # the stray award changed nothing ...
    anomalies = await site.agent.db.projection_anomalies()
    assert [a["kind"] for a in anomalies] == [K.AWARD]  # ... and is on record as an anomaly
    people = site.agent.config.people
    staff_actor = Actor("liming", people["liming"], frozenset({"applicant"}))
    await desk.sign_contract(site.agent, staff_actor, demand_id, "HT-2026-01", date(2026, 1, 5), _nothing)
    assert await desk.check_delivery(site.agent, staff_actor, demand_id, [10], date(2026, 1, 6), _nothing)
    assert await desk.record_payment(site.agent, staff_actor, demand_id, 1_150_000, date(2026, 1, 7), _nothing) == 0
    assert await site.edge_status(demand_id) == ("paid", None)


def supplier(username: str) -> Principal:
    return Principal("self", username, f"{username} 有限公司", "supplier", username)


async def test_suppliers_bid_see_only_their_rank_and_the_lowest_bid_wins_at_the_village(site: Site) -> None:
    accounts = AccountStore(site.store.db)
    for username, code, categories in (("wenju", CODES[0], ["其他"]), ("jiancai", CODES[1], ["其他", "建材五金"]),
                                       ("wujin", CODES[2], ["建材五金"])):  # fmt: skip
        await accounts.decide(
            "county", COUNTY, await apply(site, username, "supplier", code, categories), True, "", "xianjian"
        )
    demand_id = await site.demand("文化礼堂桌椅")  # 其他, ceiling 12,000.00
    await site.client.sync_once()
    t0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    officer = Principal("township", f"{COUNTY}/{TOWNSHIP}", "镇审核员", "township_officer", "zhenshen")
    async with site.store.db.writer.begin() as conn:
        await review(conn, site.decisions, officer, EDGE, demand_id, True, now=t0)

    async def offer(username: str, fen: int, at: datetime) -> dict[str, Any]:
        application = await accounts.application_of(username)
        async with site.store.db.writer.begin() as conn:
            board = await bid(conn, site.decisions, supplier(username), application, EDGE, demand_id, fen, at)
        return board.seen_by(username)

    seen = await offer("wenju", 1_150_000, t0 + timedelta(hours=1))
    assert (seen["lowest_fen"], seen["rank"], seen["bidders"]) == (1_150_000, 1, 1)
    seen = await offer("jiancai", 1_100_000, t0 + timedelta(hours=2))
    assert (seen["lowest_fen"], seen["rank"], seen["bidders"]) == (1_100_000, 1, 2)
    assert "wenju" not in json.dumps(seen, ensure_ascii=False)  # never a rival's name
    async with site.store.db.reader.connect() as conn:
        assert (await seen_by(conn, "wenju", EDGE, demand_id))["rank"] == 2
    for who, fen, why in (("wujin", 1_000_000, "合格供应商"), ("wenju", 1_200_001, "高于最高限价")):
        with pytest.raises(Refusal, match=why):
            await offer(who, fen, t0 + timedelta(hours=3))
    # A bid in the last minute keeps the window open five more minutes; the award waits for its end.
    close = t0 + timedelta(days=3)
    await offer("wenju", 1_090_000, close - timedelta(minutes=1))
    end = close - timedelta(minutes=1) + EXTEND
    async with site.store.db.writer.begin() as conn:
        with pytest.raises(Refusal, match="竞价进行中"):
            await award(conn, site.decisions, officer, EDGE, demand_id, close)
    with pytest.raises(Refusal, match="结束"):
        await offer("jiancai", 1_000_000, end)  # the window's end: closed
    async with site.store.db.writer.begin() as conn:
        await award(conn, site.decisions, officer, EDGE, demand_id, end)
    down = await site.client.sync_once()
    assert down.documents_applied == 2  # the township's approval and the award
    sql = "SELECT status, award FROM procurement_demands WHERE id = ?"
    async with site.agent.recorder.step(), site.agent.db.conn.execute(sql, (demand_id,)) as cur:
        status, awarded = await cur.fetchone()  # type: ignore[misc]
    assert status == "awarded"
    assert (
        json.loads(awarded)["supplier"] == {"id": "wenju", "name": "wenju 有限公司"}
        and json.loads(awarded)["amount_fen"] == 1_090_000
    )
    assert [r.status for r in await site.central_rows()] == ["awarded"]
    async with site.http() as county:  # the county's view: the deal against its ceiling
        await login(county, "xianjian")
        page = await county.get("/m/procurement/deals")
        assert (
            page.status_code == 200 and "节约 <b>¥1,100.00</b>（9.1%）" in page.text and "wenju 有限公司" in page.text
        )


async def test_a_supplier_bids_through_its_page(site: Site) -> None:
    accounts = AccountStore(site.store.db)
    await accounts.decide(
        "county", COUNTY, await apply(site, "wenju", "supplier", CODES[0], ["其他"]), True, "", "xianjian"
    )
    demand_id = await site.demand("文化礼堂桌椅")
    await site.client.sync_once()
    async with site.http() as officer, site.http() as bidder:
        await login(officer, "zhenshen")
        assert (await officer.post(f"/m/procurement/demands/{EDGE}/{demand_id}/review",
                                   data={"decision": "approve", "csrf": await csrf(officer)})).status_code == 303  # fmt: skip
        assert (await login(bidder, "wenju")).status_code == 303
        page = await bidder.get("/m/procurement/tenders")
        assert "文化礼堂桌椅" in page.text and "暂无报价" in page.text
        token = form_token(page)
        path = f"/m/procurement/tenders/{EDGE}/{demand_id}/bid"
        assert (await bidder.post(path, data={"amount": "12000.01", "csrf": token})).status_code == 409
        assert (await bidder.post(path, data={"amount": "1e4", "csrf": token})).status_code == 400
        assert (await bidder.post(path, data={"amount": "11500.00"})).status_code == 403  # no CSRF token
        assert (await bidder.post(path, data={"amount": "11,500.00", "csrf": token})).status_code == 303
        page = await bidder.get("/m/procurement/tenders")
        assert "¥11,500.00" in page.text and '<b class="rank">1</b> / <span class="bidders">1</span> 家' in page.text
        assert (
            await officer.post(path, data={"amount": "1", "csrf": await csrf(officer)})
        ).status_code == 403  # not a supplier


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_two_bidders_see_their_ranks_change_live_without_each_other_s_names(
    store: CentralStore, tmp_path: Path
) -> None:
    """Over a real socket: each bidder's live stream (server-sent events) moves when the other bids, and when the
    county blacklists the other."""
    decisions = await DecisionLog.open(tmp_path / "central", store.db)
    app = create_app(store, parts=(CENTRAL_PROCUREMENT,), decisions=decisions)
    central = Central(store, app, Clock())
    app.state.shell.clock = central.clock
    await staff(central, "zhenshen", "township_officer", f"township:{COUNTY}/{TOWNSHIP}")
    await staff(central, "xianjian", "county_officer", f"county:{COUNTY}")
    await open_tender(store, decisions, tender_moment(central.clock()))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    live = f"/m/procurement/tenders/{EDGE}/XQ-00001/live"
    try:
        async with httpx.AsyncClient(base_url=url, timeout=30) as a, httpx.AsyncClient(base_url=url, timeout=30) as b:
            for client, username in ((a, "wenju"), (b, "jiancai")):
                assert (await login(client, username)).status_code == 303
            tokens = [form_token(await c.get("/m/procurement/tenders")) for c in (a, b)]
            path = f"/m/procurement/tenders/{EDGE}/XQ-00001/bid"
            async with a.stream("GET", live) as stream_a, b.stream("GET", live) as stream_b:
                lines_a, lines_b = stream_a.aiter_lines(), stream_b.aiter_lines()

                async def next_event(lines: Any) -> dict[str, Any]:
                    async for line in lines:
                        if line.startswith("data: "):
                            return json.loads(line[6:])  # type: ignore[no-any-return]
                    raise AssertionError("the stream ended")

                assert (await next_event(lines_a))["bidders"] == 0
                assert (await next_event(lines_b))["bidders"] == 0
                assert (await a.post(path, data={"amount": "11500", "csrf": tokens[0]})).status_code == 303
                assert await next_event(lines_a) == {**(seen := await next_event(lines_b)), "rank": 1}
                assert (seen["lowest_fen"], seen["rank"], seen["bidders"]) == (1_150_000, None, 1)
                assert (await b.post(path, data={"amount": "11000", "csrf": tokens[1]})).status_code == 303
                after_a, after_b = await next_event(lines_a), await next_event(lines_b)
                assert (after_a["rank"], after_b["rank"], after_a["lowest_fen"], after_a["bidders"]) == (
                    2,
                    1,
                    1_100_000,
                    2,
                )
                assert "jiancai" not in json.dumps(after_a, ensure_ascii=False) and "wenju" not in json.dumps(
                    after_b, ensure_ascii=False
                )
                # The county takes jiancai to 77.5 (20 points, then 2.5): blacklisted, its bid withdrawn, and a's page
                # shows it though nobody bid (a blacklisting makes each page read its tender again).
                async with httpx.AsyncClient(base_url=url, timeout=30) as county:
                    assert (await login(county, "xianjian")).status_code == 303
                    token = form_token(await county.get("/m/procurement/suppliers"))
                    for kind in ("refused_to_sign", "late_delivery"):
                        step = await county.post("/m/procurement/suppliers/jiancai/deduct", data={
                            "kind": kind, "reason": "中标后拒签合同", "evidence": "镇审核记录 12-02", "csrf": token})  # fmt: skip
                        assert step.status_code == 303
                withdrawn = await asyncio.wait_for(next_event(lines_a), 60)  # keep-alives would wait for ever
                assert (withdrawn["rank"], withdrawn["lowest_fen"], withdrawn["bidders"]) == (1, 1_150_000, 1)
    finally:
        server.should_exit = True
        await serving
        await decisions.close()


async def test_a_supplier_below_80_is_blacklisted_at_once_its_bids_withdrawn_until_the_county_reinstates_it(
    site: Site,
) -> None:
    accounts = AccountStore(site.store.db)
    for username, code in (("wenju", CODES[0]), ("jiancai", CODES[1])):
        await accounts.decide(
            "county", COUNTY, await apply(site, username, "supplier", code, ["其他"]), True, "", "xianjian"
        )
    demand_id = await site.demand("文化礼堂桌椅")
    await site.client.sync_once()
    t0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    township = Principal("township", f"{COUNTY}/{TOWNSHIP}", "镇审核员", "township_officer", "zhenshen")
    county = Principal("county", COUNTY, "县监管", "county_officer", "xianjian")
    elsewhere = Principal("county", "余杭区", "他县监管", "county_officer", "yuhang")
    async with site.store.db.writer.begin() as conn:
        await review(conn, site.decisions, township, EDGE, demand_id, True, now=t0)

    async def step(fn: Any, *args: Any) -> Any:
        async with site.store.db.writer.begin() as conn:
            return await fn(conn, site.decisions, *args)

    async def offer(username: str, fen: int) -> dict[str, Any]:
        application = await accounts.application_of(username)
        board = await step(bid, supplier(username), application, EDGE, demand_id, fen, t0 + timedelta(hours=1))
        return board.seen_by(username)  # type: ignore[no-any-return]

    await offer("wenju", 1_000_000)
    await offer("jiancai", 1_100_000)
    wenju = await accounts.application_of("wenju")
    for who, status in ((township, 403), (elsewhere, 404)):
        with pytest.raises(Refusal) as refused:
            await step(deduct, who, wenju, "late_delivery", "逾期三天", "验收单 YS-1", t0)
        assert refused.value.status == status
    assert await step(deduct, county, wenju, "refused_to_sign", "中标后拒签合同", "镇审核记录 2026-12-02", t0) == (
        800,
        False,
    )
    async with site.store.db.reader.connect() as conn:
        assert (await seen_by(conn, "jiancai", EDGE, demand_id))["rank"] == 2  # 80.0 still trades: its bid stands
    assert await step(deduct, county, wenju, "late_delivery", "逾期交货五天", "验收单 YS-2", t0) == (775, True)
    async with site.store.db.reader.connect() as conn:
        seen = await seen_by(conn, "jiancai", EDGE, demand_id)
    assert (seen["rank"], seen["lowest_fen"], seen["bidders"]) == (1, 1_100_000, 1)  # the blacklisted bid is withdrawn
    with pytest.raises(Refusal, match="黑名单"):
        await offer("wenju", 900_000)
    with pytest.raises(Refusal, match="理由"):
        await step(reinstate, county, wenju, " ", t0)
    await step(reinstate, county, wenju, "整改到位，县监管会议同意恢复", t0)
    again = await offer("wenju", 1_050_000)  # back at 80, trading again; its withdrawn 10,000.00 stays withdrawn
    assert (again["rank"], again["lowest_fen"], again["bidders"]) == (1, 1_050_000, 2)
    kinds = [e.kind for e in await site.decisions.ledger.entries()]
    assert kinds.count(K_CENTRAL.CREDIT_DEDUCTED) == 2 and kinds.count(K_CENTRAL.CREDIT_REINSTATED) == 1


async def test_split_purchases_are_flagged_per_village_at_the_central_overrides_included(site: Site) -> None:
    """The purchases the village records go up; the edge's own rule runs over them at the central: 4,999.99 of
    office supplies in two months is no flag (nor 9,000.00 of a project bought through the platform), the approved override that brings them to 5,000.00 is one (shown
    as the village's exception); another township's officer sees none of it, a supplier nothing at all."""
    people = site.agent.config.people
    clerk = Actor("liming", people["liming"], frozenset({"applicant"}))
    boss = Actor("zhangwei", people["zhangwei"], frozenset({"approver"}))

    def bought(day: str, fen: int, channel: str = "offline", category: str = "办公用品", project: str = "") -> PurchaseDraft:
        return PurchaseDraft(date.fromisoformat(day), category, project, "兴华文具店", channel, (Line("打印纸", "箱", 1, fen),))

    await desk.record_purchase(site.agent, clerk, bought("2026-03-31", 300_000), _nothing)
    await desk.record_purchase(site.agent, clerk, bought("2026-05-31", 199_999), _nothing)
    await desk.record_purchase(site.agent, clerk, bought("2026-05-01", 900_000, "platform", "设备家电", "文化礼堂"), _nothing)
    await site.client.sync_once()
    async with site.http() as township, site.http() as elsewhere, site.http() as bidder:
        await login(township, "zhenshen")
        assert (await township.get("/m/procurement/splits.json")).json() == {"flags": []}  # 4,999.99: no flag
        override = await desk.request_override(site.agent, clerk, bought("2026-05-31", 1), "换届选举材料本周必须打印，平台来不及供货", _nothing)
        assert await desk.decide_override(site.agent, boss, override, True) == "CG-00004"
        await site.client.sync_once()
        [flag] = (await township.get("/m/procurement/splits.json")).json()["flags"]
        assert flag == {
            "rule": "same_category_2_months", "village": "青莲村", "ids": ["CG-00001", "CG-00002", "CG-00004"],
            "total_yuan": "5000.00", "township": TOWNSHIP, "county": COUNTY, "edge_id": EDGE, "key": "办公用品",
            "start": "2026-03-31", "end": "2026-05-31", "offline": ["CG-00001", "CG-00002", "CG-00004"],
            "overridden": ["CG-00004"],
        }  # fmt: skip
        page = await township.get("/m/procurement/splits")
        assert page.status_code == 200 and "同类物品两个月内累计" in page.text and "¥5,000.00" in page.text
        assert "例外：LW-00001：换届选举材料本周必须打印" in page.text
        await login(elsewhere, "pushen")  # another township's officer
        assert (await elsewhere.get("/m/procurement/splits.json")).json() == {"flags": []}
        assert "暂无拆分采购预警" in (await elsewhere.get("/m/procurement/splits")).text
        made = await apply(site, "wenju", "supplier", CODES[0], ["其他"])
        await AccountStore(site.store.db).decide("county", COUNTY, made, True, "", "xianjian")
        await login(bidder, "wenju")
        assert (await bidder.get("/m/procurement/splits.json")).status_code == 403
