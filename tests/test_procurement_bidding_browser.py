"""Two bidders in two phones' browsers (Debian's Chromium, 360 px): each sees the lowest price and its own rank move
as the other bids, over the page's live stream, and never the other's name."""

from __future__ import annotations

import asyncio
import os
import queue
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import uvicorn
from central_accounts_support import PASSWORD
from playwright.sync_api import Page, expect, sync_playwright
from test_procurement_race import DEMAND, EDGE, open_tender
from web_support import CHROMIUM, CHROMIUM_ARGS

from central.app import create_app
from central.decisions.log import DecisionLog
from central.modules.procurement import PROCUREMENT
from central.store import CentralStore


async def _serve(root: Path, ready: queue.Queue[str], stop: threading.Event) -> None:
    """A central with one open tender (opened now) and two qualified suppliers, on a free port, until ``stop``."""
    store = await CentralStore.open(f"sqlite:///{root / 'central.sqlite3'}")
    decisions = await DecisionLog.open(root / "central", store.db)
    try:
        await open_tender(store, decisions, datetime.now(UTC))
        server = uvicorn.Server(uvicorn.Config(create_app(store, parts=(PROCUREMENT,), decisions=decisions), host="127.0.0.1",
                                               port=0, log_level="warning", lifespan="off"))  # fmt: skip
        serving = asyncio.create_task(server.serve())
        while not server.started:
            await asyncio.sleep(0.05)
        port = server.servers[0].sockets[0].getsockname()[1]
        ready.put(f"http://127.0.0.1:{port}")
        while not stop.is_set():
            await asyncio.sleep(0.05)
        server.should_exit = True
        await serving
    finally:
        await decisions.close()
        await store.close()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    ready: queue.Queue[str] = queue.Queue()
    stop = threading.Event()
    failed: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(_serve(tmp_path, ready, stop))
        except BaseException as exc:  # noqa: BLE001  (handed to the test, which would otherwise wait for nothing)
            failed.append(exc)
            ready.put("")

    thread = threading.Thread(target=run, name="central")
    thread.start()
    try:
        url = ready.get(timeout=60)
        if failed:
            raise failed[0]
        yield url
    finally:
        stop.set()
        thread.join(30)


def login(page: Page, url: str, username: str) -> None:
    page.goto(url + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.locator("form[action='/login'] button[type=submit]").first.click()
    page.wait_for_load_state()
    page.goto(url + "/m/procurement/tenders")


def test_two_bidders_see_their_ranks_change_live(served: str) -> None:
    if not os.path.exists(CHROMIUM):  # a promised part: fail, never skip
        pytest.fail(f"Debian's chromium is not installed ({CHROMIUM})", pytrace=False)
    card = f"#tender-{EDGE}-{DEMAND}"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            phone = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True, "locale": "zh-CN"}
            a = browser.new_context(**phone).new_page()  # type: ignore[arg-type]
            b = browser.new_context(**phone).new_page()  # type: ignore[arg-type]
            login(a, served, "wenju")
            login(b, served, "jiancai")
            expect(a.locator(f"{card} .lowest")).to_have_text("暂无报价")
            a.fill(f"{card} input[name=amount]", "11500")
            a.click(f"{card} button")
            expect(a.locator(f"{card} .rank")).to_have_text("1")
            expect(b.locator(f"{card} .lowest")).to_have_text("¥11,500.00")  # live, without a reload
            expect(b.locator(f"{card} .bidders")).to_have_text("1")
            b.fill(f"{card} input[name=amount]", "11000")
            b.click(f"{card} button")
            expect(b.locator(f"{card} .rank")).to_have_text("1")
            expect(a.locator(f"{card} .rank")).to_have_text("2")  # a's page moved by itself
            expect(a.locator(f"{card} .lowest")).to_have_text("¥11,000.00")
            assert "jiancai" not in a.content() and "wenju 有限公司" not in b.content()
            assert a.evaluate("document.documentElement.scrollWidth") <= 360
        finally:
            browser.close()
