"""The custodian is told: a push when the device takes the grant (presses, until when) and another a minute before
its window ends while presses are left (edge/notify/notifier.py). Real Web Push to a local push service."""

from __future__ import annotations

from pathlib import Path

from edge_support import SMALL, document, running_agent
from test_ocr_edge import console_clients
from test_web_push import Phone, eventually, harness
from web_support import Receiver, seed_account

from edge.kernel.websettings import NotifyBackendConfig
from hostsim.control import SimBoard

TIMEOUT = 30.0
WINDOW_S = 62  # the warning falls due two seconds after the device took the grant


async def test_the_custodian_hears_of_the_grant_and_a_minute_before_its_end(tmp_path: Path, board: SimBoard) -> None:
    agent = await running_agent(tmp_path, board, use_window_s=WINDOW_S)
    with Receiver(lambda item: (201, b"")) as push_service:
        h = await harness(agent, NotifyBackendConfig("webpush", "网页推送", subject="mailto:ops@qinglian.example"))
        try:
            await seed_account(h.store, agent, "wangfang", ("custodian",), "wangfang")
            phone = Phone(f"{push_service.url}/push/wangfang-phone")
            await h.subscribe("wangfang", phone)
            request = await agent.file_request("liming", "村委会证明", "official", 2, document(tmp_path), amount_fen=SMALL)
            await agent.approve(request.id, "zhangwei")
            await agent.approve(request.id, "chenjing")
            await agent.wait_request(request.id, {"in_use"}, TIMEOUT)

            async def pushed(event: str) -> bool:
                return any(d.event == event and d.status == "sent" for d in await h.deliveries())

            async def granted_on_device() -> bool:
                return any((d.get("last_status") or {}).get("grant") for d in await agent.device_status())

            await eventually("the device's status naming its grant", granted_on_device, TIMEOUT)
            async with console_clients(agent, ("jiandu", ["supervisor"], None)) as (custodian,):  # the same page as wangfang
                device_page = (await custodian.get("/devices")).text
            # what is to be stamped and for whom, and how long is left; hashes and event numbers folded away
            assert "正在用印：<b>村委会证明</b>（李明 申请" in device_page and "data-countdown=" in device_page
            assert device_page.index('<details class="tech">') < device_page.index("固件哈希")
            await eventually("the grant pushed to the custodian", lambda: pushed("granted"), TIMEOUT)
            await eventually("the warning pushed to the custodian", lambda: pushed("grant_ending"), TIMEOUT)
            granted = [d for d in await h.deliveries() if d.event == "granted"]
            assert [d.recipient for d in granted] == ["王芳(wangfang) 设备#1"]  # the custodian only
            texts = [str(m) for m in (phone.decrypt(r.body) for r in push_service.received)]
            assert any("印章已解锁，可盖 2 次" in t and "前有效" in t for t in texts)
            assert any("约 1 分钟后到期，已盖 0/2 次" in t for t in texts)
        finally:
            await h.close()
            await agent.close()
