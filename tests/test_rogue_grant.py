"""A grant the edge never issued: someone read the device key out of the board's flash and used it.

The attacker unplugs the sleeve from the edge, reads ``identity.json`` from the flash (esptool would do
for a real board), mints a grant with a number the edge never gave out, opens the lock and stamps. When
the sleeve is back on the edge, the device reports what it did: the edge records the anomaly at once,
pushes it to the supervisors, shows it on the device page and sends the device no grant until a
technician re-provisions it with a new key — across restarts, because the block is in the ledger.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from edge_support import DEVICE, TIMEOUT, document, running_agent, wait_until, writer  # noqa: F401  (writer is a fixture)
from web_support import Receiver

from edge.seal import projection as P
from edge.agent import EdgeAgent
from edge.seal.devicelink import DeviceLink
from edge.seal.devices import BLOCKED, MALFORMED, ROGUE
from edge.kernel.config import EdgeConfig
from edge.kernel.websettings import NotifyBackendConfig, WebSettings
from edge.seal.keystore import DeviceIdentity
from edge.ledger import verify_ledger
from edge.web.accounts import check_account, create_account
from edge.web.server import ConsoleServer, start_console
from hostsim.control import SimBoard
from tools import flash, release, releasekey
from tools.progress import Progress

ROGUE_NO = 7  # the edge issues 1 below; 2..7 it never gives out
PASSWORD = "Seal-Watch-2026-county"
BASE = "https://seal.example.cn"


def stolen_identity(board: SimBoard) -> tuple[str, bytes]:
    """What an attacker reads from the board's flash (the file, not the project's reader)."""
    data = json.loads((board.state / "flash" / "identity.json").read_text())
    return data["device_id"], bytes.fromhex(data["key"])


def attack(board: SimBoard) -> None:
    """With the sleeve on the attacker's laptop: a forged grant opens the lock, one stamp, the lock closes.

    Nothing is acknowledged, so the device keeps its events for the edge, as it does for any link.
    """
    device_id, key = stolen_identity(board)
    link = DeviceLink(board.serial_url, device_id, key, acknowledge=False)
    link.start()
    try:
        link.wait_online(TIMEOUT)
        link.send_grant(ROGUE_NO, "ROGUE-1", 1, 60)
        wait_until("the forged grant to open the lock", lambda: board.control.state()["lock"] == "unlocked", TIMEOUT)
        board.control.press()
        wait_until("the lock to close after the one press", lambda: board.control.state()["lock"] == "locked", TIMEOUT)
    finally:
        link.close()


async def kinds(agent: EdgeAgent, kind: str) -> list[dict[str, Any]]:
    return [e.body for e in await agent.ledger.entries_of_kind(kind)]


async def forged(agent: EdgeAgent, kind: str) -> list[dict[str, Any]]:
    """The entries of one kind of device event under the forged grant."""
    return [b for b in await kinds(agent, kind) if b["event"].get("no") == ROGUE_NO]


async def approved(agent: EdgeAgent, tmp_path: Path) -> str:
    request = await agent.file_request("liming", "村务证明", "official", 1, document(tmp_path))
    await agent.approve(request.id, "zhangwei")
    await agent.approve(request.id, "chenjing")
    return request.id


async def one_legit_use(agent: EdgeAgent, board: SimBoard, tmp_path: Path) -> None:
    request = await approved(agent, tmp_path)
    assert (await agent.wait_request(request, {"in_use"}, TIMEOUT)).grant_no == 1
    await asyncio.to_thread(board.control.press)
    await agent.wait_request(request, {"closed"}, TIMEOUT)


async def refused(agent: EdgeAgent, board: SimBoard, tmp_path: Path) -> dict[str, Any]:
    """An approved request for the blocked seal fails at once, saying why in Chinese; the lock stays shut."""
    request = await approved(agent, tmp_path)
    failed = await agent.wait_request(request, {"failed"}, TIMEOUT)
    assert failed.reason == BLOCKED
    assert not [g for g in await kinds(agent, P.GRANT_ISSUED) if g["request_id"] == request]
    assert (await asyncio.to_thread(board.control.state))["lock"] == "locked"
    (entry,) = [b for b in await kinds(agent, P.FAILED_KIND) if b["request_id"] == request]
    return entry


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


async def console(agent: EdgeAgent, push_url: str) -> ConsoleServer:
    """The web console with Web Push, a county supervisor and the supervisor's phone subscribed."""
    settings = WebSettings(enabled=True, port=0, public_url=BASE, notify=(NotifyBackendConfig("webpush", "网页推送"),))
    server = await start_console(agent, settings)
    store = server.console.store
    new = check_account(agent.config, "jiandu", "县纪委", ["supervisor"], None, ["*"])
    account = await create_account(store, agent.config, new, PASSWORD, "admin", agent.record_account, own_password=True)
    # A browser's push subscription: its P-256 public key and auth secret.
    public = ec.generate_private_key(ec.SECP256R1()).public_key()
    point = public.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    await store.add_subscription(account.id, f"{push_url}/push/jiandu", b64url(point), b64url(os.urandom(16)), "test")
    return server


async def eventually(what: str, check: Callable[[], Any], timeout: float = TIMEOUT) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := await check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)
    return value


async def supervisor_sees(server: ConsoleServer) -> tuple[str, dict[str, Any]]:
    async with httpx.AsyncClient(base_url=server.url) as client:
        assert (await client.post("/api/login", json={"username": "jiandu", "password": PASSWORD})).status_code == 200
        page = (await client.get("/devices")).text
        (device,) = (await client.get("/api/devices")).json()
    return page, device


async def restarted(config: EdgeConfig) -> EdgeAgent:
    agent = await EdgeAgent.open(config)
    await agent.start()
    await agent.wait_online(DEVICE, TIMEOUT)
    return agent


async def test_a_grant_the_edge_never_issued_blocks_the_seal_until_it_is_reprovisioned(board: SimBoard, tmp_path: Path) -> None:
    agent = await running_agent(tmp_path, board)
    try:
        await one_legit_use(agent, board, tmp_path)
    finally:
        await agent.close()

    await asyncio.to_thread(attack, board)
    assert (await asyncio.to_thread(board.control.state))["presses_total"] == 2

    config = agent.config
    with Receiver(lambda item: (201, b"")) as push_service:
        agent = await EdgeAgent.open(config)
        server = await console(agent, push_service.url)
        try:
            await agent.start()
            (rogue,) = await agent.recorder.wait_for(lambda: kinds(agent, P.DEVICE_ROGUE_GRANT), TIMEOUT)
            assert rogue["no"] == ROGUE_NO and rogue["issued_upto"] == 1 and rogue["anomaly"] == ROGUE
            # Every event of the forged use reaches the ledger too, and the press is counted.
            await agent.recorder.wait_for(lambda: forged(agent, "seal.relocked"), TIMEOUT)
            (stamp,) = await forged(agent, "seal.press")
            assert stamp["anomaly"] == "unknown_grant" and stamp["event"]["total"] == 2
            assert len(await kinds(agent, P.DEVICE_ROGUE_GRANT)) == 1  # one alarm per forged grant

            async def pushed() -> list[Any]:
                return [d for d in await server.console.store.deliveries() if d.event == "rogue_grant" and d.status == "sent"]

            (delivery,) = await eventually("the push to the supervisor", pushed)
            assert delivery.recipient.startswith("县纪委(jiandu)")
            assert [item.path for item in push_service.received] == ["/push/jiandu"]  # only the supervisor's phone
            assert f"#{ROGUE_NO}" in delivery.message["body"] and "重新烧录" in delivery.message["body"]
            assert delivery.message["url"] == f"{BASE}/devices"

            entry = await refused(agent, board, tmp_path)
            assert "从未签发的授权 #7" in entry["message"] and "重新烧录" in entry["message"]

            page, device = await supervisor_sees(server)
            assert f"使用了本边缘从未签发的授权 #{ROGUE_NO}" in page and "已停止授权" in page
            assert device["blocked"]["no"] == ROGUE_NO and device["blocked"]["reason"] == "out_of_sequence"
        finally:
            await server.close()
            await agent.close()

    # A restart keeps the block (it is a projection of the ledger); enrolling the stolen key again does not lift it.
    agent = await restarted(config)
    try:
        device_id, key = stolen_identity(board)
        await agent.enrol(DeviceIdentity(device_id, key), DEVICE)
        await refused(agent, board, tmp_path)
        assert await kinds(agent, P.DEVICE_BLOCK_CLEARED) == []
    finally:
        await agent.close()

    # Re-provisioning: `qinglian flash` writes a new identity through a maintenance window and enrols it.
    key_path = tmp_path / "keys" / "release.pem"
    key_path.parent.mkdir()
    releasekey.generate(key_path)
    built = release.build(tmp_path / "v1", releasekey.load_private(key_path), 1, target="source")
    agent = await EdgeAgent.open(config)
    try:
        report = await flash.flash(board.serial_url, built, agent, config.device(DEVICE), progress=Progress(7))
    finally:
        await agent.close()
    assert report.provisioned
    assert stolen_identity(board)[1] != key

    agent = await restarted(config)
    try:
        (cleared,) = await kinds(agent, P.DEVICE_BLOCK_CLEARED)
        assert cleared["rogue_no"] == ROGUE_NO and cleared["fingerprint"] != cleared["old_fingerprint"]
        request = await approved(agent, tmp_path)
        in_use = await agent.wait_request(request, {"in_use"}, TIMEOUT)
        assert in_use.grant_no is not None and in_use.grant_no > ROGUE_NO
        await asyncio.to_thread(board.control.press)
        await agent.wait_request(request, {"closed"}, TIMEOUT)
        assert len(await kinds(agent, P.DEVICE_ROGUE_GRANT)) == 1
        assert (await agent.db.device(device_id)).block is None  # type: ignore[union-attr]
    finally:
        await agent.close()
    assert verify_ledger(config.data_dir).ok



async def test_a_malformed_event_is_pushed_to_the_supervisors_like_a_rogue_grant(writer: EdgeAgent) -> None:
    # An authenticated event no firmware sends (edge/seal/devices.py records it in the event's place): the
    # same alarm as a rogue grant, on the supervisor's phone only.
    (device,) = await writer.db.devices()
    with Receiver(lambda item: (201, b"")) as push_service:
        server = await console(writer, push_service.url)
        try:
            body = {
                "device_id": device.device_id, "event_id": 5, "problem": '"k": 1.5', "raw": "{}", "anomaly": MALFORMED,
            }  # fmt: skip
            async with writer.recorder.step():
                entry = await writer.recorder.record(P.DEVICE_MALFORMED_EVENT, body)

            async def pushed() -> list[Any]:
                return [d for d in await server.console.store.deliveries() if d.event == MALFORMED and d.status == "sent"]

            (delivery,) = await eventually("the push to the supervisor", pushed)
            assert delivery.recipient.startswith("县纪委(jiandu)")
            assert [item.path for item in push_service.received] == ["/push/jiandu"]
            assert f"{DEVICE} 发送了格式错误的事件" in delivery.message["title"]
            assert f"#5（台账第 {entry.index} 条）" in delivery.message["body"] and "重新烧录" in delivery.message["body"]
            assert delivery.message["url"] == f"{BASE}/devices"
        finally:
            await server.close()


async def test_a_replaced_edge_takes_the_devices_earlier_grants_as_its_own_past(board: SimBoard, tmp_path: Path) -> None:
    """Grant numbers the device took before this edge first saw it are its past, not an anomaly."""
    await asyncio.to_thread(attack, board)  # grant 7, under an edge that is not this one
    agent = await running_agent(tmp_path, board)
    try:
        request = await approved(agent, tmp_path)
        in_use = await agent.wait_request(request, {"in_use"}, TIMEOUT)
        # This edge's first number follows the device's past; a loaded machine may retry the send under the next
        # number (a grant is in the ledger before it is on the wire), so the request's grant is its last one.
        issued = [body["no"] for body in await kinds(agent, P.GRANT_ISSUED)]
        assert issued[0] == ROGUE_NO + 1 and in_use.grant_no == issued[-1]
        await asyncio.to_thread(board.control.press)
        await agent.wait_request(request, {"closed"}, TIMEOUT)
        assert await kinds(agent, P.DEVICE_ROGUE_GRANT) == []
    finally:
        await agent.close()

