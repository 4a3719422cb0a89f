"""The device offline when its grant is due: the grant waits; past approval_ttl_s the request expires, unsent."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from edge_support import SMALL, TIMEOUT, document, running_agent

from edge.agent import EdgeAgent
from edge.seal.desk import parse_time
from hostsim.control import SimBoard



async def _link(agent: EdgeAgent, board: SimBoard, up: bool) -> None:
    await asyncio.to_thread(board.control.set_link, up)
    device_id = board.device_id
    assert device_id is not None
    assert agent.devices is not None
    devices = agent.devices

    async def reached() -> bool:
        return devices.is_online(device_id) == up

    await agent.recorder.wait_for(reached, TIMEOUT)


async def _file_and_approve(agent: EdgeAgent, tmp_path: Path) -> str:
    request = await agent.file_request("liming", "证明", "official", 2, document(tmp_path), amount_fen=SMALL)
    await agent.approve(request.id, "zhangwei")
    await agent.approve(request.id, "chenjing")
    return request.id


class StoppedClock:
    """The edge's clock, standing still until the test sets it: a request expires when the test says."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


async def test_grant_waits_for_an_offline_device_then_expires_unsent(board: SimBoard, tmp_path: Path) -> None:
    clock = StoppedClock()
    agent = await running_agent(tmp_path, board, clock=clock, approval_ttl_s=2)
    try:
        await _link(agent, board, False)
        request = await _file_and_approve(agent, tmp_path)
        approved_at = (await agent.get_request(request)).approved_at
        assert approved_at is not None
        clock.now = parse_time(approved_at) + timedelta(seconds=2, microseconds=-1)
        await agent.next_pass(TIMEOUT)
        assert (await agent.get_request(request)).status == "approved"  # waiting, not sent
        clock.now += timedelta(microseconds=1)
        expired = await agent.wait_request(request, {"expired"}, TIMEOUT)
        assert expired.reason == "approval_ttl"

        await _link(agent, board, True)
        await agent.next_pass(TIMEOUT)  # the device is back and the agent has looked: an expired request stays unsent
        assert (await agent.get_request(request)).status == "expired"
        kinds = [e.kind for e in await agent.ledger.entries(0)]
        assert "device.offline" in kinds and kinds.count("device.online") >= 2
        assert "grant.issued" not in kinds
        (entry,) = await agent.ledger.entries_of_kind("seal_request.expired")
        assert entry.body["request_id"] == request and entry.body["ttl_s"] == 2
        state = await asyncio.to_thread(board.control.state)
        assert state["lock"] == "locked" and state["grant"] is None
        assert state["firmware"]["last_grant"] == 0  # the device never saw a grant
    finally:
        await agent.close()


async def test_grant_waits_and_is_sent_when_the_device_returns_in_time(board: SimBoard, tmp_path: Path) -> None:
    agent = await running_agent(tmp_path, board, approval_ttl_s=60)
    try:
        await _link(agent, board, False)
        request = await _file_and_approve(agent, tmp_path)
        await agent.next_pass(TIMEOUT)
        assert (await agent.get_request(request)).status == "approved"
        await _link(agent, board, True)
        await agent.wait_request(request, {"in_use"}, TIMEOUT)
        for _ in range(2):
            await asyncio.to_thread(board.control.press, 40)
        closed = await agent.wait_request(request, {"closed"}, TIMEOUT)
        assert closed.presses_used == 2
        assert [e.body["no"] for e in await agent.ledger.entries_of_kind("grant.issued")] == [1]
    finally:
        await agent.close()
