"""The whole path of issue 17 in Debian's Chromium on 360-px phones, across both halves: the village clerk files a
水利 project priced from the township's catalogue; the village's approver and then the township's officer approve
it (the township's step at the central, down signed); the clerk recommends a contractor committing to the
village's value; the township fixes the draw, the village reveals, the township reveals and draws; the three
contractors quote sealed from their supplier accounts; after the window the officer opens before the peer
observer; the award comes down; the clerk shows the contract's photo and records acceptance and settlement; the
notice board and the project's public page show it all without a login. The central and the console serve on
one event loop of their own thread; the central's clock is the test's."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from browser_support import chromium, fits, flash_text, phone
from central_accounts_support import COUNTY, PNG, TOWNSHIP, Central, Clock
from central_accounts_support import PASSWORD as CENTRAL_PASSWORD
from edge_support import write_config
from halves_support import Halves, VillageSetup, both_halves, central_phone
from playwright.sync_api import Page
from test_small_project import PNG_BYTES
from web_support import seed_account

from central.decisions.log import DecisionLog
from central.modules.small_project import CENTRAL_SMALL_PROJECT, catalogue, pool
from central.store import CentralStore, Principal
from edge.agent import EdgeAgent
from edge.kernel.config import CentralSettings, load_config
from edge.modules.small_project import SMALL_PROJECT
from edge.modules.small_project.rules import commitment_of
from edge.modules.small_project.settings import SECTION
from edge.seal.part import SEAL
from edge.web.store import WebStore

pytestmark = pytest.mark.slow
SHOTS = Path(__file__).resolve().parent.parent / "build" / "screenshots"
EDGE = "qinglian-cun"
ROUTES = """
[[small_project.routes]]
name = "水利"
categories = ["水利", "道路"]
approvers = ["zhangwei"]
township = ["zhenshen"]
"""
#: The township's pool: five contractors qualified for 水利, each with an approved supplier account.
CONTRACTORS = {"91330109MA2B00001A": "湖州水利建设有限公司", "91330109MA2B00002D": "吴兴水利工程有限公司",
               "91330109MA2B00003G": "织里建设有限公司", "91330109MA2B00004K": "八里店工程有限公司",
               "91330109MA2B00005N": "妙西建设有限公司"}  # fmt: skip
RECOMMENDED = "91330109MA2B00001A"
VILLAGE_VALUE, TOWNSHIP_VALUE = "青莲村村民代表 掷骰 2-5-5-1-6-3", "河上镇 掷骰 3-6-1-4-4-2"
OFFICER = Principal("township", f"{COUNTY}/{TOWNSHIP}", role="township_officer", account="zhenshen")


async def _prepare(central: Central, decisions: DecisionLog) -> None:
    for username, role, scope in (("zhenshen", "township_officer", f"township:{COUNTY}/{TOWNSHIP}"),
                                  ("xianjian", "county_officer", f"county:{COUNTY}")):  # fmt: skip
        await central.accounts.create_staff(username, "测试员", role, scope, CENTRAL_PASSWORD, "test", own_password=True)
    for n, (code, name) in enumerate(CONTRACTORS.items(), 1):
        made = await central.accounts.apply(kind="supplier", username=f"chengbao{n}", password=CENTRAL_PASSWORD,
                                            org_name=name, credit_code=code, county=COUNTY, contact_name="王经理",
                                            contact_phone="13812345678", categories=["工程施工"], licence=PNG)  # fmt: skip
        await central.accounts.decide("county", COUNTY, made.id, True, "", "xianjian")
    # The township's catalogue and pool, as its officer keeps them (their own pages are tested elsewhere).
    moment = datetime.fromtimestamp(central.clock(), UTC)
    csv = "编号,名称,单位,单价(元)\nSL-01,排水沟开挖及砌筑,米,235.00\nSL-02,DN600 钢筋混凝土管铺设,米,410.00\n"
    async with central.store.db.writer.begin() as conn:
        await catalogue.publish(conn, decisions, OFFICER, catalogue.read_catalogue("目录.csv", csv.encode(), "2026-下半年",
                                                                                   "2026-07-01"), moment)  # fmt: skip
        for code, name in CONTRACTORS.items():
            await pool.register(conn, decisions, OFFICER, name, code, "水利", moment)


def _village(root: Path) -> VillageSetup:
    async def open_agent(store: CentralStore, key: str) -> EdgeAgent:
        path = write_config(root / EDGE, "socket://127.0.0.1:9")
        path.write_text(path.read_text(encoding="utf-8") + ROUTES, encoding="utf-8")
        central = CentralSettings("http://central", EDGE, decision_key=key)
        config = dataclasses.replace(load_config(path, [SECTION]), central=central)
        agent = await EdgeAgent.open(config, parts=(SEAL, SMALL_PROJECT))
        public_key = (agent.config.data_dir / "ledger_pub.pem").read_text()
        await store.enrol_edge(EDGE, config.village, TOWNSHIP, COUNTY, public_key)
        web = await WebStore.open(agent.config.data_dir)
        await seed_account(web, agent, "cunwu", ["village_staff"], None, None)
        await seed_account(web, agent, "zhangwei", ["approver"], "zhangwei", None)
        await web.close()
        return agent

    return VillageSetup(open_agent, SMALL_PROJECT.from_central)


@pytest.fixture
def both(tmp_path: Path) -> Iterator[Halves]:
    with both_halves(tmp_path, Clock(), (CENTRAL_SMALL_PROJECT,), _prepare, {EDGE: _village(tmp_path)}) as halves:
        halves.sync(EDGE)  # the catalogue comes down
        yield halves


def submit(page: Page, button: str) -> None:
    """Click a central form's button and wait for the page it redirects to (the central has no flash)."""
    with page.expect_navigation():
        page.click(button)


def text_of(page: Page) -> str:
    return re.sub(r"\s+", " ", page.inner_text("main"))


def test_a_project_from_filing_through_approvals_draw_sealed_quotes_and_award_to_the_notice_board(
    both: Halves, tmp_path: Path
) -> None:
    photo = tmp_path / "合同签订.png"
    photo.write_bytes(PNG_BYTES)
    SHOTS.mkdir(parents=True, exist_ok=True)
    with chromium() as browser:
        # The village: the clerk files, the village's approver approves; on to the township.
        clerk = phone(browser, both.villages[EDGE].console, "cunwu")
        clerk.goto(both.villages[EDGE].console + "/small_project")
        clerk.click("#file-details summary")
        clerk.fill("#file-form input[name=name]", "村口排水沟改造")
        clerk.select_option("#file-form select[name=category]", "水利")
        clerk.fill("#file-form input[name=place]", "村口至文化礼堂")
        clerk.fill("#file-form textarea[name=scope]", "新建排水沟 180 米")
        clerk.select_option("#file-form select[name=code0]", "SL-01")
        clerk.fill("#file-form input[name=quantity0]", "180")
        clerk.click("#file-form button[type=submit]")
        assert flash_text(clerk) == "已申报工程 GC-00001，等待审批"
        fits(clerk)
        boss = phone(browser, both.villages[EDGE].console, "zhangwei")
        boss.goto(both.villages[EDGE].console + "/small_project/p/GC-00001")
        boss.click("#decide-form button[value=approve]")
        assert flash_text(boss) == "已同意，审批通过"
        assert "乡镇审批中" in boss.locator("#status").inner_text()
        both.sync(EDGE)

        # The township's step at the central, down to the village.
        officer = central_phone(browser, both.central, "zhenshen")
        officer.goto(both.central + "/m/small_project/projects")
        assert "乡镇审批：zhenshen" in text_of(officer)
        submit(officer, ".step-form button[value=approve]")
        fits(officer)
        both.sync(EDGE)
        clerk.goto(both.villages[EDGE].console + "/small_project/p/GC-00001")
        assert clerk.locator("#status").inner_text() == "已批准" and "zhenshen ✓" in clerk.locator("#township").inner_text()

        # The recommended contractor with the village's commitment; the township fixes; the village reveals.
        clerk.fill("#recommend-form input[name=contractor_id]", RECOMMENDED)
        clerk.fill("#recommend-form input[name=contractor_name]", CONTRACTORS[RECOMMENDED])
        clerk.fill("#recommend-form input[name=village_value]", VILLAGE_VALUE)
        clerk.click("#recommend-form button[type=submit]")
        assert flash_text(clerk).startswith("已登记村推荐承包商")
        both.sync(EDGE)
        officer.goto(both.central + "/m/small_project/projects")
        officer.fill(".fix-form input[name=commitment]", commitment_of(TOWNSHIP_VALUE))
        submit(officer, ".fix-form button[type=submit]")
        both.sync(EDGE)
        clerk.goto(both.villages[EDGE].console + "/small_project/p/GC-00001")
        clerk.fill("#reveal-form input[name=village_value]", VILLAGE_VALUE)
        clerk.click("#reveal-form button[type=submit]")
        assert flash_text(clerk).startswith("已公布村随机值")
        both.sync(EDGE)
        officer.goto(both.central + "/m/small_project/projects")
        officer.fill(".reveal-form input[name=value]", TOWNSHIP_VALUE)
        submit(officer, ".reveal-form button[type=submit]")
        record_path = officer.locator("a[href$='.json']").first.get_attribute("href")
        assert record_path is not None
        record = json.loads(httpx.get(both.central + record_path).text)
        assert record["seed_sources"][0] == f"village:{VILLAGE_VALUE}"
        officer.fill(".invite-form input[name=hours]", "2")
        officer.fill(".invite-form input[name=hotline]", "0572-2345678")
        submit(officer, ".invite-form button[type=submit]")
        assert "密封报价中" in text_of(officer)

        # The three quote sealed from their own phones; after the window the officer opens.
        usernames = {code: f"chengbao{n}" for n, code in enumerate(CONTRACTORS, 1)}
        amounts = dict(zip([RECOMMENDED, *record["drawn"]], ("41800.00", "40950.00", "42300.00"), strict=True))
        for code, amount in amounts.items():
            contractor = central_phone(browser, both.central, usernames[code])
            contractor.goto(both.central + "/m/small_project/quotes")
            assert "村口排水沟改造" in text_of(contractor)
            contractor.fill(".quote-form input[name=amount]", amount)
            submit(contractor, ".quote-form button[type=submit]")
            assert "已于" in contractor.locator(".quoted").inner_text()
            fits(contractor)
            contractor.context.close()
        officer.goto(both.central + "/m/small_project/projects")
        assert "已收到 3 家" in text_of(officer) and "40,950.00" not in text_of(officer)
        both.clock.now += 2 * 3600
        officer.goto(both.central + "/m/small_project/projects")
        officer.fill(".open-form input[name=observer]", "白石村 李主任")
        submit(officer, ".open-form button[type=submit]")
        assert "中标" in text_of(officer) and CONTRACTORS[record["drawn"][0]] in officer.locator(".winner").inner_text()
        officer.screenshot(path=str(SHOTS / "phone-small-project-opening.png"), full_page=True)
        both.sync(EDGE)

        # The award in the village: the contract's photo, acceptance and settlement.
        clerk.goto(both.villages[EDGE].console + "/small_project/p/GC-00001")
        assert "40,950.00" in clerk.locator("#winner").inner_text()
        clerk.select_option("#progress-form select[name=stage]", "contract")
        clerk.fill("#progress-form input[name=note]", "与中标单位签订施工合同")
        clerk.set_input_files("#progress-form input[name=file]", str(photo))
        clerk.click("#progress-form button[type=submit]")
        assert flash_text(clerk) == "已公示“签订合同”"
        clerk.fill("#complete-form input[name=settled]", "40500")
        clerk.click("#complete-form button[type=submit]")
        assert flash_text(clerk).startswith("已验收结算")
        fits(clerk)

        public = phone(browser, both.villages[EDGE].console)
        public.goto(both.villages[EDGE].console + "/board")
        board = text_of(public)
        assert "限额工程公示" in board and "村口排水沟改造" in board and "40,500.00" in board and "白石村 李主任" in board
        public.click("text=详情")
        notice = text_of(public)
        assert "与中标单位签订施工合同" in notice and "监督热线：0572-2345678" in notice and "中标" in notice
        assert public.locator("#notice-progress img").count() == 1
        fits(public)
        public.screenshot(path=str(SHOTS / "phone-small-project-notice.png"), full_page=True)
