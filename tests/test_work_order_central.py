"""Labour dispatch at the central, over the real sync: the township officer compares the villages in scope — each
worker's dispatches, days and pay (a favourite hired again and again through posted jobs is flagged), the spread
per trade, the emergency orders with their reasons, the blacklistings with the committee's reasons — and no
personal number (phone, ID, bank account, the sealed numbers or the ID's digest) is stored or shown; another
township's officer sees nothing; a resent batch changes nothing. SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest_asyncio
from central_support import TOWNSHIP, VILLAGE, db_url, enrol, store  # noqa: F401 - fixtures
from sqlalchemy import select
from test_work_order import ACCOUNT, MONDAY, bank, id_number, job, planned, register, step, who, work_order_config

from central.app import create_app
from central.modules.work_order import CENTRAL_WORK_ORDER
from central.store import CentralStore
from edge.agent import EdgeAgent
from edge.kernel.config import CentralSettings
from edge.kernel.sync import SyncClient
from edge.modules import PARTS
from edge.modules.work_order import desk

EDGE = "qinglian-cun"


@dataclasses.dataclass
class Site:
    store: CentralStore
    app: Any
    agent: EdgeAgent
    client: SyncClient

    async def page(self, scope: str = f"township:{TOWNSHIP}") -> httpx.Response:
        token = await self.store.issue_token(scope, "乡镇纪委")
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://central") as api:
            return await api.get("/m/work_order", headers={"Authorization": f"Bearer {token}"})

    async def stored(self) -> str:
        async with self.store.db.reader.connect() as conn:
            rows = [dict(r._mapping) for t in CENTRAL_WORK_ORDER.tables for r in await conn.execute(select(t))]
        return json.dumps(rows, ensure_ascii=False, default=str)


@pytest_asyncio.fixture
async def site(store: CentralStore, tmp_path: Path) -> AsyncIterator[Site]:  # noqa: F811
    app = create_app(store, parts=(CENTRAL_WORK_ORDER,))
    config = dataclasses.replace(work_order_config(tmp_path / "village"), central=CentralSettings("http://central", EDGE))
    agent = await EdgeAgent.open(config, parts=PARTS)
    await enrol(store, EDGE, agent.config.data_dir)
    client = SyncClient(agent.ledger, "http://central", EDGE, transport=httpx.ASGITransport(app=app))
    try:
        yield Site(store, app, agent, client)
    finally:
        await client.stop()
        await agent.close()


async def _emergency_taken_by(agent: EdgeAgent, worker: str, reason: str) -> str:
    """An emergency order outside the frozen plan, signed by the head, given as a posted job to ``worker``."""
    order_id = await step(agent, desk.file_order, who(agent, "liming"), ACCOUNT,
                          job(MONDAY, headcount=1, emergency="1", emergency_reason=reason))  # fmt: skip
    await step(agent, desk.decide_order, who(agent, "zhangwei"), ACCOUNT, order_id, True)
    await step(agent, desk.dispatch, who(agent, "liming"), ACCOUNT, order_id, takers=[worker])
    return str(order_id)


async def test_the_township_compares_dispatches_pay_emergencies_and_blacklistings_without_personal_numbers(site: Site) -> None:
    agent = site.agent
    w1, w2, w3, w4 = [await register(agent, n) for n in range(1, 5)]
    order = await planned(agent, MONDAY)  # by rotation: the first two of the order
    sent = await step(agent, desk.dispatch, who(agent, "liming"), ACCOUNT, order)
    assert sent["workers"] == [w1, w2]
    await step(agent, desk.record_attendance, who(agent, "liming"), ACCOUNT, order, MONDAY.isoformat(), {w1: "full", w2: "half"})
    pay = await step(agent, desk.file_pay, who(agent, "liming"), ACCOUNT, order)
    await step(agent, desk.decide_pay, who(agent, "zhaolei"), ACCOUNT, pay, True)
    await step(agent, desk.decide_pay, who(agent, "chenjing"), ACCOUNT, pay, True)
    await step(agent, desk.record_paid, who(agent, "chenjing"), ACCOUNT, pay, "bank", "NB202611030001")
    urgent = [await _emergency_taken_by(agent, w3, f"台风过境第{n}天抢险") for n in (1, 2, 3)]  # the same man, again and again
    await step(agent, desk.set_status, who(agent, "zhangwei"), ACCOUNT, w4, {"status": "blacklisted", "reason": "两委会决定：出工不出力"})
    await site.client.sync_once()

    page = await site.page()
    assert page.status_code == 200
    text = page.text
    assert f"<h2>{VILLAGE} <span" in text and f'id="orders-{EDGE}">4</div>' in text and f'id="emergencies-{EDGE}">3</div>' in text
    assert f'id="blacklisted-{EDGE}">1</div>' in text and f'id="paid-{EDGE}">¥240.00</div>' in text  # 1.5 days at ¥160
    row = f'<tr id="worker-{EDGE}-{w3}"><td>工人3</td><td>保洁</td><td>红丰一片</td><td>3 <span class="badge bad">多派</span></td>'
    assert row in text
    assert f'<tr id="worker-{EDGE}-{w1}"><td>工人1</td><td>保洁</td><td>红丰一片</td><td>1</td><td>1</td><td>¥160.00</td>' in text
    assert f'<tr id="worker-{EDGE}-{w2}"><td>工人2</td><td>保洁</td><td>红丰一片</td><td>1</td><td>0.5</td><td>¥80.00</td>' in text
    assert text.count("多派</span>") == 1  # the blacklisted worker, never dispatched, is left out of the comparison
    assert f'id="spread-{EDGE}">派工次数之差（最多−最少，不含黑名单）：保洁 2</p>' in text
    assert all(f'id="emergency-{EDGE}-{o}"' in text for o in urgent) and "理由：台风过境第2天抢险" in text
    assert "<b>工人4</b> 保洁" in text and "两委会理由：两委会决定：出工不出力" in text

    # nothing personal at the central: not in its rows, not on the page
    async with agent.recorder.step():
        sealed = [dict(r) for r in await (await agent.db.conn.execute("SELECT id_sealed, bank_sealed, id_digest FROM wo_workers")).fetchall()]
    secrets = [*(id_number(n) for n in range(1, 5)), *(bank(n) for n in range(1, 5)), "1385710", *(v for r in sealed for v in r.values())]
    stored = await site.stored()
    assert not [s for s in secrets if s in stored or s in text]

    # another township's (or county's) officer sees nothing of this village
    for scope in ("township:义桥镇", "county:余杭区"):
        elsewhere = (await site.page(scope)).text
        assert VILLAGE not in elsewhere and "工人3" not in elsewhere and "辖区各村尚无派工记录" in elsewhere

    # a second round hands nothing over again: the figures stand
    await site.client.sync_once()
    assert await site.stored() == stored


async def test_an_entry_the_comparison_cannot_take_is_stored_and_the_rest_goes_on(site: Site) -> None:
    agent = site.agent
    await register(agent, 1)
    async with agent.recorder.step():  # accepted at the village (an anomaly there): a status of a worker no pool has
        body = {"worker_id": "W404", "status": "blacklisted", "reason": "x", "by": "zhangwei", "account": ACCOUNT}
        await agent.recorder.record("work_order.worker_status", body)
    await register(agent, 2)
    result = await site.client.sync_once()
    assert result.next_index == result.local_size == await agent.ledger.size()  # the whole batch is stored
    text = (await site.page()).text
    assert "工人1" in text and "工人2" in text and f'id="blacklisted-{EDGE}">0</div>' in text
