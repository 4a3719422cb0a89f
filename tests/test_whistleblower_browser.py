"""The whistleblower module's main path in Debian's Chromium on a 360-px phone: a villager files an anonymous
clue on the public page and keeps the receipt code; the station head logs in, unlocks the key, reads the clue,
acknowledges it, records the month's review meeting, verifies, resolves and gives feedback; the villager reads
the feedback with the code. The villager's browser holds no cookie at the end."""

from __future__ import annotations

import asyncio
import os
import queue
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from playwright.sync_api import Page, sync_playwright
from web_support import CHROMIUM, CHROMIUM_ARGS, PASSWORD
from whistleblower_support import PASSPHRASE, Clock, open_agent, seed_team, set_up_station

from edge.kernel.websettings import WebSettings
from edge.web.server import start_console
from edge.web.store import WebStore

SHOTS = Path(__file__).resolve().parent.parent / "build" / "screenshots"
CLUE = "村里发放的防汛物资有二十箱被拉到了村干部亲戚开的小卖部"


async def _serve(root: Path, ready: queue.Queue[str], stop: threading.Event) -> None:
    agent = await open_agent(root, X25519PrivateKey.generate(), Clock())
    try:
        await set_up_station(agent)
        store = await WebStore.open(agent.config.data_dir)
        await seed_team(store, agent)
        await store.close()
        server = await start_console(agent, WebSettings(enabled=True, port=0))
        try:
            ready.put(server.url)
            while not stop.is_set():
                await asyncio.sleep(0.05)
        finally:
            await server.close()
    finally:
        await agent.close()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    """The console's address; it runs on an event loop of its own thread (Playwright's sync API holds this one)."""
    ready: queue.Queue[str] = queue.Queue()
    stop = threading.Event()
    failed: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(_serve(tmp_path, ready, stop))
        except BaseException as exc:  # noqa: BLE001  (handed to the test, which would otherwise wait for nothing)
            failed.append(exc)
            ready.put("")

    thread = threading.Thread(target=run, name="console")
    thread.start()
    try:
        url = ready.get(timeout=60)
        if failed:
            raise failed[0]
        yield url
    finally:
        stop.set()
        thread.join(30)


def fits(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 360


def test_a_villager_files_a_clue_and_reads_the_feedback_by_code(served: str) -> None:
    if not os.path.exists(CHROMIUM):  # a promised part: fail, never skip
        pytest.fail(f"Debian's chromium is not installed ({CHROMIUM})", pytrace=False)
    SHOTS.mkdir(parents=True, exist_ok=True)
    phone = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True, "locale": "zh-CN"}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            villager_context = browser.new_context(**phone)
            villager = villager_context.new_page()
            villager.goto(served + "/whistleblower/report")
            assert villager.url == served + "/whistleblower/report"  # no login
            villager.fill("#clue-text", CLUE)
            fits(villager)
            villager.click("#submit-clue")
            villager.wait_for_selector("#receipt-code")
            code = villager.locator("#receipt-code").inner_text().strip()
            clue_id = villager.locator("#clue-id").inner_text().strip()
            assert len(code.replace(" ", "")) == 20 and clue_id == "WB-2026-0001"
            villager.screenshot(path=str(SHOTS / "phone-whistleblower-receipt.png"), full_page=True)

            head = browser.new_context(**phone).new_page()
            head.goto(served + "/login?next=/whistleblower")
            head.fill("input[name=username]", "zhoujian")
            head.fill("input[name=password]", PASSWORD)
            head.click("button[type=submit]")
            head.wait_for_url(served + "/whistleblower")
            head.fill("#passphrase", PASSPHRASE)
            head.click("#unlock")
            head.wait_for_selector("#lock")
            head.click(f"#clue-{clue_id}")
            head.wait_for_selector("#opened")
            assert CLUE in head.locator("#opened").inner_text() and "匿名" in head.locator("#opened").inner_text()
            fits(head)
            head.click("#acknowledge")
            head.wait_for_selector("text=待每月研判会研判")
            head.goto(served + "/whistleblower#review")
            head.fill("#review input[name=held_on]", "2026-03-05")
            head.fill("#review textarea[name=minutes]", "交联络员吴霞核实物资去向")
            head.click("#record-review")
            head.wait_for_selector("text=会议已记录")
            head.goto(served + f"/whistleblower/clues/{clue_id}")
            head.fill("#verify-text", "吴霞走访核实，物资确在小卖部")
            head.click("#verify")
            head.wait_for_selector("#resolve")
            head.check("#solved")
            head.fill("#resolve-text", "物资已追回并补发到户")
            head.click("#resolve")
            head.wait_for_selector("#feedback")
            head.fill("#feedback-text", "您反映的问题已查实，物资已追回并补发到户，感谢监督。")
            head.click("#feedback")
            head.wait_for_selector("text=已反馈，闭环完成")
            head.screenshot(path=str(SHOTS / "phone-whistleblower-clue.png"), full_page=True)

            villager.goto(served + "/whistleblower/follow")
            villager.fill("#code", code)
            villager.click("#follow")
            villager.wait_for_selector("#status")
            assert villager.locator("#state").inner_text() == "已反馈"
            said = villager.locator("#messages").inner_text()
            assert "物资已追回并补发到户，感谢监督" in said and "2026-03-02 09:00:00" in said  # the agent's clock
            fits(villager)
            villager.screenshot(path=str(SHOTS / "phone-whistleblower-feedback.png"), full_page=True)
            assert villager_context.cookies() == []  # the public pages set none
        finally:
            browser.close()
