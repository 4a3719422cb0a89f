"""竞争性存放 on a 360-px phone in Debian's Chromium: the clerk registers an account, imports its bank
statement, reads why it is due, records the joint meeting's decision with its minutes; the award comes down as
a document the central signed (through the kernel's document inbox); the clerk records the signed contract;
the notice board shows the deposit without a login."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from browser_support import Served, chromium, fits, flash_text, phone, serve_console
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from edge_support import config_for
from web_support import seed_account

from edge.agent import EdgeAgent
from edge.kernel.central import DocumentInbox
from edge.ledger.decisiondoc import sign_document
from edge.ledger.localtime import local_today
from edge.modules.competitive_deposit import COMPETITIVE_DEPOSIT
from edge.modules.competitive_deposit import projection as P
from edge.seal.part import SEAL
from edge.web.demo import sample_pdf
from edge.web.store import WebStore

SHOTS = Path(__file__).resolve().parent.parent / "build" / "screenshots"
ACCT = "6228480012345678"
EDGE_ID = "qinglian-cun"
CENTRAL_KEY = Ed25519PrivateKey.generate()


async def _ready(agent: EdgeAgent) -> None:
    store = await WebStore.open(agent.config.data_dir)
    await seed_account(store, agent, "wukuaiji", ["village_staff"], None, None)
    await store.close()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    config = config_for(tmp_path, "socket://127.0.0.1:9")
    with serve_console(lambda: EdgeAgent.open(config, parts=(SEAL, COMPETITIVE_DEPOSIT)), _ready) as console:
        yield console


async def award_down(agent: EdgeAgent, plan_id: str, notice: date) -> tuple[int, int]:
    """The central's award for the plan, signed with its decision key, through the kernel's document inbox."""

    async def record(kind: str, body: dict[str, Any]) -> Any:
        async with agent.recorder.step():
            return await agent.recorder.record(kind, body)

    document = sign_document(CENTRAL_KEY, {
        "id": "0123456789abcdef0123456789abcdef", "village": EDGE_ID, "kind": P.AWARD, "issued_at": "2026-12-01T02:00:00Z",
        "decision_index": 5, "body": {"plan_id": plan_id, "tender_id": "T-2026-12", "bank": "瑞安农商银行", "rate_percent": "1.85",
                                      "amount_fen": 320_000_000, "term_months": 12, "notice_date": notice.isoformat(), "sign_days": 3},
    })  # fmt: skip
    inbox = DocumentInbox(CENTRAL_KEY.public_key(), EDGE_ID, COMPETITIVE_DEPOSIT.from_central, record)
    return await inbox.take([document], 0)


def test_a_clerk_takes_an_account_from_its_statement_to_the_signed_deposit_on_a_phone(served: Served, tmp_path: Path) -> None:
    today = local_today()
    since = today - timedelta(days=230)
    statement = tmp_path / "流水.csv"
    statement.write_text(f"账户交易明细\n交易日期,摘要,余额\n{today - timedelta(days=400)},转入,\"1,000,000.00\"\n{since},转入,\"3,200,000.00\"\n", encoding="utf-8")
    minutes, contract = tmp_path / "纪要.pdf", tmp_path / "合同.pdf"
    minutes.write_bytes(sample_pdf("Joint meeting minutes", ["Deposit CNY 3,200,000.00 for 12 months"]))
    contract.write_bytes(sample_pdf("Deposit contract", ["Ruian Rural Commercial Bank"]))
    SHOTS.mkdir(parents=True, exist_ok=True)
    with chromium() as browser:
        page = phone(browser, served.url, "wukuaiji")
        page.click("nav.tabs a[href='/competitive_deposit']")
        assert page.locator("h1").inner_text() == "集体资金竞争性存放"

        page.click("#account-details summary")
        page.fill("#account-form input[name=name]", "村集体经济基本户")
        page.fill("#account-form input[name=bank]", "瑞安农商银行")
        page.fill("#account-form input[name=account]", "6228 4800 1234 5678")
        page.click("#account-form button[type=submit]")
        assert flash_text(page) == f"已登记账户 {ACCT}"

        page.click(f"#acct-{ACCT} a")
        page.set_input_files("#import-form input[name=statement]", str(statement))
        page.click("#import-form button[type=submit]")
        assert "已导入 2 行" in flash_text(page)
        months = (today.year - since.year) * 12 + today.month - since.month - (1 if today.day < since.day else 0)
        assert page.locator("#explanation").inner_text() == f"闲置 3,200,000.00 元，自 {since} 起，已 {months} 个月：应竞争性存放"
        fits(page)
        page.screenshot(path=str(SHOTS / "phone-deposit-account.png"), full_page=True)

        page.select_option("#plan-form select[name=term]", "12")
        page.set_input_files("#plan-form input[name=minutes]", str(minutes))
        page.click("#plan-form button[type=submit]")
        plan_id = f"CD-{today.year}-001"
        assert flash_text(page).startswith(f"已记录联席会议决定 {plan_id}")

        assert served.run(award_down(served.agent, plan_id, today)) == (1, 0)
        page.goto(served.url + "/competitive_deposit")
        card = page.locator(f"#plan-{plan_id}")
        assert "已中标，待签约" in card.inner_text() and "瑞安农商银行，年利率 1.85%" in card.inner_text()
        assert f"{today + timedelta(days=3)} 前签约" in card.inner_text()
        card.locator("summary").click()
        page.set_input_files(f"#sign-{plan_id} input[name=contract]", str(contract))
        page.click(f"#sign-{plan_id} button[type=submit]")
        assert flash_text(page) == f"已登记 {plan_id} 的存款合同"
        card = page.locator(f"#plan-{plan_id}")
        assert "已签约，存放中" in card.inner_text() and f"{today} 签约" in card.inner_text() and "逾期签约" not in card.inner_text()
        fits(page)
        page.screenshot(path=str(SHOTS / "phone-deposit.png"), full_page=True)

        public = phone(browser, served.url)
        public.goto(served.url + "/board")
        board = public.locator("main").inner_text()
        assert "集体闲置资金竞争性存放" in board and "瑞安农商银行" in board and "3,200,000.00" in board and ACCT not in board
        fits(public)
