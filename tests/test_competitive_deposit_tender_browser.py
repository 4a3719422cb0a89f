"""The monthly deposit tender in Debian's Chromium on 360-px phones: the county officer announces it from two
villages' plans, two banks each bid a sealed rate per lot (neither sees the other's), the officer enters both
banks' scores with the source document after the window and opens; each bank then reads the published ranking."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_support import chromium, fits
from central_accounts_support import CODES, COUNTY, PASSWORD, TOWNSHIP, Central, Clock
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from halves_support import both_halves, central_phone
from playwright.sync_api import Page
from test_competitive_deposit_tender import BANKS, PDF, START, bank

from central.decisions.log import DecisionLog
from central.modules.competitive_deposit import CENTRAL_COMPETITIVE_DEPOSIT
from central.modules.competitive_deposit.tables import plans
from edge.ledger.keys import public_key_pem

pytestmark = pytest.mark.slow
SHOTS = Path(__file__).resolve().parent.parent / "build" / "screenshots"
HOUR = 3600.0


async def _prepare(central: Central, _: DecisionLog) -> None:
    await central.accounts.create_staff(
        "county1", "县农业局张科长", "county_officer", f"county:{COUNTY}", PASSWORD, "test", own_password=True
    )
    await bank(central.accounts, "ruian-bank", CODES[0])
    await bank(central.accounts, "xiaoshan-bank", CODES[1])
    for edge_id, village, amount in (("qinglian", "青莲村", 320_000_000), ("huangling", "黄岭村", 500_000_000)):
        await central.store.enrol_edge(
            edge_id, village, TOWNSHIP, COUNTY, public_key_pem(Ed25519PrivateKey.generate().public_key()).decode()
        )
        async with central.store.db.writer.begin() as conn:  # the plan as the village's edge sent it up
            await conn.execute(plans.insert().values(
                edge_id=edge_id, plan_id="CD-2026-001", village=village, township=TOWNSHIP, county=COUNTY,
                month="2026-11", account_name="村集体经济基本户", amount_fen=amount, term_months=12,
                meeting_date="2026-11-18", idle_fen=amount, idle_since="2026-03-15", edge_index=5,
                status="planned", late=False,
            ))  # fmt: skip


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Clock]]:
    """The central's address and its clock; it serves on an event loop of its own thread."""
    clock = Clock()
    clock.now = START
    with both_halves(tmp_path, clock, (CENTRAL_COMPETITIVE_DEPOSIT,), _prepare, {}) as halves:
        yield halves.central, clock


def _text(page: Page) -> str:
    return re.sub(r"\s+", " ", page.inner_text("main"))


def enter_scores(officer: Page, scores: dict[str, tuple[str, str, str]], source: Path) -> None:
    """The officer's score form, once per bank: username -> (its name, operating, agriculture support)."""
    for username, (name, operating, agri) in scores.items():
        officer.select_option("#score-form select[name=bank]", username)
        officer.fill("#score-form input[name=operating]", operating)
        officer.fill("#score-form input[name=agri]", agri)
        officer.set_input_files("#score-form input[name=source]", str(source))
        officer.click("#score-form button")
        officer.wait_for_selector(f"#scores td:text('{name}')")


def test_two_banks_bid_on_phones_and_read_the_result_after_opening(served: tuple[str, Clock], tmp_path: Path) -> None:
    url, clock = served
    SHOTS.mkdir(parents=True, exist_ok=True)
    source = tmp_path / "人行评价数据.pdf"
    source.write_bytes(PDF)
    with chromium() as browser:
        officer = central_phone(browser, url, "county1")
        officer.goto(url + "/m/competitive_deposit/tenders")
        assert "青莲村" in _text(officer) and "黄岭村" in _text(officer)
        fits(officer)
        officer.fill("input[name=opens_at]", "2026-12-01T09:00")
        officer.fill("input[name=closes_at]", "2026-12-01T10:00")
        officer.click("#open-tender button.primary")
        officer.wait_for_selector("#rule")
        assert "报价时间：2026-12-01 09:00 至 2026-12-01 10:00" in _text(officer)
        fits(officer)

        clock.now = START + 1.5 * HOUR  # 09:30: the window is open
        banks = {name: central_phone(browser, url, name) for name in BANKS}
        rates = {"ruian-bank": ("1.85", "1.90"), "xiaoshan-bank": ("1.80", "2.05")}
        for name, page in banks.items():
            page.goto(url + "/m/competitive_deposit/tenders")
            page.click("#tenders a")
            for lot, rate in enumerate(rates[name], 1):
                page.fill(f"#lot-{lot} input[name=rate]", rate)
                page.click(f"#lot-{lot} button.primary")
                page.wait_for_selector(f"#lot-{lot} .mine")
            fits(page)
            page.screenshot(path=str(SHOTS / f"competitive_deposit_tender_bank_{name}.png"), full_page=True)
        for name, page in banks.items():  # each sees its own rates only
            page.reload()
            mine, theirs = rates[name], next(r for n, r in rates.items() if n != name)
            assert all(f"本行报价：{r}%" in _text(page) for r in mine)
            assert not any(r in _text(page) for r in theirs)

        clock.now = START + 2 * HOUR  # 10:00: closed
        officer.reload()
        assert "已收到密封报价 2 份" in _text(officer) and "2.05" not in _text(officer)
        given = {"ruian-bank": ("9", "9"), "xiaoshan-bank": ("8", "8")}
        enter_scores(officer, {name: (BANKS[name], *pair) for name, pair in given.items()}, source)
        fits(officer)
        officer.click("#open-form button.primary")
        officer.wait_for_selector("#ranking-1")
        text = _text(officer)
        assert "中标：瑞安农商银行 1.85%" in text and "中标：萧山农商银行 2.05%" in text
        fits(officer)
        officer.screenshot(path=str(SHOTS / "competitive_deposit_tender_opened.png"), full_page=True)

        xiaoshan = banks["xiaoshan-bank"]
        xiaoshan.reload()
        result = _text(xiaoshan)
        assert (
            "已中标：萧山农商银行 2.05%" in result and "瑞安农商银行 1.90" in result
        )  # the rival's rate, now published
        fits(xiaoshan)
