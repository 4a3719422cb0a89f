"""What DingTalk approvals offer and a village expects, each a ledger entry: the applicant withdraws (撤销) or
reminds (催办); the approver whose turn it is not sees why and no active button; tabs 待我审批 / 我已审批 / 我发起的."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from edge_support import SMALL, document, running_agent, writer  # noqa: F401  (writer is a fixture)
from test_ocr_edge import console_clients
from test_web_push import Phone, eventually, harness
from web_support import Receiver

from edge.agent import EdgeAgent
from edge.kernel.errors import Refused
from edge.kernel.websettings import NotifyBackendConfig
from edge.seal import projection as P
from hostsim.control import SimBoard


class Clock:
    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def edge(tmp_path: Path, board: SimBoard, clock: Clock) -> AsyncIterator[EdgeAgent]:
    agent = await running_agent(tmp_path, board, clock=clock)
    yield agent
    await agent.close()


async def filed(agent: EdgeAgent, tmp_path: Path, matter: str = "村委会证明") -> str:
    return (await agent.file_request("liming", matter, "official", 1, document(tmp_path), amount_fen=SMALL)).id


async def test_the_applicant_withdraws_a_request_nobody_has_decided(edge: EdgeAgent, tmp_path: Path) -> None:
    request_id = await filed(edge, tmp_path)
    with pytest.raises(Refused) as refused:
        await edge.withdraw(request_id, "zhangwei")
    assert refused.value.code == "not_applicant"
    withdrawn = await edge.withdraw(request_id, "liming", "liming-account")
    assert withdrawn.status == "withdrawn" and withdrawn.status_name == "已撤销"
    (entry,) = [e.body for e in await edge.ledger.entries_of_kind(P.WITHDRAWN_KIND)]
    assert entry == {"request_id": request_id, "applicant": "liming", "account": "liming-account"}
    with pytest.raises(Refused):
        await edge.approve(request_id, "zhangwei")  # nothing left to decide

    decided = await filed(edge, tmp_path, "已有意见")
    await edge.approve(decided, "zhangwei")
    with pytest.raises(Refused) as refused:
        await edge.withdraw(decided, "liming")
    assert refused.value.code == "already_decided"


async def test_a_reminder_goes_to_whoever_is_awaited_at_most_once_an_hour(edge: EdgeAgent, tmp_path: Path, clock: Clock) -> None:
    request_id = await filed(edge, tmp_path)
    assert await edge.remind(request_id, "liming") == ["zhangwei"]  # the chain's first
    with pytest.raises(Refused) as refused:
        await edge.remind(request_id, "liming")
    assert refused.value.code == "too_soon"
    with pytest.raises(Refused) as refused:
        await edge.remind(request_id, "chenjing")
    assert refused.value.code == "not_applicant"
    await edge.approve(request_id, "zhangwei")
    clock.offset = timedelta(seconds=3601)
    assert await edge.remind(request_id, "liming") == ["chenjing"]
    entries = [e.body for e in await edge.ledger.entries_of_kind(P.REMINDED)]
    assert [e["awaiting"] for e in entries] == [["zhangwei"], ["chenjing"]]


async def test_a_reminder_is_pushed_to_the_awaited_approver(writer: EdgeAgent, tmp_path: Path) -> None:
    with Receiver(lambda item: (201, b"")) as push_service:
        h = await harness(writer, NotifyBackendConfig("webpush", "网页推送", subject="mailto:ops@qinglian.example"))
        try:
            phone = Phone(f"{push_service.url}/push/zhangwei-phone")
            await h.subscribe("zhangwei", phone)
            request_id = await filed(writer, tmp_path)
            await eventually("the filing pushed", lambda: len(push_service.received) == 1)
            await writer.remind(request_id, "liming")
            await eventually("the reminder pushed", lambda: len(push_service.received) == 2)
            reminder = phone.decrypt(push_service.received[1].body)
            assert "催办" in str(reminder) and request_id in str(reminder)
        finally:
            await h.close()


async def test_tabs_and_whose_turn_it_is_on_the_pages(edge: EdgeAgent, tmp_path: Path) -> None:
    request_id = await filed(edge, tmp_path)
    async with console_clients(
        edge, ("liming", ["applicant"], "liming"), ("zhangwei", ["approver"], "zhangwei"), ("chenjing", ["approver"], "chenjing")
    ) as (applicant, first, second):
        page = (await second.get(f"/requests/{request_id}")).text
        assert "顺序审批，应由 张伟 先审批" in page and 'id="approve" disabled' in page  # not their turn: why, no button
        assert 'id="approve" disabled' not in (await first.get(f"/requests/{request_id}")).text
        assert request_id in (await first.get("/requests?tab=todo")).text
        assert request_id not in (await second.get("/requests?tab=todo")).text
        assert request_id in (await applicant.get("/requests?tab=mine")).text
        assert request_id not in (await first.get("/requests?tab=mine")).text
        assert request_id not in (await first.get("/requests?tab=done")).text
        await edge.approve(request_id, "zhangwei")
        assert request_id in (await first.get("/requests?tab=done")).text
        assert request_id in (await second.get("/requests?tab=todo")).text
        mine = (await applicant.get(f"/requests/{request_id}")).text
        assert 'id="remind"' in mine and 'id="withdraw"' not in mine  # decided once: no withdrawing
        csrf = (await applicant.get("/api/me")).json()["csrf_token"]
        answer = await applicant.post(f"/api/requests/{request_id}/remind", headers={"X-CSRF-Token": csrf})
        assert answer.status_code == 200 and answer.json() == {"reminded": ["chenjing"]}
        again = await applicant.post(f"/api/requests/{request_id}/withdraw", headers={"X-CSRF-Token": csrf})
        assert again.status_code == 409


async def test_an_approval_carries_its_comment_into_the_ledger(edge: EdgeAgent, tmp_path: Path) -> None:
    request_id = await filed(edge, tmp_path)
    async with console_clients(
        edge, ("zhangwei", ["approver"], "zhangwei"), ("chenjing", ["approver"], "chenjing"), ("jiandu", ["supervisor"], None)
    ) as (first, second, supervisor):
        csrf = (await first.get("/api/me")).json()["csrf_token"]
        too_long = await first.post(f"/requests/{request_id}/approve", data={"csrf_token": csrf, "comment": "长" * 501})
        assert too_long.status_code == 303 and (await edge.get_request(request_id)).approvals == ()  # nothing recorded
        form = (await first.get(f"/requests/{request_id}")).text
        assert 'name="comment" form="approve-form"' in form
        done = await first.post(f"/requests/{request_id}/approve", data={"csrf_token": csrf, "comment": " 已核对原件金额 "})
        assert done.status_code == 303
        token = (await second.get("/api/me")).json()["csrf_token"]
        api = await second.post(f"/api/requests/{request_id}/approve", headers={"X-CSRF-Token": token}, json={"comment": "同意"})
        assert api.status_code == 200
        page = (await first.get(f"/requests/{request_id}")).text
        assert "张伟 同意：已核对原件金额" in page and "陈静 同意：同意" in page
        ledger = (await supervisor.get("/ledger")).text
    comments = [(e.body["approver"], e.body["comment"]) for e in await edge.ledger.entries_of_kind(P.COMMENTED)]
    assert comments == [("zhangwei", "已核对原件金额"), ("chenjing", "同意")]
    assert "对 " + request_id + " 的审批意见：已核对原件金额" in ledger
