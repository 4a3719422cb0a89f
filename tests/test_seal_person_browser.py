"""The person at the desk in Chromium at 360 px: ``qinglian edge run`` with both of the simulated board's cameras
([camera] source and person_source); after a use, the custodian's phone shows the page photo and, beside it, the
two photos of the person (at the unlock and at the last press), and so do an approver of the request and a
supervisor. The applicant as such, the village staff, an approver of other requests and another village's
supervisor get neither the section nor the image (404), and the public notice board has none of it."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
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
expect.set_options(timeout=TIMEOUT_MS)
ACCOUNTS = (
    ("liming", ["applicant"], "liming", None), ("zhangwei", ["approver"], "zhangwei", None),
    ("chenjing", ["approver", "applicant"], "chenjing", None), ("wangfang", ["custodian"], "wangfang", None),
    ("zhaolei", ["approver"], "zhaolei", None), ("jiandu", ["supervisor"], None, ["*"]),
    ("cunwu", ["village_staff"], None, None), ("far", ["supervisor"], None, ["别的村"]),
)  # fmt: skip


@dataclass
class Site:
    url: str
    board: SimBoard
    contract: Path


async def _accounts(config_path: Path) -> None:
    config = load_config(config_path)
    agent = await EdgeAgent.open(config)
    store = await WebStore.open(config.data_dir)
    try:
        for username, roles, person, villages in ACCOUNTS:
            await seed_account(store, agent, username, roles, person, villages, PASSWORD)
    finally:
        await store.close()
        await agent.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("seal-person-browser")
    contract = root / "contract.png"
    cv2.imwrite(str(contract), pages.render_page(pages.random_spec(61, amount_fen=SMALL)).image)
    with SimBoard(root / "board", camera=True) as board:
        assert board.camera_url is not None and board.face_camera_url is not None
        path = write_config(root, board.serial_url, board.device_id, use_window_s=120, heartbeat_s=1.0)
        x, y, w, h = seal_zone()
        with path.open("a", encoding="utf-8") as f:
            f.write(f'\n[web]\nlisten = "127.0.0.1:0"\n\n[camera]\nsource = "{board.camera_url}"\n'
                    f'monitored_area = [{x}, {y}, {w}, {h}]\nocr_workers = 1\ntimeout_s = 60\n'
                    f'person_source = "{board.face_camera_url}"\nperson_retention_days = 1095\n')  # fmt: skip
        identity = root / "board" / "flash" / "identity.json"
        qinglian("edge", "enrol", "--config", str(path), "--key-file", str(identity), check=True)
        asyncio.run(_accounts(path))
        log = root / "edge.log"
        proc = start_edge(path, log)
        try:
            found = wait_until("the console's address", lambda: re.search(r"web console at (http://\S+)", log.read_text(errors="replace")), 60)
            yield Site(found.group(1), board, contract)
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


def shown_images(page: Page, selector: str) -> int:
    """How many images under ``selector`` have loaded (a 404 leaves naturalWidth 0)."""
    return int(page.eval_on_selector_all(selector, "els => els.filter(e => e.complete && e.naturalWidth > 0).length"))


def test_both_photos_on_the_request_page_for_those_who_may_see_the_person(site: Site, browser: Browser) -> None:
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
        for approver in ("zhangwei", "chenjing"):
            page = phone(browser, site, approver, made)
            page.goto(f"{site.url}/requests/{request_id}")
            page.click("#approve")
            expect(page.locator(".flash.ok")).to_contain_text("您已同意")
        custodian = phone(browser, site, "wangfang", made)
        custodian.goto(f"{site.url}/requests/{request_id}")
        expect(custodian.locator("#status-badge")).to_have_text("使用中")
        site.board.control.camera("place", file=str(site.contract))  # the custodian lays the original down
        site.board.control.press()

        # live, without a reload: the page photo, and the person at the unlock and at the last press beside it
        expect(custodian.locator("#presses img.photo")).to_have_count(1)
        people = custodian.locator("#person-photos .person-photo")
        expect(people).to_have_count(2, timeout=90_000)
        expect(people.nth(0)).to_contain_text("开锁时")
        expect(people.nth(1)).to_contain_text("最后一次盖章时")
        expect(custodian.locator("#person-photos img.photo")).to_have_count(2)
        expect(custodian.locator("#person-photos .flag")).to_have_count(0)  # a face in both: no no_person flag
        custodian.reload()
        custodian.locator("#presses img.photo").scroll_into_view_if_needed()  # the images load lazily
        wait_until("the page photo to load", lambda: shown_images(custodian, "#presses img.photo") == 1, 30)
        for n in range(2):
            custodian.locator("#person-photos img.photo").nth(n).scroll_into_view_if_needed()
        wait_until("the person photos to load", lambda: shown_images(custodian, "#person-photos img.photo") == 2, 30)
        # at 360 px: nothing wider than the screen, the photos fit it
        assert custodian.evaluate("document.documentElement.scrollWidth") <= 360
        widths = custodian.eval_on_selector_all("#person-photos img.photo", "els => els.map(e => e.getBoundingClientRect().width)")
        assert all(0 < w <= 360 for w in widths)
        person_urls = custodian.eval_on_selector_all("#person-photos img.photo", "els => els.map(e => e.getAttribute('src'))")
        assert len(set(person_urls)) == 2 and all(u.startswith(f"/requests/{request_id}/person/") for u in person_urls)

        # an approver of this request and a supervisor see them too
        for username in ("zhangwei", "jiandu"):
            page = phone(browser, site, username, made)
            page.goto(f"{site.url}/requests/{request_id}")
            expect(page.locator("#person-photos img.photo")).to_have_count(2)
            assert page.request.get(site.url + person_urls[0]).status == 200

        # the applicant as such and the village staff see the request and its page photo, not the person;
        # an approver of other requests and another village's supervisor not even the request
        for username, sees_request in (("liming", True), ("cunwu", True), ("zhaolei", False), ("far", False)):
            page = phone(browser, site, username, made)
            response = page.goto(f"{site.url}/requests/{request_id}")
            assert response is not None and response.status == (200 if sees_request else 404), username
            expect(page.locator("#person-photos")).to_have_count(0)
            if sees_request:
                expect(page.locator("#presses img.photo")).to_have_count(1)
            for url in person_urls:
                assert page.request.get(site.url + url).status == 404, (username, url)
            assert page.request.get(site.url + "/api/requests/" + request_id).text().find(person_urls[0].rsplit("/", 1)[1]) == -1

        # the public notice board: no photo of anyone, no hash of one
        board = browser.new_context(**PHONE, locale="zh-CN")
        made.append(board)
        public = board.new_page()
        public.goto(site.url + "/board")
        text = public.content() + json.dumps(public.eval_on_selector_all("a", "els => els.map(e => e.href)"))
        for url in person_urls:
            assert url.rsplit("/", 1)[1] not in text
        assert "/person/" not in text
    finally:
        for c in made:
            c.close()
