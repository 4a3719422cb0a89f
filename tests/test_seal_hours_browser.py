"""The urgent path on 360-px phones in Debian's Chromium: on a seal closed today (today and tomorrow are in its
holiday calendar, so the real clock of ``qinglian edge run`` is outside the hours whenever the test runs), the
final approval is refused with the hours named; the applicant writes an urgent reason; the route shows the one
more approver, who approves; the grant reaches the simulated board and the press closes the request."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import cv2
import pytest
from edge_support import SMALL, qinglian, start_edge, wait_until, write_config
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright
from test_seal_browser import PASSWORD, PHONE, TIMEOUT_MS
from web_support import CHROMIUM, CHROMIUM_ARGS, seed_account

from edge.agent import EdgeAgent
from edge.kernel.config import load_config
from edge.web.store import WebStore
from hostsim import pages
from hostsim.control import SimBoard

ACCOUNTS = (("liming", "applicant"), ("zhangwei", "approver"), ("chenjing", "approver"), ("zhaolei", "approver"))


@dataclass
class Site:
    url: str
    board: SimBoard
    original: Path


async def _accounts(config_path: Path) -> None:
    config = load_config(config_path)
    agent = await EdgeAgent.open(config)
    store = await WebStore.open(config.data_dir)
    try:
        for username, role in ACCOUNTS:
            await seed_account(store, agent, username, [role], username, None, PASSWORD)
    finally:
        await store.close()
        await agent.close()


def closed_today() -> str:
    """[devices.hours] with today and tomorrow (in Shanghai) as holidays: closed now, whatever the hour."""
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    days = ", ".join(f'"{today + timedelta(days=d)}"' for d in (0, 1))
    return (
        '\n[devices.hours]\nopen = "08:30"\nclose = "17:30"\ntimezone = "Asia/Shanghai"\n'
        f'holidays = [{days}]\nurgent_approver = "zhaolei"\n'
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("seal-hours-browser")
    original = root / "original.png"
    cv2.imwrite(str(original), pages.render_page(pages.random_spec(52, amount_fen=SMALL)).image)
    with SimBoard(root / "board") as board:
        path = write_config(root, board.serial_url, board.device_id, use_window_s=60, heartbeat_s=1.0)
        text = path.read_text(encoding="utf-8").replace("\n[[people]]", closed_today() + "\n[[people]]", 1)
        path.write_text(text + '\n[web]\nlisten = "127.0.0.1:0"\n', encoding="utf-8")
        identity = root / "board" / "flash" / "identity.json"
        qinglian("edge", "enrol", "--config", str(path), "--key-file", str(identity), check=True)
        asyncio.run(_accounts(path))
        log = root / "edge.log"
        proc = start_edge(path, log)
        try:
            found = wait_until("the console's address", lambda: re.search(r"web console at (http://\S+)", log.read_text(errors="replace")), 60)
            yield Site(found.group(1), board, original)
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


@pytest.fixture(scope="module")
def browser(site: Site) -> Iterator[Browser]:
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"Debian's chromium is not installed ({CHROMIUM})", pytrace=False)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def phone(browser: Browser, site: Site, username: str, made: list[BrowserContext]) -> Page:
    c = browser.new_context(**PHONE, locale="zh-CN")
    c.set_default_timeout(TIMEOUT_MS)
    made.append(c)
    page = c.new_page()
    page.goto(site.url + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return page


def test_outside_the_hours_the_urgent_path_takes_a_reason_and_one_more_approver(site: Site, browser: Browser) -> None:
    made: list[BrowserContext] = []
    try:
        applicant = phone(browser, site, "liming", made)
        applicant.goto(site.url + "/requests/new")
        applicant.fill("textarea[name=matter]", "防汛物资调拨证明")
        applicant.fill("input[name=amount]", f"{SMALL / 100:.2f}")
        applicant.set_input_files("input[name=document]", str(site.original))
        applicant.click("#file-form button[type=submit]")
        expect(applicant.locator(".flash.ok")).to_contain_text("已提交用印申请")
        request_id = applicant.url.rstrip("/").rsplit("/", 1)[-1]
        expect(applicant.locator("#hours")).to_contain_text("工作日 08:30–17:30")

        first = phone(browser, site, "zhangwei", made)
        first.goto(f"{site.url}/requests/{request_id}")
        first.click("#approve")  # the first of the chain: it opens nothing, so it may approve any time
        expect(first.locator(".flash.ok")).to_contain_text("您已同意")

        final = phone(browser, site, "chenjing", made)
        final.goto(f"{site.url}/requests/{request_id}")
        final.click("#approve")
        expect(final.locator(".flash.error")).to_contain_text("现在不在用印时间内")
        expect(final.locator("#status-badge")).to_have_text("待审批")

        applicant.reload()
        applicant.fill("#urgent-form textarea[name=reason]", "防汛抢险，物资今晚须调出")
        applicant.click("#urgent-submit")
        expect(applicant.locator(".flash.ok")).to_contain_text("已申请加急")
        expect(applicant.locator("#urgent")).to_contain_text("防汛抢险，物资今晚须调出")
        expect(applicant.locator("dl.facts")).to_contain_text("赵磊")  # the one more approver, on the route
        expect(applicant.locator("#urgent-form")).to_have_count(0)

        final.reload()
        final.click("#approve")
        expect(final.locator(".flash.ok")).to_contain_text("您已同意")
        expect(final.locator("#status-badge")).to_have_text("待审批")  # one more to go

        extra = phone(browser, site, "zhaolei", made)
        extra.goto(f"{site.url}/requests/{request_id}")
        expect(extra.locator("#urgent")).to_contain_text("防汛抢险")
        extra.click("#approve")
        expect(extra.locator(".flash.ok")).to_contain_text("审批通过")
        expect(extra.locator("#status-badge")).to_have_text("使用中")  # the hours lifted: the grant reached the board
        site.board.control.press()
        expect(extra.locator("#status-badge")).to_have_text("已完成")
    finally:
        for c in made:
            c.close()
