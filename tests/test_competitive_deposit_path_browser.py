"""The whole path of issue 18 in Debian's Chromium on 360-px phones, across both halves: two villages' clerks each
register an account, type its balance, and record the joint meeting's plan in their own console; the plans go up
over the real sync; the county officer announces the month's tender; three banks bid a sealed rate on each lot;
the officer enters the three banks' scores with their source and opens; the scores and ranking are published to
the banks; the awards come down signed; a village's clerk records the signed contract, which goes up to the
county's page. The central and both consoles serve on one event loop of their own thread."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from datetime import datetime, time, timedelta
from pathlib import Path

import pytest
from browser_support import chromium, fits, flash_text, phone
from central_accounts_support import CODES, COUNTY, TOWNSHIP, Central, Clock
from central_accounts_support import PASSWORD as CENTRAL_PASSWORD
from edge_support import config_for
from halves_support import Halves, VillageSetup, both_halves, central_phone
from playwright.sync_api import Page
from test_competitive_deposit_tender import PDF, bank
from test_competitive_deposit_tender_browser import enter_scores
from web_support import seed_account

from central.decisions.log import DecisionLog
from central.modules.competitive_deposit import CENTRAL_COMPETITIVE_DEPOSIT
from central.store import CentralStore
from edge.agent import EdgeAgent
from edge.kernel.config import CentralSettings
from edge.ledger.localtime import SHANGHAI, local_today
from edge.modules.competitive_deposit import COMPETITIVE_DEPOSIT
from edge.seal.part import SEAL
from edge.web.demo import sample_pdf
from edge.web.store import WebStore

pytestmark = pytest.mark.slow
SHOTS = Path(__file__).resolve().parent.parent / "build" / "screenshots"
BANK_NAMES = {"ruian-bank": "瑞安农商银行", "xiaoshan-bank": "萧山农商银行", "hangzhou-bank": "杭州银行萧山支行"}
VILLAGES = {"qinglian-cun": ("青莲村", "6228480012345678", "3200000.00"), "huangling-cun": ("黄岭村", "6217001234567890", "5000000.00")}


async def _prepare(central: Central, _: DecisionLog) -> None:
    await central.accounts.create_staff("county1", "县农业局张科长", "county_officer", f"county:{COUNTY}", CENTRAL_PASSWORD,
                                        "test", own_password=True)  # fmt: skip
    for (username, name), code in zip(BANK_NAMES.items(), CODES, strict=False):
        await bank(central.accounts, username, code, name=name)


def _village(root: Path, edge_id: str, village: str) -> VillageSetup:
    async def open_agent(store: CentralStore, key: str) -> EdgeAgent:
        central = CentralSettings("http://central", edge_id, decision_key=key)
        config = dataclasses.replace(config_for(root / edge_id, "socket://127.0.0.1:9"), village=village, central=central)
        agent = await EdgeAgent.open(config, parts=(SEAL, COMPETITIVE_DEPOSIT))
        public_key = (agent.config.data_dir / "ledger_pub.pem").read_text()
        await store.enrol_edge(edge_id, village, TOWNSHIP, COUNTY, public_key)
        web = await WebStore.open(agent.config.data_dir)
        await seed_account(web, agent, "wukuaiji", ["village_staff"], None, None)
        await web.close()
        return agent

    return VillageSetup(open_agent, COMPETITIVE_DEPOSIT.from_central)


@pytest.fixture
def both(tmp_path: Path) -> Iterator[Halves]:
    """The central (its clock at 09:00 today in Shanghai) and two villages' consoles."""
    clock = Clock()
    clock.now = datetime.combine(local_today(), time(9, 0), SHANGHAI).timestamp()
    villages = {edge_id: _village(tmp_path, edge_id, village) for edge_id, (village, _, _) in VILLAGES.items()}
    with both_halves(tmp_path, clock, (CENTRAL_COMPETITIVE_DEPOSIT,), _prepare, villages) as halves:
        yield halves


def text_of(page: Page) -> str:
    return re.sub(r"\s+", " ", page.inner_text("main"))


def clerk_plans(page: Page, url: str, account: str, amount: str, minutes: Path) -> str:
    """A village clerk: the account, its balance held since 230 days ago, the joint meeting's plan going up."""
    page.goto(url + "/competitive_deposit")
    page.click("#account-details summary")
    page.fill("#account-form input[name=name]", "村集体经济基本户")
    page.fill("#account-form input[name=bank]", "瑞安农商银行")
    page.fill("#account-form input[name=account]", account)
    page.click("#account-form button[type=submit]")
    assert flash_text(page) == f"已登记账户 {account}"
    page.click(f"#acct-{account} a")
    page.fill("#balance-form input[name=day]", (local_today() - timedelta(days=230)).isoformat())
    page.fill("#balance-form input[name=amount]", amount)
    page.click("#balance-form button[type=submit]")
    assert "应竞争性存放" in page.locator("#explanation").inner_text()
    page.set_input_files("#plan-form input[name=minutes]", str(minutes))
    page.click("#plan-form button[type=submit]")
    found = re.search(r"已记录联席会议决定 (CD-\d{4}-\d{3})", flash_text(page))
    assert found is not None
    fits(page)
    return found.group(1)


def test_two_villages_plans_a_monthly_tender_three_banks_the_award_and_the_signed_contract(both: Halves, tmp_path: Path) -> None:
    minutes, contract, source = tmp_path / "纪要.pdf", tmp_path / "合同.pdf", tmp_path / "人行评价数据.pdf"
    minutes.write_bytes(sample_pdf("Joint meeting minutes", ["Deposit for 12 months"]))
    contract.write_bytes(sample_pdf("Deposit contract", ["Term deposit"]))
    source.write_bytes(PDF)
    SHOTS.mkdir(parents=True, exist_ok=True)
    today = local_today()
    with chromium() as browser:
        # Two villages' clerks, each in their own console: the plan goes up with the next sync.
        plan_ids = {}
        for edge_id, (_, account, amount) in VILLAGES.items():
            clerk = phone(browser, both.villages[edge_id].console, "wukuaiji")
            plan_ids[edge_id] = clerk_plans(clerk, both.villages[edge_id].console, account, amount, minutes)
            clerk.context.close()
            both.sync(edge_id)

        # The county officer announces the month's tender from both plans: the window 09:00-10:00 today.
        officer = central_phone(browser, both.central, "county1")
        officer.goto(both.central + "/m/competitive_deposit/tenders")
        waiting = text_of(officer)
        assert "青莲村" in waiting and "黄岭村" in waiting and "3,200,000.00" in waiting and "5,000,000.00" in waiting
        fits(officer)
        officer.fill("input[name=opens_at]", f"{today}T09:00")
        officer.fill("input[name=closes_at]", f"{today}T10:00")
        officer.click("#open-tender button.primary")
        officer.wait_for_selector("#rule")
        assert f"报价时间：{today} 09:00 至 {today} 10:00" in text_of(officer) and "80 × 报价利率" in text_of(officer)
        tender_url = officer.url

        # Three banks bid a sealed rate on each lot, each on its own phone.
        both.clock.now += 1800  # 09:30
        rates = {"ruian-bank": ("1.85", "1.90"), "xiaoshan-bank": ("1.95", "1.80"), "hangzhou-bank": ("1.75", "2.05")}
        banks = {}
        for name, (first, second) in rates.items():
            page = central_phone(browser, both.central, name)
            page.goto(tender_url)
            for lot, rate in ((1, first), (2, second)):
                page.fill(f"#lot-{lot} input[name=rate]", rate)
                page.click(f"#lot-{lot} button.primary")
                page.wait_for_selector(f"#lot-{lot} .mine")
            fits(page)
            banks[name] = page
        for name, page in banks.items():  # sealed: each sees its own rates, never a rival's
            page.reload()
            rivals = [r for other, pair in rates.items() if other != name for r in pair]
            assert all(f"本行报价：{r}%" in text_of(page) for r in rates[name]) and not any(r in text_of(page) for r in rivals)

        # After the window: the three banks' scores with their source, then the opening.
        both.clock.now += 1800  # 10:00: closed
        officer.reload()
        assert "已收到密封报价 3 份" in text_of(officer) and "2.05" not in text_of(officer)
        scores = {"ruian-bank": ("9", "9.5"), "xiaoshan-bank": ("8", "8"), "hangzhou-bank": ("9.5", "7")}
        enter_scores(officer, {name: (BANK_NAMES[name], *pair) for name, pair in scores.items()}, source)
        officer.click("#open-form button.primary")
        officer.wait_for_selector("#ranking-1")
        # Lot 1: 80 × 1.85 / 1.95 = 75.897… + 18.5 = 94.40 (ruian); 80 + 16 = 96.00 (xiaoshan); 71.79… + 16.5 = 88.29.
        # Lot 2: 80 × 1.90 / 2.05 = 74.146… + 18.5 = 92.65 (ruian); 70.24… + 16 = 86.24; 80 + 16.5 = 96.50 (hangzhou).
        opened = text_of(officer)
        assert "中标：萧山农商银行 1.95%" in opened and "中标：杭州银行萧山支行 2.05%" in opened
        assert "1 萧山农商银行 1.95 80.00 8 8 96.00 2 瑞安农商银行 1.85 75.90 9 9.5 94.40 3 杭州银行萧山支行 1.75 71.79 9.5 7 88.29" in opened
        fits(officer)
        officer.screenshot(path=str(SHOTS / "competitive_deposit_path_opened.png"), full_page=True)
        for name, page in banks.items():  # published: every bank reads every rate and score now
            page.reload()
            assert "杭州银行萧山支行 2.05 80.00 9.5 7 96.50" in text_of(page), name
            fits(page)
        public = phone(browser, both.central)  # and anyone, with no login
        public.goto(both.central + "/m/competitive_deposit/public")
        public.click("#tenders a")
        assert "杭州银行萧山支行 2.05 80.00 9.5 7 96.50" in text_of(public) and "瑞安农商银行 9 9.5" in text_of(public)
        fits(public)

        # The awards come down; 青莲村's clerk records the contract signed today, on time.
        for edge_id in VILLAGES:
            down = both.sync(edge_id)
            assert (down.documents_applied, down.documents_refused) == (1, 0)
        clerk = phone(browser, both.villages["qinglian-cun"].console, "wukuaiji")
        clerk.goto(both.villages["qinglian-cun"].console + "/competitive_deposit")
        plan_id = plan_ids["qinglian-cun"]
        card = clerk.locator(f"#plan-{plan_id}")
        assert "已中标，待签约" in card.inner_text() and "萧山农商银行，年利率 1.95%" in card.inner_text()
        card.locator("summary").click()
        clerk.set_input_files(f"#sign-{plan_id} input[name=contract]", str(contract))
        clerk.click(f"#sign-{plan_id} button[type=submit]")
        assert flash_text(clerk) == f"已登记 {plan_id} 的存款合同"
        assert "已签约，存放中" in clerk.locator(f"#plan-{plan_id}").inner_text()
        fits(clerk)
        clerk.screenshot(path=str(SHOTS / "competitive_deposit_path_signed.png"), full_page=True)
        both.sync("qinglian-cun")

        # The county's page: the deposit signed at 1.95 %, the other awarded and waiting for its contract.
        officer.goto(both.central + "/m/competitive_deposit")
        overview = text_of(officer)
        assert "3,200,000.00" in overview and "1.9500" in overview and "已签约" in overview and "已中标待签约" in overview
        assert "青莲村 · 村集体经济基本户" in overview and "黄岭村 · 村集体经济基本户" in overview  # both accounts, eligible
        fits(officer)
        officer.screenshot(path=str(SHOTS / "competitive_deposit_path_county.png"), full_page=True)
