"""The hours on a real (simulated) board: the grant's window on the device ends with the seal's hours, and an
approved request whose grant was not sent before the close waits for the next opening (edge/seal/hours.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import pytest
from edge_support import DEVICE, SMALL, document
from test_seal_hours import at, with_hours

from edge.agent import EdgeAgent
from edge.kernel.config import load_config
from edge.seal import projection as P
from edge.seal.keystore import DeviceIdentity
from hostsim.control import SimBoard

TIMEOUT = 30.0
# The approval's lifetime runs from its entry's real time stamp to the edge's clock, which these tests set to
# fixed days: long enough that no approval here expires whatever day the tests run on.
APPROVAL_TTL_S = 20 * 365 * 86400


class FixedClock:
    """The edge's clock, standing still where the test puts it."""

    def __init__(self, instant: datetime) -> None:
        self.instant = instant

    def __call__(self) -> datetime:
        return self.instant


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(at(17, 29))


@pytest.fixture
async def edge(tmp_path: Path, board: SimBoard, clock: FixedClock) -> AsyncIterator[EdgeAgent]:
    ident = board.identity()
    config = load_config(with_hours(tmp_path, device_id=ident.device_id, approval_ttl_s=APPROVAL_TTL_S)).with_device_url(DEVICE, board.serial_url)
    agent = await EdgeAgent.open(config, clock=clock)
    try:
        await agent.enrol(DeviceIdentity(ident.device_id, ident.key), DEVICE)
        await agent.start()
        await agent.wait_online(DEVICE, 15)
        yield agent
    finally:
        await agent.close()


async def approved(agent: EdgeAgent, tmp_path: Path) -> str:
    request = await agent.file_request("liming", "村委会证明", "official", 1, document(tmp_path), amount_fen=SMALL)
    await agent.approve(request.id, "zhangwei")
    await agent.approve(request.id, "chenjing")
    return request.id


async def grant_of(agent: EdgeAgent, request_id: str) -> dict[str, object]:
    (grant,) = [e.body for e in await agent.ledger.entries_of_kind(P.GRANT_ISSUED) if e.body["request_id"] == request_id]
    return grant


async def test_approved_at_1729_the_device_gets_a_window_to_1730(edge: EdgeAgent, tmp_path: Path) -> None:
    request_id = await approved(edge, tmp_path)
    await edge.wait_request(request_id, {"in_use"}, TIMEOUT)  # the board took the grant
    assert (await grant_of(edge, request_id))["valid_s"] == 60  # not the configured 600


async def test_a_grant_not_sent_by_the_close_waits_for_the_next_opening(
    edge: EdgeAgent, tmp_path: Path, clock: FixedClock
) -> None:
    clock.instant = at(17, 29, 59).replace(microsecond=500_000)  # inside the hours, but under a second left
    request_id = await approved(edge, tmp_path)
    assert (await edge.get_request(request_id)).status == "approved"
    clock.instant = at(17, 29, day=(2026, 12, 4))  # the next day, a minute before the close
    await edge.wait_request(request_id, {"in_use"}, TIMEOUT)
    # Sent only now: at 17:29:59.5 the window would have been cut to nothing (or, uncut, 600).
    assert (await grant_of(edge, request_id))["valid_s"] == 60
