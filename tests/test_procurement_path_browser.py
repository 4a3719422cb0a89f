"""The whole 一网采购 path in Debian's Chromium on 360-px phones, across both halves over the real sync: the
village files a demand and its approver sends it up; the township officer approves it at the central; two
suppliers bid from two phones, each seeing the lowest price and its own rank move live and never the other's
name; after the window the township awards; the award comes down, the village records the contract, checks the
delivery against the demand and pays; the deal is on the village's notice board and in the OCDS export."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import queue
import threading
import time
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from browser_support import chromium, fits, phone
from central_accounts_support import CODES, PASSWORD, PNG, Central, Clock, staff
from central_support import COUNTY, TOWNSHIP, enrol
from edge_support import DEVICE, config_for, qinglian
from playwright.sync_api import Browser, Page, expect
from test_procurement_ocds import schema_errors
from web_support import seed_account

from central.accounts.store import AccountStore
from central.app import create_app
from central.decisions.log import DecisionLog
from central.modules.procurement import PROCUREMENT as CENTRAL_PROCUREMENT
from central.modules.procurement.bidding import WINDOW
from central.store import CentralStore
from edge.agent import EdgeAgent
from edge.kernel.config import CentralSettings
from edge.kernel.sync import SyncClient
from edge.kernel.websettings import WebSettings
from edge.modules import PARTS
from edge.modules.procurement import PROCUREMENT
from edge.seal.keystore import DeviceIdentity
from edge.web.demo import sample_png
from edge.web.server import start_console
from edge.web.store import WebStore
from hostsim import flash

EDGE = "qinglian-cun"
SHOTS = Path(__file__).resolve().parent.parent / "build" / "screenshots"
VILLAGE_ACCOUNTS = (("kuaiji", ["village_staff"], None), ("zhangwei", ["approver"], "zhangwei"))
SUPPLIERS = (("wenju", CODES[0]), ("jiancai", CODES[1]))


@dataclass(frozen=True)
class Both:
    edge: str  # the village console's address
    central: str
    loop: asyncio.AbstractEventLoop
    sync: SyncClient
    clock: Clock  # the central's

    def run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(60)


async def _serve(root: Path, ready: queue.Queue[Both | BaseException], stop: threading.Event) -> None:
    """The central (SQLite, its clock the test's) and the village's agent with its console, on one event loop;
    the village syncs with the central when the test says so, over the central's own app."""
    store = await CentralStore.open(f"sqlite:///{root / 'central.sqlite3'}")
    decisions = await DecisionLog.open(root / "central", store.db)
    clock = Clock()
    clock.now = time.time()
    app = create_app(store, parts=(CENTRAL_PROCUREMENT,), decisions=decisions)
    app.state.shell.clock = clock
    await staff(Central(store, app, clock), "zhenshen", "township_officer", f"township:{COUNTY}/{TOWNSHIP}")
    accounts = AccountStore(store.db)
    for username, code in SUPPLIERS:
        made = await accounts.apply(kind="supplier", username=username, password=PASSWORD, org_name=f"{username}办公家具有限公司",
                                    credit_code=code, county=COUNTY, contact_name="王经理", contact_phone="13812345678",
                                    categories=["办公用品"], licence=PNG)  # fmt: skip
        await accounts.decide("county", COUNTY, made.id, True, "", "xianjian")
    flash.prepare(root / "board")
    ident = flash.read_identity(root / "board")
    assert ident is not None
    key = decisions.public_key()["public_key"]
    config = config_for(root / "village", "socket://127.0.0.1:9", ident.device_id)
    config = dataclasses.replace(config, central=CentralSettings("http://central", EDGE, decision_key=key))
    agent = await EdgeAgent.open(config, parts=PARTS)
    try:
        await agent.enrol(DeviceIdentity(ident.device_id, ident.key), DEVICE)
        await enrol(store, EDGE, agent.config.data_dir)
        web = await WebStore.open(agent.config.data_dir)
        for username, roles, person in VILLAGE_ACCOUNTS:
            await seed_account(web, agent, username, roles, person, None)
        await web.close()

        async def record(kind: str, body: dict[str, Any]) -> Any:
            async with agent.recorder.step():
                return await agent.recorder.record(kind, body)

        kinds = [kind for part in PARTS for kind in part.from_central]
        sync = SyncClient(agent.ledger, "http://central", EDGE, transport=httpx.ASGITransport(app=app), record=record,
                          decision_key=key, document_kinds=kinds)  # fmt: skip
        console = await start_console(agent, WebSettings(enabled=True, port=0))
        central = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off"))
        serving = asyncio.create_task(central.serve())
        try:
            while not central.started:
                await asyncio.sleep(0.05)
            port = central.servers[0].sockets[0].getsockname()[1]
            ready.put(Both(console.url, f"http://127.0.0.1:{port}", asyncio.get_running_loop(), sync, clock))
            while not stop.is_set():
                await asyncio.sleep(0.05)
        finally:
            central.should_exit = True
            await serving
            await console.close()
            await sync.stop()
    finally:
        await agent.close()
        await decisions.close()
        await store.close()


@pytest.fixture
def both(tmp_path: Path) -> Iterator[Both]:
    assert PROCUREMENT in PARTS
    ready: queue.Queue[Both | BaseException] = queue.Queue()
    stop = threading.Event()

    def run() -> None:
        try:
            asyncio.run(_serve(tmp_path, ready, stop))
        except BaseException as exc:  # noqa: BLE001 - handed to the test, which would otherwise wait for nothing
            ready.put(exc)

    thread = threading.Thread(target=run, name="village-and-central")
    thread.start()
    try:
        got = ready.get(timeout=120)
        if isinstance(got, BaseException):
            raise got
        yield got
    finally:
        stop.set()
        thread.join(60)


def at_central(browser: Browser, both: Both, username: str, path: str) -> Page:
    """A phone logged in at the central (its login page has more than one form)."""
    page = phone(browser, both.central)
    page.goto(both.central + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.locator("form[action='/login'] button[type=submit]").first.click()
    page.wait_for_load_state()
    page.goto(both.central + path)
    return page


def test_demand_review_live_bids_award_acceptance_board_and_ocds(both: Both, tmp_path: Path) -> None:
    photo = tmp_path / "daohuo.png"
    photo.write_bytes(sample_png())
    SHOTS.mkdir(parents=True, exist_ok=True)
    with chromium() as browser:
        # The village: the clerk files the demand, the approver sends it up.
        clerk = phone(browser, both.edge, "kuaiji")
        clerk.goto(both.edge + "/procurement/demands/new")
        clerk.fill("input[name=title]", "村委会办公桌椅采购")
        clerk.select_option("select[name=category]", "办公用品")
        clerk.fill("input[name=line-1-name]", "办公桌")
        clerk.fill("input[name=line-1-quantity]", "10")
        clerk.fill("input[name=line-1-unit]", "张")
        clerk.fill("input[name=line-1-price]", "800")
        clerk.fill("input[name=place]", "青莲村村委会")
        clerk.fill("input[name=delivery_date]", "2099-01-10")
        clerk.click("#file-demand")
        clerk.wait_for_load_state()
        assert clerk.url.endswith("/procurement/demands/XQ-00001")
        demand_url = clerk.url
        approver = phone(browser, both.edge, "zhangwei")
        approver.goto(demand_url)
        approver.click("#approve")
        approver.wait_for_load_state()
        assert approver.locator("#demand-status").inner_text() == "已报送乡镇"
        both.run(both.sync.sync_once())

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
        both.run(both.sync.sync_once())

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
        public = phone(browser, both.edge)
        public.goto(both.edge + "/board")
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
