"""Competitive deposit between a village's edge and the central, over the real sync: the joint meeting's plan goes
up and joins the county's plans; an award decided at the central comes down as a signed document and starts the
edge's signing clock; the late signing and the extra income at maturity come back up; an eligible account in no
plan is listed for the township. Officers see their scope only. SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest_asyncio
from central_support import COUNTY, TOWNSHIP, VILLAGE, db_url, enrol, store  # noqa: F401 - fixtures
from edge_support import config_for

from central.app import create_app
from central.db import documents
from central.decisions.log import DecisionLog
from central.modules.competitive_deposit import CENTRAL_COMPETITIVE_DEPOSIT
from central.store import CentralStore
from edge.agent import EdgeAgent
from edge.kernel.config import CentralSettings
from edge.kernel.documents import StoredDocument
from edge.kernel.sync import SyncClient
from edge.ledger import Entry
from edge.modules.competitive_deposit import COMPETITIVE_DEPOSIT, desk
from edge.modules.competitive_deposit import projection as P
from edge.seal.part import SEAL

EDGE = "qinglian-cun"
D = date.fromisoformat
BY = "wukuaiji"
MINUTES = StoredDocument("b" * 64, "纪要.pdf", 2048)
ACCT, OTHER = "6228480012345678", "6230580000123456"


@dataclasses.dataclass
class Site:
    store: CentralStore
    decisions: DecisionLog
    app: Any
    agent: EdgeAgent
    client: SyncClient

    async def page(self, scope: str) -> httpx.Response:
        token = await self.store.issue_token(scope, "监督员")
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://central") as api:
            return await api.get("/m/competitive_deposit", headers={"Authorization": f"Bearer {token}"})

    async def plan_status(self, plan_id: str) -> dict[str, Any]:
        async with self.agent.recorder.step():
            row = await P.plan_row(self.agent.db.conn, plan_id)
        assert row is not None
        return row


@pytest_asyncio.fixture
async def site(store: CentralStore, tmp_path: Path) -> AsyncIterator[Site]:  # noqa: F811
    decisions = await DecisionLog.open(tmp_path / "central", store.db)
    app = create_app(store, parts=(CENTRAL_COMPETITIVE_DEPOSIT,), decisions=decisions)
    key = decisions.public_key()["public_key"]
    config = config_for(tmp_path / "village", "socket://127.0.0.1:9")
    config = dataclasses.replace(config, central=CentralSettings("http://central", EDGE, decision_key=key))
    agent = await EdgeAgent.open(config, parts=(SEAL, COMPETITIVE_DEPOSIT))
    await enrol(store, EDGE, agent.config.data_dir)

    async def record(kind: str, body: dict[str, Any]) -> Entry:
        async with agent.recorder.step():
            return await agent.recorder.record(kind, body)

    client = SyncClient(agent.ledger, "http://central", EDGE, transport=httpx.ASGITransport(app=app), record=record,
                        decision_key=key, document_kinds=COMPETITIVE_DEPOSIT.from_central)  # fmt: skip
    try:
        yield Site(store, decisions, app, agent, client)
    finally:
        await client.stop()
        await agent.close()
        await decisions.close()


async def test_a_plan_goes_up_the_award_comes_down_and_the_income_comes_back(site: Site) -> None:
    agent = site.agent
    await desk.add_account(agent, BY, ACCT, "村集体经济基本户", "瑞安农商银行")
    await desk.enter_balance(agent, BY, ACCT, "2026-03-15", "3200000", D("2026-03-15"))
    plan_id = await desk.record_plan(agent, BY, desk.check_plan(ACCT, "3200000", "12", "2026-11-18", D("2026-11-20")), MINUTES)
    await site.client.sync_once()  # up: the plan joins the county's plans
    page = await site.page(f"county:{COUNTY}")
    assert page.status_code == 200 and f"<td>2026-11</td><td>{VILLAGE}</td><td>{plan_id}</td><td>村集体经济基本户</td>" in page.text
    assert "<td>3,200,000.00</td><td>12 个月</td><td>待招标</td>" in page.text
    elsewhere = await site.page("county:余杭区")  # another county's officer: nothing of this village
    assert elsewhere.status_code == 200 and plan_id not in elsewhere.text and VILLAGE not in elsewhere.text

    # The award, decided at the central (as the monthly tender's result will), down as a signed document.
    award = {"plan_id": plan_id, "tender_id": "T-萧山区-2026-12", "bank": "瑞安农商银行", "rate_percent": "1.85",
             "amount_fen": 320_000_000, "term_months": 12, "notice_date": "2026-12-01", "sign_days": 3}  # fmt: skip
    await site.decisions.decide(P.AWARD, award, EDGE, actor=f"county:{COUNTY}")
    down = await site.client.sync_once()
    assert (down.documents_applied, down.documents_refused) == (1, 0)
    row = await site.plan_status(plan_id)
    assert (row["status"], row["sign_by"]) == ("awarded", "2026-12-04")
    assert await desk.check_due(agent, D("2026-12-05")) == [P.SIGNING_LATE]  # day 4 without a contract
    assert await desk.record_signed(agent, BY, plan_id, D("2026-12-05"), D("2026-12-05"), MINUTES) is True
    await desk.record_matured(agent, BY, plan_id, D("2027-12-05"))
    await site.client.sync_once()
    async with site.store.db.reader.connect() as conn:
        (queued,) = (await conn.execute(documents.select())).all()
    assert queued.status == "applied"  # the edge's own ledger settled the document
    page = await site.page(f"township:{TOWNSHIP}")
    assert '<div class="n" id="deposited">320.00</div>' in page.text and '<div class="n" id="rate">1.8500</div>' in page.text
    assert '<div class="n" id="extra">5.60</div>' in page.text and '<div class="n" id="late">1</div>' in page.text
    assert f"<td>{VILLAGE}</td><td>{TOWNSHIP}</td><td>3,200,000.00</td><td>1.8500</td><td>0.00</td><td>56,000.00</td>" in page.text
    assert "逾期签约</span>" in page.text and "<td>已到期</td>" in page.text
    assert "中标通知 2026-12-01，应于 2026-12-04 前签约，2026-12-05 签约" in page.text  # the late signings, listed


async def test_the_county_reads_every_accounts_idle_funds_and_the_expected_income(site: Site) -> None:
    """The accounts and balances the village recorded go up; the county reads each account's idle funds and
    eligibility by the module's rules on the central's day: one eligible, one a fen under the amount, one a day
    short of the time."""
    agent = site.agent
    for number, name, amount, since in (
        (ACCT, "村集体经济基本户", "3200000", "2026-03-15"),
        ("6217001234567890", "村级留存收益专户", "2999999.99", "2025-10-01"),
        (OTHER, "征地补偿款专户", "3500000", "2026-06-02"),
    ):
        await desk.add_account(agent, BY, number, name, "瑞安农商银行")
        await desk.enter_balance(agent, BY, number, since, amount, D(since))
    await site.client.sync_once()
    site.app.state.shell.clock = lambda: 1_796_140_800.0  # 2026-12-02 00:00 in Shanghai: 06-02 + 6 months exactly
    page = await site.page(f"county:{COUNTY}")
    shown = page.text
    assert "闲置 3,200,000.00 元，自 2026-03-15 起，已 8 个月：应竞争性存放" in shown
    assert "闲置 2,999,999.99 元，自 2025-10-01 起，已 14 个月：未达 3,000,000.00 元" in shown
    assert "闲置 3,500,000.00 元，自 2026-06-02 起，已 6 个月：未超过 6 个月（满 6 个月后一天为 2026-12-03）" in shown
    assert shown.count("应竞争性存放</span>") == 1 and "尾号 5678" in shown and ACCT not in shown
    assert "尾号 5678" not in (await site.page("county:余杭区")).text
    # Signed at 1.85 % for 12 months: 59,200.00 against 3,200.00 at the demand rate, 56,000.00 more expected.
    award = {"plan_id": await desk.record_plan(agent, BY, desk.check_plan(ACCT, "3200000", "12", "2026-11-18", D("2026-11-20")), MINUTES),
             "tender_id": "T-萧山区-2026-12", "bank": "瑞安农商银行", "rate_percent": "1.85", "amount_fen": 320_000_000,
             "term_months": 12, "notice_date": "2026-12-01", "sign_days": 3}  # fmt: skip
    await site.client.sync_once()
    await site.decisions.decide(P.AWARD, award, EDGE, actor=f"county:{COUNTY}")
    await site.client.sync_once()
    assert await desk.record_signed(agent, BY, award["plan_id"], D("2026-12-02"), D("2026-12-02"), MINUTES) is False
    await site.client.sync_once()
    page = await site.page(f"county:{COUNTY}")
    assert '<div class="n" id="expected">5.60</div>' in page.text and "活期 0.10%" in page.text
    assert f"<td>{VILLAGE}</td><td>{TOWNSHIP}</td><td>3,200,000.00</td><td>1.8500</td><td>56,000.00</td><td>0.00</td>" in page.text


async def test_an_eligible_account_in_no_plan_is_listed_for_the_township_once(site: Site) -> None:
    agent = site.agent
    await desk.add_account(agent, BY, OTHER, "征地补偿款专户", "瑞安农商银行")
    await desk.enter_balance(agent, BY, OTHER, "2026-03-15", "3500000", D("2026-03-15"))
    assert await desk.check_due(agent, D("2026-10-16")) == [P.UNPLANNED]
    await site.client.sync_once()
    await site.client.sync_once()  # a second round hands nothing over again
    page = await site.page(f"township:{TOWNSHIP}")
    assert '<div class="n" id="unplanned-count">1</div>' in page.text and "尾号 3456" in page.text
    assert "闲置 3,500,000.00 元，自 2026-03-15 起，已 7 个月：应竞争性存放" in page.text
    assert OTHER not in page.text  # the account number is not shown whole
    assert "尾号 3456" not in (await site.page("township:浦阳镇")).text
