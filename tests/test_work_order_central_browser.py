"""The township's labour-dispatch comparison in Debian's Chromium on a 360-px phone: a village's demo (sixteen
workers, one blacklisted, one away ill, three dispatches, a paid pay list) goes up over the real sync; the township
officer logs in and reads the village's figures on a phone, the committee's reason for the blacklisting shown and
the reason of absence (住院治疗) not; another township's officer sees nothing."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import queue
import re
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from central_accounts_support import OTHER_TOWNSHIP, PASSWORD, Clock
from central_support import COUNTY, TOWNSHIP, VILLAGE, enrol
from playwright.sync_api import Page, sync_playwright
from test_work_order import work_order_config
from web_support import CHROMIUM, CHROMIUM_ARGS

from central.accounts.store import AccountStore
from central.app import create_app
from central.modules.work_order import CENTRAL_WORK_ORDER
from central.store import CentralStore
from edge.agent import EdgeAgent
from edge.kernel.config import CentralSettings
from edge.kernel.sync import SyncClient
from edge.modules import PARTS
from edge.modules.work_order import WORK_ORDER

SHOTS = Path(__file__).resolve().parent.parent / "build" / "screenshots"
EDGE = "qinglian-cun"
TIMEOUT_MS = 20_000


async def _serve(root: Path, ready: queue.Queue[str], stop: threading.Event) -> None:
    store = await CentralStore.open(f"sqlite:///{root / 'central.sqlite3'}")
    try:
        accounts = AccountStore(store.db, Clock())
        for username, township in (("heshang", TOWNSHIP), ("puyang", OTHER_TOWNSHIP)):
            await accounts.create_staff(username, "乡镇纪委王委员", "township_officer", f"township:{township}", PASSWORD, "test", own_password=True)
        app = create_app(store, parts=(CENTRAL_WORK_ORDER,))
        config = dataclasses.replace(work_order_config(root / "village"), central=CentralSettings("http://central", EDGE))
        agent = await EdgeAgent.open(config, parts=PARTS)
        try:
            await enrol(store, EDGE, agent.config.data_dir, VILLAGE, TOWNSHIP, COUNTY)
            await WORK_ORDER.demo(agent)  # type: ignore[misc]
            client = SyncClient(agent.ledger, "http://central", EDGE, transport=httpx.ASGITransport(app=app))
            await client.sync_once()
            await client.stop()
        finally:
            await agent.close()
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        serving = asyncio.create_task(server.serve(sockets=[sock]))
        ready.put(f"http://127.0.0.1:{sock.getsockname()[1]}")
        while not stop.is_set():
            await asyncio.sleep(0.05)
        server.should_exit = True
        await serving
    finally:
        await store.close()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    ready: queue.Queue[str] = queue.Queue()
    stop = threading.Event()
    thread = threading.Thread(target=lambda: asyncio.run(_serve(tmp_path, ready, stop)), daemon=True)
    thread.start()
    try:
        yield ready.get(timeout=120)
    finally:
        stop.set()
        thread.join(timeout=60)


def _text(page: Page) -> str:
    return re.sub(r"\s+", " ", page.inner_text("main"))


def test_the_township_officer_reads_the_villages_labour_figures_on_a_phone(served: str) -> None:
    if not os.path.exists(CHROMIUM):  # a promised part: fail, never skip
        pytest.fail(f"Debian's chromium is not installed ({CHROMIUM})", pytrace=False)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:

            def officer(username: str) -> Page:
                context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True, locale="zh-CN")
                page = context.new_page()
                page.set_default_timeout(TIMEOUT_MS)
                page.goto(served + "/login")
                page.fill("input[name=username]", username)
                page.fill("input[name=password]", PASSWORD)
                page.click("form[action='/login'] button.primary")
                page.wait_for_load_state()
                page.goto(served + "/m/work_order")
                return page

            page = officer("heshang")
            text = _text(page)
            assert VILLAGE in text and page.locator(f"#orders-{EDGE}").inner_text() != "0"
            assert page.locator(f"#blacklisted-{EDGE}").inner_text() == "1"
            assert "两委会理由：两委会决定：多次出工不出力，清扫不达标" in text and "住院治疗" not in text
            assert page.locator(f"#workers-{EDGE} tbody tr").count() == 16
            assert page.evaluate("document.documentElement.scrollWidth") <= 360  # the wide table scrolls in its own box
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOTS / "phone-central-work-order.png"), full_page=True)

            other = officer("puyang")
            assert VILLAGE not in _text(other) and "辖区各村尚无派工记录" in _text(other)
        finally:
            browser.close()
