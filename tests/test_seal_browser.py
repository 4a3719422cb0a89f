"""The seal loop in Chromium at 360 px, as its users meet it (issue 15): a contract whose original states more than
was declared is caught before anyone approves (read at filing, routed by the larger amount, a red mark for every
approver), the approvers decide from the bar at the bottom of the screen, the grant lapses unused and reads
授权过期未用印, the final approver re-issues it with one tap, and the press is photographed and checked.

``qinglian edge run`` with a [camera] on the simulated board's virtual desk camera (real OCR in a worker)."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sqlite3
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import pytest
from edge_support import SMALL, qinglian, start_edge, wait_until, write_config
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright
from web_support import CHROMIUM, CHROMIUM_ARGS, seed_account

from edge.agent import EdgeAgent
from edge.kernel.config import load_config
from edge.ocr.desk import seal_zone
from edge.web.store import WebStore
from hostsim import pages
from hostsim.control import SimBoard

PASSWORD = "test-pass-123"
PHONE = {"viewport": {"width": 360, "height": 740}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
TIMEOUT_MS = 30_000
WINDOW_S = 12  # the grant's window on the device: long enough to press in, short enough to watch lapse
CONTRACT_FEN = 2_850_000  # ¥28,500.00 on the page; filed as ¥2,500.00
expect.set_options(timeout=TIMEOUT_MS)
ACCOUNTS = (
    ("liming", "applicant"), ("zhangwei", "approver"), ("zhaolei", "approver"), ("chenjing", "approver"), ("wangfang", "custodian"),
)  # fmt: skip


@dataclass
class Site:
    url: str
    board: SimBoard
    data: Path
    contract: Path
    letter: Path  # an original stating the small amount it is filed with

    def status(self, request_id: str) -> str:
        conn = sqlite3.connect(f"{(self.data / 'edge.sqlite3').as_uri()}?mode=ro", uri=True, timeout=10)
        try:
            (status,) = conn.execute("SELECT status FROM requests WHERE id = ?", (request_id,)).fetchone()
        finally:
            conn.close()
        return str(status)


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


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("seal-browser")
    contract = root / "contract.png"
    cv2.imwrite(str(contract), pages.render_page(pages.random_spec(51, amount_fen=CONTRACT_FEN)).image)
    letter = root / "letter.png"
    cv2.imwrite(str(letter), pages.render_page(pages.random_spec(12, amount_fen=SMALL)).image)
    with SimBoard(root / "board", camera=True) as board:
        assert board.camera_url is not None
        board.control.camera("fit", **pages.village_seal("测试村", "公章"))  # the device's own seal in its sleeve
        path = write_config(root, board.serial_url, board.device_id, use_window_s=WINDOW_S, heartbeat_s=1.0)
        x, y, w, h = seal_zone()
        with path.open("a", encoding="utf-8") as f:
            f.write(f'\n[web]\nlisten = "127.0.0.1:0"\n\n[camera]\nsource = "{board.camera_url}"\n'
                    f"monitored_area = [{x}, {y}, {w}, {h}]\nocr_workers = 1\ntimeout_s = 60\n")  # fmt: skip
        identity = root / "board" / "flash" / "identity.json"
        qinglian("edge", "enrol", "--config", str(path), "--key-file", str(identity), check=True)
        asyncio.run(_accounts(path))
        log = root / "edge.log"
        proc = start_edge(path, log)
        try:
            found = wait_until("the console's address", lambda: re.search(r"web console at (http://\S+)", log.read_text(errors="replace")), 60)
            yield Site(found.group(1), board, root / "edge", contract, letter)
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


def test_a_mismatched_contract_is_caught_before_approval_and_a_lapsed_grant_is_reissued(site: Site, browser: Browser) -> None:
    made: list[BrowserContext] = []
    try:
        applicant = phone(browser, site, "liming", made)
        applicant.goto(site.url + "/requests/new")
        applicant.fill("textarea[name=matter]", "村道硬化工程施工合同盖章")
        applicant.fill("input[name=amount]", f"{SMALL / 100:.2f}")
        applicant.set_input_files("input[name=document]", str(site.contract))
        applicant.click("#file-form button[type=submit]")
        expect(applicant.locator(".flash.ok")).to_contain_text("已提交用印申请")
        request_id = applicant.url.rstrip("/").rsplit("/", 1)[-1]
        # read at filing: the page (reloaded by itself if it was still reading) shows both amounts and the mark
        expect(applicant.locator("#amount-read")).to_contain_text("¥28,500.00")
        expect(applicant.locator("#amount-read")).to_contain_text("与申报金额不符")

        first = phone(browser, site, "zhangwei", made)
        first.goto(f"{site.url}/requests?tab=todo")
        expect(first.locator(f"a[href='/requests/{request_id}']")).to_contain_text("申报金额与原件不符")
        first.click(f"a[href='/requests/{request_id}']")
        expect(first.locator("#amount-declared")).to_have_text("¥2,500.00")
        expect(first.locator("#amount-read")).to_contain_text("¥28,500.00")
        expect(first.locator("dl.facts")).to_contain_text("2/3 人会签")  # the large-amount route, not the chain
        first.click("#approve")  # in the bar at the bottom of the screen
        expect(first.locator(".flash.ok")).to_contain_text("您已同意")

        final = phone(browser, site, "zhaolei", made)
        final.goto(f"{site.url}/requests/{request_id}")
        final.click("#approve")
        expect(final.locator(".flash.ok")).to_contain_text("审批通过")
        expect(final.locator("#status-badge")).to_have_text("使用中")  # live, without a reload
        # nobody presses: the window lapses, and the page says so in the status's own words
        expect(final.locator("#status-badge")).to_have_text("授权过期未用印", timeout=(WINDOW_S + 30) * 1000)
        expect(applicant.locator("#status-badge")).to_have_text("授权过期未用印")
        final.reload()
        final.click("#regrant")
        expect(final.locator(".flash.ok")).to_contain_text("已重新授权")
        expect(final.locator("#status-badge")).to_have_text("使用中")
        site.board.control.camera("place", file=str(site.contract))  # the custodian lays the original down
        site.board.control.press()
        expect(final.locator("#presses-used")).to_have_text("1")
        expect(final.locator("#presses")).to_contain_text("✓ 与原件一致", timeout=90_000)
        expect(final.locator("#regranted")).to_be_visible()
        expect(final.locator("#regrant")).to_have_count(0)  # once only
        assert site.status(request_id) in ("in_use", "closed")
    finally:
        for c in made:
            c.close()


def test_a_form_error_keeps_the_file_a_step_is_handed_over_and_a_wrong_seal_is_marked(site: Site, browser: Browser) -> None:
    made: list[BrowserContext] = []
    try:
        applicant = phone(browser, site, "liming", made)
        applicant.goto(site.url + "/requests/new")
        applicant.fill("textarea[name=matter]", "低保评议结果公示盖章")
        applicant.fill("input[name=amount]", "二千五")  # not an amount: the form comes back
        applicant.set_input_files("input[name=document]", str(site.letter))
        applicant.click("#file-form button[type=submit]")
        expect(applicant.locator(".flash.error, .error")).to_contain_text("金额")
        expect(applicant.locator("#kept-original")).to_contain_text("letter.png")  # the photo is still chosen
        expect(applicant.locator("textarea[name=matter]")).to_have_value("低保评议结果公示盖章")
        applicant.fill("input[name=amount]", f"{SMALL / 100:.2f}")
        applicant.click("#file-form button[type=submit]")  # no file chosen again
        expect(applicant.locator(".flash.ok")).to_contain_text("已提交用印申请")
        request_id = applicant.url.rstrip("/").rsplit("/", 1)[-1]
        expect(applicant.locator("#original")).to_contain_text("letter.png")

        first = phone(browser, site, "zhangwei", made)  # the chain's first approver is away: 转交 to 赵磊
        first.goto(f"{site.url}/requests/{request_id}")
        first.click("#handover summary")
        expect(first.locator("#handover-to option")).to_have_count(2)  # 请选择 and 赵磊: nobody barred or on the route
        first.select_option("#handover-to", "zhaolei")
        first.fill("#handover-form textarea[name=reason]", "本人出差，请赵磊代为审批")
        box = first.locator("#handover-submit").bounding_box()
        assert box is not None and box["height"] >= 44 and box["width"] <= 360
        first.click("#handover-submit")
        expect(first.locator(".flash.ok")).to_contain_text("已转交给 赵磊")

        taker = phone(browser, site, "zhaolei", made)
        taker.goto(f"{site.url}/requests/{request_id}")
        expect(taker.locator(".steps")).to_contain_text("张伟 转交给 赵磊：本人出差，请赵磊代为审批")
        taker.click("#approve")
        expect(taker.locator(".flash.ok")).to_contain_text("您已同意")
        second = phone(browser, site, "chenjing", made)
        second.goto(f"{site.url}/requests/{request_id}")
        second.click("#approve")
        expect(second.locator("#status-badge")).to_have_text("使用中")

        # someone put another village's contract seal in this 公章's sleeve
        site.board.control.camera("fit", **pages.village_seal("白石村", "合同专用章"))
        try:
            site.board.control.camera("place", file=str(site.letter))
            site.board.control.press()
            expect(second.locator("#presses")).to_contain_text("印文与本机印章不符", timeout=180_000)  # OCR in a niced worker
            expect(second.locator("#presses .impression")).to_contain_text("本机印章为公章")  # and what it read
            expect(second.locator("#presses")).not_to_contain_text("与原件一致")
        finally:
            site.board.control.camera("fit", **pages.village_seal("测试村", "公章"))
    finally:
        for c in made:
            c.close()
