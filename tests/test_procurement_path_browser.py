"""The whole 一网采购 path in Debian's Chromium on 360-px phones, across both halves over the real sync: the
village files a demand and its approver sends it up; the township officer approves it at the central; two
suppliers bid from two phones, each seeing the lowest price and its own rank move live and never the other's
name; after the window the township awards; the award comes down, the village records the contract, checks the
delivery against the demand and pays; the deal is on the village's notice board and in the OCDS export."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_support import chromium, fits, phone
from central_accounts_support import CODES, PASSWORD, PNG, Central, Clock, staff
from central_support import COUNTY, TOWNSHIP, enrol
from edge_support import DEVICE, config_for, qinglian
from halves_support import Halves, VillageSetup, both_halves, central_phone
from playwright.sync_api import Browser, Page, expect
from test_procurement_browser import file_demand
from test_procurement_ocds import schema_errors
from web_support import seed_account

from central.accounts.store import AccountStore
from central.decisions.log import DecisionLog
from central.modules.procurement import PROCUREMENT as CENTRAL_PROCUREMENT
from central.modules.procurement.bidding import WINDOW
from central.store import CentralStore
from edge.agent import EdgeAgent
from edge.kernel.config import CentralSettings
from edge.modules import PARTS
from edge.modules.procurement import PROCUREMENT
from edge.seal.keystore import DeviceIdentity
from edge.web.demo import sample_png
from edge.web.store import WebStore
from hostsim import flash

EDGE = "qinglian-cun"
SHOTS = Path(__file__).resolve().parent.parent / "build" / "screenshots"
VILLAGE_ACCOUNTS = (("kuaiji", ["village_staff"], None), ("zhangwei", ["approver"], "zhangwei"))
SUPPLIERS = (("wenju", CODES[0]), ("jiancai", CODES[1]))


async def _prepare(central: Central, _: DecisionLog) -> None:
    await staff(central, "zhenshen", "township_officer", f"township:{COUNTY}/{TOWNSHIP}")
    accounts = AccountStore(central.store.db)
    for username, code in SUPPLIERS:
        made = await accounts.apply(kind="supplier", username=username, password=PASSWORD, org_name=f"{username}办公家具有限公司",
                                    credit_code=code, county=COUNTY, contact_name="王经理", contact_phone="13812345678",
                                    categories=["办公用品"], licence=PNG)  # fmt: skip
        await accounts.decide("county", COUNTY, made.id, True, "", "xianjian")


def _village(root: Path) -> VillageSetup:
    async def open_agent(store: CentralStore, key: str) -> EdgeAgent:
        flash.prepare(root / "board")
        ident = flash.read_identity(root / "board")
        assert ident is not None
        config = config_for(root / "village", "socket://127.0.0.1:9", ident.device_id)
        config = dataclasses.replace(config, central=CentralSettings("http://central", EDGE, decision_key=key))
        agent = await EdgeAgent.open(config, parts=PARTS)
        await agent.enrol(DeviceIdentity(ident.device_id, ident.key), DEVICE)
        await enrol(store, EDGE, agent.config.data_dir)
        web = await WebStore.open(agent.config.data_dir)
        for username, roles, person in VILLAGE_ACCOUNTS:
            await seed_account(web, agent, username, roles, person, None)
        await web.close()
        return agent

    return VillageSetup(open_agent, [kind for part in PARTS for kind in part.from_central])


@pytest.fixture
def both(tmp_path: Path) -> Iterator[Halves]:
    """The central (SQLite, its clock the test's) and the village's agent with its console, on one event loop;
    the village syncs with the central when the test says so, over the central's own app."""
    assert PROCUREMENT in PARTS
    clock = Clock()
    clock.now = time.time()
    with both_halves(tmp_path, clock, (CENTRAL_PROCUREMENT,), _prepare, {EDGE: _village(tmp_path)}) as halves:
        yield halves


def at_central(browser: Browser, both: Halves, username: str, path: str) -> Page:
    """A phone logged in at the central, on ``path``."""
    page = central_phone(browser, both.central, username)
    page.goto(both.central + path)
    return page


def test_demand_review_live_bids_award_acceptance_board_and_ocds(both: Halves, tmp_path: Path) -> None:
    photo = tmp_path / "daohuo.png"
    photo.write_bytes(sample_png())
    SHOTS.mkdir(parents=True, exist_ok=True)
    with chromium() as browser:
        # The village: the clerk files the demand, the approver sends it up.
        clerk = phone(browser, both.villages[EDGE].console, "kuaiji")
        file_demand(clerk, both.villages[EDGE].console, "村委会办公桌椅采购", ("办公桌", "10", "张", "800"))
        assert clerk.url.endswith("/procurement/demands/XQ-00001")
        demand_url = clerk.url
        approver = phone(browser, both.villages[EDGE].console, "zhangwei")
        approver.goto(demand_url)
        approver.click("#approve")
        approver.wait_for_load_state()
        assert approver.locator("#demand-status").inner_text() == "已报送乡镇"
        both.sync(EDGE)

        # The township approves it at the central: bidding opens.
        township = at_central(browser, both, "zhenshen", "/m/procurement")
        card = township.locator(f"#demand-{EDGE}-XQ-00001")
        assert "村委会办公桌椅采购" in card.inner_text() and "最高限价 ¥8,000.00" in card.inner_text()
        card.locator("button[value=approve]").click()
        township.wait_for_load_state()
        assert "竞价中" in township.locator(f"#demand-{EDGE}-XQ-00001").inner_text()
        fits(township)

        # Two suppliers on two phones: each sees its own rank move live, never the other's name.
        tender = f"#tender-{EDGE}-XQ-00001"
        a = at_central(browser, both, "wenju", "/m/procurement/tenders")
        b = at_central(browser, both, "jiancai", "/m/procurement/tenders")
        expect(a.locator(f"{tender} .lowest")).to_have_text("暂无报价")
        a.fill(f"{tender} input[name=amount]", "7600")
        a.click(f"{tender} button")
        expect(b.locator(f"{tender} .lowest")).to_have_text("¥7,600.00")  # live, without a reload
        expect(b.locator(f"{tender} .rank")).to_have_text("未报价")
        b.fill(f"{tender} input[name=amount]", "7300")
        b.click(f"{tender} button")
        expect(a.locator(f"{tender} .rank")).to_have_text("2")  # a's page moved by itself
        expect(a.locator(f"{tender} .lowest")).to_have_text("¥7,300.00")
        expect(b.locator(f"{tender} .rank")).to_have_text("1")
        expect(a.locator(f"{tender} .bidders")).to_have_text("2")
        assert "jiancai" not in a.content() and "wenju" not in b.content()
        fits(a)
        a.screenshot(path=str(SHOTS / "phone-procurement-bidding.png"), full_page=True)

        # After the window the township awards to the lowest bid; the award goes down with the next sync.
        both.clock.now += WINDOW.total_seconds() + 60
        township = at_central(browser, both, "zhenshen", "/m/procurement")  # three days on: a new session
        township.locator(f"#demand-{EDGE}-XQ-00001 form[action$='/award'] button").click()
        township.wait_for_load_state()
        assert "已定标" in township.locator(f"#demand-{EDGE}-XQ-00001").inner_text()
        both.sync(EDGE)

        # The village: contract, delivery checked against the demand (with a photo), payment.
        clerk.goto(demand_url)
        award = clerk.locator("#award").inner_text()
        assert "jiancai办公家具有限公司" in award and "¥7,300.00" in award
        assert clerk.locator("#demand-status").inner_text() == "已定标"
        clerk.fill("#contract-form input[name=contract_no]", "QL-CG-2026-001")
        clerk.click("#contract-form button")
        clerk.wait_for_load_state()
        assert clerk.locator("#demand-status").inner_text() == "已签合同"
        clerk.fill("#delivery-form input[name=received-1]", "10")
        clerk.set_input_files("#delivery-form input[name=file]", str(photo))
        clerk.click("#delivery-form button")
        clerk.wait_for_load_state()
        assert clerk.locator("#demand-status").inner_text() == "验收合格"
        clerk.click("#payment-form button")  # the amount due is filled in
        clerk.wait_for_load_state()
        assert clerk.locator("#demand-status").inner_text() == "已付款"
        fits(clerk)
        clerk.screenshot(path=str(SHOTS / "phone-procurement-paid.png"), full_page=True)

        # The notice board: the deal, public, with the winning business and the amount.
        public = phone(browser, both.villages[EDGE].console)
        public.goto(both.villages[EDGE].console + "/board")
        board = public.locator("main").inner_text()
        assert "村委会办公桌椅采购" in board and "jiancai办公家具有限公司" in board and "7,300.00" in board
        fits(public)

    # The OCDS export: the tender with its ceiling, the award, the contract and the payment.
    out = tmp_path / "ocds.json"
    done = qinglian("procurement", "export-ocds", "--config", str(tmp_path / "village" / "edge.toml"), "--out", str(out))
    assert done.returncode == 0, done.stderr
    package = json.loads(out.read_text(encoding="utf-8"))
    assert schema_errors(package) == []
    [release] = package["releases"]
    assert release["tender"]["title"] == "村委会办公桌椅采购" and release["tender"]["value"]["amount"] == 8000
    [awarded] = release["awards"]
    assert awarded["value"]["amount"] == 7300 and awarded["suppliers"][0]["name"] == "jiancai办公家具有限公司"
    assert release["contracts"][0]["implementation"]["transactions"][0]["value"]["amount"] == 7300
    # Both bids, lowest first, with their tenderers: public now that the tender is awarded.
    assert release["bids"]["statistics"][0]["value"] == 2
    assert [(d["tenderers"][0]["name"], d["value"]["amount"], d["status"]) for d in release["bids"]["details"]] == [
        ("jiancai办公家具有限公司", 7300, "valid"), ("wenju办公家具有限公司", 7600, "valid"),
    ]
    assert {p["name"]: p["roles"] for p in release["parties"]}["wenju办公家具有限公司"] == ["tenderer"]
