"""The person at the desk in Chromium at 360 px: the agent with both of the simulated board's cameras ([camera]
source and person_source) and its console; after a use, the custodian's phone shows the page photo and, beside it, the
two photos of the person (at the unlock and at the last press), and so do an approver of the request and a
supervisor. The applicant as such, the village staff, an approver of other requests and another village's
supervisor get neither the section nor the image (404), and the public notice board has none of it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import cv2
import pytest
from browser_support import Served, chromium, fits, phone, serve_console
from edge_support import SMALL, running_agent, wait_until
from playwright.sync_api import Browser, Page, expect
from web_support import seed_account

from edge.agent import EdgeAgent
from edge.ocr.desk import seal_zone
from edge.ocr.settings import CameraSettings
from edge.web.store import WebStore
from hostsim import pages
from hostsim.control import SimBoard

SHOTS = Path(__file__).resolve().parent.parent / "build" / "screenshots"
expect.set_options(timeout=30_000)
ACCOUNTS = (
    ("liming", ["applicant"], "liming", None), ("zhangwei", ["approver"], "zhangwei", None),
    ("chenjing", ["approver", "applicant"], "chenjing", None), ("wangfang", ["custodian"], "wangfang", None),
    ("zhaolei", ["approver"], "zhaolei", None), ("jiandu", ["supervisor"], None, ["*"]),
    ("cunwu", ["village_staff"], None, None), ("far", ["supervisor"], None, ["别的村"]),
)  # fmt: skip


async def _accounts(agent: EdgeAgent) -> None:
    store = await WebStore.open(agent.config.data_dir)
    try:
        for username, roles, person, villages in ACCOUNTS:
            await seed_account(store, agent, username, roles, person, villages)
    finally:
        await store.close()


@pytest.fixture(scope="module")
def board(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimBoard]:
    with SimBoard(tmp_path_factory.mktemp("person-board") / "board", camera=True) as sim:
        yield sim


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory, board: SimBoard) -> Iterator[Served]:
    assert board.camera_url is not None and board.face_camera_url is not None
    cameras = CameraSettings(board.camera_url, seal_zone(), timeout_s=60, person_source=board.face_camera_url)
    root = tmp_path_factory.mktemp("person-console")
    with serve_console(lambda: running_agent(root, board, cameras, use_window_s=120), _accounts) as served:
        yield served


@pytest.fixture(scope="module")
def browser(console: Served) -> Iterator[Browser]:
    with chromium() as b:
        yield b


def shown_images(page: Page, selector: str) -> int:
    """How many images under ``selector`` have loaded (a 404 leaves naturalWidth 0). They load lazily, and the
    page's live part is drawn anew every 1.5 s: each look asks the images of the moment to load now."""
    return int(
        page.eval_on_selector_all(
            selector,
            "els => { els.forEach(e => { e.loading = 'eager'; e.scrollIntoView() });"
            " return els.filter(e => e.complete && e.naturalWidth > 0).length }",
        )
    )


def test_both_photos_on_the_request_page_for_those_who_may_see_the_person(
    console: Served, board: SimBoard, browser: Browser, tmp_path: Path
) -> None:
    url = console.url
    contract = tmp_path / "contract.png"
    cv2.imwrite(str(contract), pages.render_page(pages.random_spec(61, amount_fen=SMALL)).image)
    made: list[Page] = []

    def login(username: str | None) -> Page:
        page = phone(browser, url, username)
        made.append(page)
        return page

    try:
        applicant = login("liming")
        applicant.goto(url + "/requests/new")
        applicant.fill("textarea[name=matter]", "村道硬化工程施工合同盖章")
        applicant.fill("input[name=amount]", f"{SMALL / 100:.2f}")
        applicant.set_input_files("input[name=document]", str(contract))
        applicant.click("#file-form button[type=submit]")
        expect(applicant.locator(".flash.ok")).to_contain_text("已提交用印申请")
        request_id = applicant.url.rstrip("/").rsplit("/", 1)[-1]
        for approver in ("zhangwei", "chenjing"):
            page = login(approver)
            page.goto(f"{url}/requests/{request_id}")
            page.click("#approve")
            expect(page.locator(".flash.ok")).to_contain_text("您已同意")
        custodian = login("wangfang")
        custodian.goto(f"{url}/requests/{request_id}")
        expect(custodian.locator("#status-badge")).to_have_text("使用中")
        board.control.camera("place", file=str(contract))  # the custodian lays the original down
        board.control.press()

        # live, without a reload: the page photo, and the person at the unlock and at the last press beside it
        expect(custodian.locator("#presses img.photo")).to_have_count(1)
        people = custodian.locator("#person-photos .person-photo")
        expect(people).to_have_count(2, timeout=90_000)
        expect(people.nth(0)).to_contain_text("开锁时")
        expect(people.nth(1)).to_contain_text("最后一次盖章时")
        expect(custodian.locator("#person-photos img.photo")).to_have_count(2)
        expect(custodian.locator("#person-photos .flag")).to_have_count(0)  # a face in both: no no_person flag
        custodian.reload()
        wait_until("the page photo to load", lambda: shown_images(custodian, "#presses img.photo") == 1, 30)
        wait_until("the person photos to load", lambda: shown_images(custodian, "#person-photos img.photo") == 2, 30)
        # at 360 px: nothing wider than the screen, the photos fit it
        fits(custodian)
        SHOTS.mkdir(parents=True, exist_ok=True)
        custodian.screenshot(path=str(SHOTS / "seal-person-photos-360.png"), full_page=True)  # one shot: the live part redraws
        widths = custodian.eval_on_selector_all("#person-photos img.photo", "els => els.map(e => e.getBoundingClientRect().width)")
        assert all(0 < w <= 360 for w in widths)
        person_urls = custodian.eval_on_selector_all("#person-photos img.photo", "els => els.map(e => e.getAttribute('src'))")
        assert len(set(person_urls)) == 2 and all(u.startswith(f"/requests/{request_id}/person/") for u in person_urls)
        listed = custodian.request.get(f"{url}/api/requests/{request_id}").json()["person_photos"]  # the same, as JSON
        assert sorted(f"/requests/{request_id}/person/{ph['sha256']}" for ph in listed) == sorted(person_urls)
        # the devices page shows the custodian the face camera beside the desk camera: on, two photos, the retention
        custodian.goto(f"{url}/devices")
        expect(custodian.locator("#face-camera")).to_contain_text("在线")
        expect(custodian.locator("#face-camera-captures")).to_have_text("2")
        expect(custodian.locator("#face-camera")).to_contain_text("1095 天后删除")
        expect(custodian.locator("#face-detector-missing")).to_have_count(0)
        fits(custodian)

        # an approver of this request and a supervisor see them too
        for username in ("zhangwei", "jiandu"):
            page = login(username)
            page.goto(f"{url}/requests/{request_id}")
            expect(page.locator("#person-photos img.photo")).to_have_count(2)
            assert page.request.get(url + person_urls[0]).status == 200

        # the applicant as such and the village staff see the request and its page photo, not the person;
        # an approver of other requests and another village's supervisor not even the request
        for username, sees_request in (("liming", True), ("cunwu", True), ("zhaolei", False), ("far", False)):
            page = login(username)
            response = page.goto(f"{url}/requests/{request_id}")
            assert response is not None and response.status == (200 if sees_request else 404), username
            expect(page.locator("#person-photos")).to_have_count(0)
            if sees_request:
                expect(page.locator("#presses img.photo")).to_have_count(1)
            for src in person_urls:
                assert page.request.get(url + src).status == 404, (username, src)
            if sees_request:
                assert page.request.get(url + "/api/requests/" + request_id).json()["person_photos"] is None
            assert page.request.get(url + "/api/requests/" + request_id).text().find(person_urls[0].rsplit("/", 1)[1]) == -1

        # the public notice board: no photo of anyone, no hash of one
        public = login(None)
        public.goto(url + "/board")
        text = public.content() + json.dumps(public.eval_on_selector_all("a", "els => els.map(e => e.href)"))
        for src in person_urls:
            assert src.rsplit("/", 1)[1] not in text
        assert "/person/" not in text
    finally:
        for page in made:
            page.context.close()
