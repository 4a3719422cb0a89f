"""A grant whose window lapsed unused reads 授权过期未用印 (not 已完成), and its final approver may re-issue it once,
with one tap, while the approval lives (edge/seal/regrant.py). The simulated board, its real grant window."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from edge_support import SMALL, document, running_agent
from test_ocr_edge import console_clients

from edge.agent import EdgeAgent
from edge.kernel.errors import Refused
from edge.seal import projection as P
from edge.seal.cli import format_request_line
from hostsim.control import SimBoard

TIMEOUT = 30.0
WINDOW_S = 2  # the grant's window on the device: it lapses while nobody presses


class Clock:
    """The edge's clock for approvals' lifetimes, moved by the test."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def edge(tmp_path: Path, board: SimBoard, clock: Clock) -> AsyncIterator[EdgeAgent]:
    agent = await running_agent(tmp_path, board, clock=clock, use_window_s=WINDOW_S)
    yield agent
    await agent.close()


async def lapsed(agent: EdgeAgent, tmp_path: Path) -> str:
    request = await agent.file_request("liming", "村委会证明", "official", 2, document(tmp_path), amount_fen=SMALL)
    await agent.approve(request.id, "zhangwei")
    await agent.approve(request.id, "chenjing")  # the final approval
    await agent.wait_request(request.id, {"in_use"}, TIMEOUT)
    await agent.wait_request(request.id, {"closed"}, TIMEOUT)  # the window passes, nobody presses
    return request.id


async def test_a_lapsed_window_is_named_and_the_final_approver_reissues_it_once(
    edge: EdgeAgent, board: SimBoard, tmp_path: Path
) -> None:
    request_id = await lapsed(edge, tmp_path)
    request = await edge.get_request(request_id)
    assert request.lapsed_unused and request.status_name == "授权过期未用印" and request.presses_used == 0
    assert request.to_dict()["status_name"] == "授权过期未用印"
    assert "授权过期未用印(closed)" in format_request_line(request.to_dict())  # the CLI's list

    with pytest.raises(Refused) as refused:
        await edge.regrant(request_id, "zhangwei")  # approved too, but not last
    assert refused.value.code == "not_final_approver"
    with pytest.raises(Refused):
        await edge.regrant(request_id, "liming")  # the applicant

    again = await edge.regrant(request_id, "chenjing", "chenjing-account")
    assert again.status == "approved" and again.regranted
    (entry,) = [e.body for e in await edge.ledger.entries_of_kind(P.REGRANTED) if e.body["request_id"] == request_id]
    assert (entry["approver"], entry["account"]) == ("chenjing", "chenjing-account")
    await edge.wait_request(request_id, {"in_use"}, TIMEOUT)  # a new grant reached the device
    await asyncio.to_thread(board.control.press)
    closed = await edge.wait_request(request_id, {"closed"}, TIMEOUT)
    assert closed.presses_used >= 1 and not closed.lapsed_unused and closed.status_name == "已完成"

    with pytest.raises(Refused) as refused:
        await edge.regrant(request_id, "chenjing")
    assert refused.value.code == "not_lapsed"


async def test_only_once_and_only_while_the_approval_lives(edge: EdgeAgent, tmp_path: Path, clock: Clock) -> None:
    request_id = await lapsed(edge, tmp_path)
    await edge.regrant(request_id, "chenjing")
    await edge.wait_request(request_id, {"in_use"}, TIMEOUT)
    await edge.wait_request(request_id, {"closed"}, TIMEOUT)  # lapsed a second time
    assert (await edge.get_request(request_id)).lapsed_unused
    with pytest.raises(Refused) as refused:
        await edge.regrant(request_id, "chenjing")
    assert refused.value.code == "regranted_once"

    other = await lapsed(edge, tmp_path)
    clock.offset = timedelta(seconds=edge.config.timing.approval_ttl_s + 1)  # the approval's lifetime is over
    with pytest.raises(Refused) as refused:
        await edge.regrant(other, "chenjing")
    assert refused.value.code == "approval_expired"
    assert (await edge.get_request(other)).status == "closed"


async def test_the_page_names_the_lapse_and_offers_the_final_approver_one_tap(edge: EdgeAgent, tmp_path: Path) -> None:
    request_id = await lapsed(edge, tmp_path)
    async with console_clients(
        edge, ("zhangwei", ["approver"], "zhangwei"), ("chenjing", ["approver"], "chenjing")
    ) as (first, final):
        page = (await first.get(f"/requests/{request_id}")).text
        assert "授权过期未用印" in page and 'id="regrant"' not in page and "已完成" not in page
        assert (await first.get(f"/api/requests/{request_id}")).json()["lapsed_unused"] is True
        assert 'id="regrant"' in (await final.get(f"/requests/{request_id}")).text
        refused = await first.post(f"/api/requests/{request_id}/regrant", headers={"X-CSRF-Token": await token(first)})
        assert refused.status_code == 409
        done = await final.post(f"/api/requests/{request_id}/regrant", headers={"X-CSRF-Token": await token(final)})
        assert done.status_code == 200 and done.json()["regranted"] is True
    await edge.wait_request(request_id, {"in_use", "closed"}, TIMEOUT)


async def token(client: object) -> str:
    answer = await client.get("/api/me")  # type: ignore[attr-defined]
    return str(answer.json()["csrf_token"])
