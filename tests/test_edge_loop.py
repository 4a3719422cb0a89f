"""The seal loop through the edge agent, against a real simulated board in its own process."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from edge_support import LARGE, SMALL, TIMEOUT, agent, document, running_agent  # noqa: F401  (agent is a fixture)

from edge.agent import EdgeAgent
from edge.seal.db import FINAL_STATES
from edge.ledger import verify_ledger
from hostsim.control import SimBoard



async def _state(board: SimBoard) -> dict[str, Any]:
    return await asyncio.to_thread(board.control.state)


async def _press(board: SimBoard, times: int = 1) -> None:
    for _ in range(times):
        await asyncio.to_thread(board.control.press, 40)


async def _entries(agent: EdgeAgent, kind: str, request_id: str | None = None) -> list[dict[str, Any]]:
    bodies = [e.body for e in await agent.ledger.entries_of_kind(kind)]
    return [b for b in bodies if request_id is None or b.get("request_id") == request_id]


async def _approved(agent: EdgeAgent, tmp_path: Path, presses: int, amount_fen: int = SMALL) -> str:
    request = await agent.file_request("liming", "村道修缮证明", "official", presses, document(tmp_path), amount_fen=amount_fen)
    await agent.approve(request.id, "zhangwei")
    await agent.approve(request.id, "chenjing")
    return request.id


async def test_approve_unlock_presses_relock_closed(agent: EdgeAgent, board: SimBoard, tmp_path: Path) -> None:
    request = await agent.file_request("liming", "村道修缮证明", "official", 3, document(tmp_path), amount_fen=SMALL)
    await agent.approve(request.id, "zhangwei")
    await agent.next_pass(TIMEOUT)
    assert (await agent.get_request(request.id)).status == "pending"
    assert (await _state(board))["lock"] == "locked"  # one approval of two: nothing sent
    assert await _entries(agent, "grant.issued") == []

    await agent.approve(request.id, "chenjing")
    in_use = await agent.wait_request(request.id, {"in_use"}, TIMEOUT)
    assert in_use.grant_no == 1
    state = await _state(board)
    assert state["lock"] == "unlocked"
    assert state["grant"]["req"] == request.id and state["grant"]["presses"] == 3

    await _press(board, 3)
    closed = await agent.wait_request(request.id, {"closed"}, TIMEOUT)
    assert (closed.presses_used, closed.reason) == (3, "presses_used")
    state = await _state(board)
    assert state["lock"] == "locked" and state["presses_total"] == 3

    presses = await _entries(agent, "seal.press", request.id)
    assert [p["event"]["n"] for p in presses] == [1, 2, 3]
    assert [p["event"]["total"] for p in presses] == [1, 2, 3]
    kinds = [e.kind for e in await agent.ledger.entries(0) if e.body.get("request_id") == request.id]
    assert kinds == [
        "seal_request.filed", "seal_request.approval", "seal_request.approval", "seal_request.approved",
        "grant.issued", "seal.grant_ok", "seal.unlocked", "seal.press", "seal.press", "seal.press",
        "seal.relocked", "seal_request.closed",
    ]  # fmt: skip
    (closing,) = await _entries(agent, "seal_request.closed", request.id)
    assert closing["presses_used"] == closing["presses_approved"] == 3
    assert verify_ledger(agent.config.data_dir).ok


async def test_two_of_three_grants_after_the_second_approval(agent: EdgeAgent, board: SimBoard, tmp_path: Path) -> None:
    request = await agent.file_request("liming", "合同", "official", 1, document(tmp_path), amount_fen=LARGE)
    await agent.approve(request.id, "zhaolei")
    await agent.next_pass(TIMEOUT)
    assert (await _state(board))["lock"] == "locked"
    assert await _entries(agent, "grant.issued") == []
    await agent.approve(request.id, "chenjing")
    await agent.wait_request(request.id, {"in_use"}, TIMEOUT)
    await _press(board)
    closed = await agent.wait_request(request.id, FINAL_STATES, TIMEOUT)
    assert (closed.status, closed.presses_used) == ("closed", 1)
    assert closed.approvers_done == ["zhaolei", "chenjing"]


async def test_requests_take_turns_and_every_press_matches_the_board(agent: EdgeAgent, board: SimBoard, tmp_path: Path) -> None:
    first = await _approved(agent, tmp_path, 2)
    second = await _approved(agent, tmp_path, 1)
    await agent.wait_request(first, {"in_use"}, TIMEOUT)
    await agent.next_pass(TIMEOUT)
    # One grant at a time per device: the second request waits, and no grant of its was issued.
    assert (await agent.get_request(second)).status == "approved"
    assert [g["request_id"] for g in await _entries(agent, "grant.issued")] == [first]
    await _press(board, 2)
    await agent.wait_request(first, {"closed"}, TIMEOUT)
    await agent.wait_request(second, {"in_use"}, TIMEOUT)
    await _press(board)
    await agent.wait_request(second, {"closed"}, TIMEOUT)

    await _press(board)  # with the seal locked: counted as an attempt, recorded as an anomaly
    await agent.recorder.wait_for(lambda: _entries(agent, "seal.locked_press"), TIMEOUT)
    (attempt,) = await _entries(agent, "seal.locked_press")
    assert attempt["anomaly"] == "locked_press"

    state = await _state(board)
    presses = await _entries(agent, "seal.press")
    assert state["presses_total"] == len(presses) == 3
    assert [p["event"]["total"] for p in presses] == [1, 2, 3]
    assert len({p["event_id"] for p in presses}) == 3
    grants = await _entries(agent, "grant.issued")
    assert [g["no"] for g in grants] == [1, 2]  # strictly increasing


async def test_tamper_during_use_relocks_and_closes(agent: EdgeAgent, board: SimBoard, tmp_path: Path) -> None:
    request = await _approved(agent, tmp_path, 3)
    await agent.wait_request(request, {"in_use"}, TIMEOUT)
    await _press(board)
    await asyncio.to_thread(board.control.tamper, True)
    closed = await agent.wait_request(request, FINAL_STATES, TIMEOUT)
    assert (closed.status, closed.reason, closed.presses_used) == ("closed", "tamper", 1)
    (tamper,) = await _entries(agent, "seal.tamper")
    assert tamper["anomaly"] == "tamper_open"
    # While the case is open, an approved request waits: the device would refuse it.
    device_id = board.device_id
    assert device_id is not None and agent.devices is not None
    devices = agent.devices

    async def tamper_seen() -> bool:
        return bool((devices.live_status(device_id) or {}).get("tamper"))

    await agent.recorder.wait_for(tamper_seen, TIMEOUT)  # the status the grants go by says the case is open
    waiting = await _approved(agent, tmp_path, 1)
    await agent.next_pass(TIMEOUT)
    assert (await agent.get_request(waiting)).status == "approved"
    assert [g["request_id"] for g in await _entries(agent, "grant.issued")] == [request]
    await asyncio.to_thread(board.control.tamper, False)
    await agent.wait_request(waiting, {"in_use"}, TIMEOUT)
    assert (await _state(board))["lock"] == "unlocked"


async def test_board_reboot_during_use_closes_and_resent_events_are_not_duplicated(
    agent: EdgeAgent, board: SimBoard, tmp_path: Path
) -> None:
    request = await _approved(agent, tmp_path, 3)
    await agent.wait_request(request, {"in_use"}, TIMEOUT)
    await _press(board)
    await agent.recorder.wait_for(lambda: _entries(agent, "seal.press", request), TIMEOUT)
    await asyncio.to_thread(board.control.power_cycle)  # the lock drops; the device resends unacked events
    closed = await agent.wait_request(request, FINAL_STATES, TIMEOUT)
    assert (closed.status, closed.reason, closed.presses_used) == ("closed", "reboot", 1)
    await agent.recorder.wait_for(lambda: _entries(agent, "seal.boot"), TIMEOUT)

    async def all_acknowledged() -> bool:  # so every event the device sent again has reached the edge
        return (await _state(board))["firmware"]["pending"] == 0

    await agent.recorder.wait_for(all_acknowledged, TIMEOUT)
    entries = await agent.ledger.entries(0)
    event_ids = [e.body["event_id"] for e in entries if e.kind.startswith("seal.")]
    assert len(event_ids) == len(set(event_ids)) and event_ids == sorted(event_ids)
    assert len(await _entries(agent, "seal.press")) == (await _state(board))["presses_total"] == 1
    (relock,) = await _entries(agent, "seal.relocked", request)
    assert relock["anomaly"] == "reboot_during_use"

    # After the reboot the next request still gets a fresh, higher grant number and works.
    again = await _approved(agent, tmp_path, 1)
    await agent.wait_request(again, {"in_use"}, TIMEOUT)
    await _press(board)
    assert (await agent.wait_request(again, FINAL_STATES, TIMEOUT)).status == "closed"
    assert [g["no"] for g in await _entries(agent, "grant.issued")] == [1, 2]


async def test_a_new_edge_continues_above_the_devices_last_grant(board: SimBoard, tmp_path: Path) -> None:
    first = await running_agent(tmp_path / "a", board)
    try:
        request = await _approved(first, tmp_path, 1)
        await first.wait_request(request, {"in_use"}, TIMEOUT)
        await _press(board)
        await first.wait_request(request, {"closed"}, TIMEOUT)
    finally:
        await first.close()
    # A second edge with an empty database (a replaced Pi): grant numbers go on from the device's.
    second = await running_agent(tmp_path / "b", board)
    try:
        request = await _approved(second, tmp_path, 1)
        in_use = await second.wait_request(request, {"in_use"}, TIMEOUT)
        assert in_use.grant_no == 2
        lost = await _entries(second, "device.events_lost")
        assert lost and lost[0]["reason"] == "before_enrolment"
        await _press(board)
        await second.wait_request(request, {"closed"}, TIMEOUT)
    finally:
        await second.close()
    assert (await _state(board))["presses_total"] == 2
