"""户主大会 on a 360-px phone in Debian's Chromium: the register imported, a meeting created, a household signed
in by scanning its printed QR code (the code read from the page's pixels, as a phone's camera would), another
ticked from the list, two tellers' tally sheet, the published results on the board, a commitment's progress."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from browser_support import chromium, fits, flash_text, phone, serve_console
from edge_support import DEVICE, config_for
from playwright.sync_api import Page
from web_support import seed_account

from edge.agent import EdgeAgent
from edge.seal.keystore import DeviceIdentity
from edge.web.store import WebStore
from hostsim import flash

SHOTS = Path(__file__).resolve().parent.parent / "build" / "screenshots"
ACCOUNTS = (("zhoumin", ["village_staff"]), ("sunli", ["village_staff"]))
SHARP = {"device_scale_factor": 3}  # the printed sheet's QR codes read from the screenshot's pixels


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    flash.prepare(tmp_path / "board")
    ident = flash.read_identity(tmp_path / "board")
    assert ident is not None

    async def ready(agent: EdgeAgent) -> None:
        await agent.enrol(DeviceIdentity(ident.device_id, ident.key), DEVICE)
        store = await WebStore.open(agent.config.data_dir)
        for username, roles in ACCOUNTS:
            await seed_account(store, agent, username, roles, None, None)
        await store.close()

    with serve_console(lambda: EdgeAgent.open(config_for(tmp_path, "socket://127.0.0.1:9", ident.device_id)), ready) as console:
        yield console.url


def scan(page: Page, selector: str) -> str:
    """What a phone's camera reads from the QR code on the printed sheet."""
    png = page.locator(selector).screenshot()
    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_GRAYSCALE)
    text, _, _ = cv2.QRCodeDetector().detectAndDecode(image)
    return str(text)


def test_a_phone_runs_the_assembly_from_register_to_commitment_progress(served: str, tmp_path: Path) -> None:
    register = tmp_path / "名册.csv"
    rows = ["户号,户主,人数,承包组,电话"] + [
        f"G{g}-{n:02d},户主{g}{n},3,{g}组,1391234{g}{n:03d}" for g in range(1, 4) for n in range(1, 6)
    ]
    register.write_text("\n".join(rows) + "\n", encoding="utf-8")
    with chromium() as browser:
        staff = phone(browser, served, "zhoumin", **SHARP)
        staff.goto(served + "/household_assembly")
        staff.set_input_files("#register-file", str(register))
        staff.click("#register-import")
        assert "新增或变更 15 户" in flash_text(staff)

        staff.fill("#new-meeting input[name=held_on]", "2030-12-20")
        staff.fill("#new-meeting input[name=place]", "港口村文化礼堂")
        staff.fill("#new-meeting textarea[name=items]", "垃圾分类积分制")
        staff.fill("#new-meeting textarea[name=cadres]", "沈国华\n金建平")
        staff.click("#create-meeting")
        assert staff.url.endswith("/household_assembly/HA-2030")
        assert staff.locator("#agenda li").all_inner_texts() == [
            "表彰先进",
            "述职述责",
            "质询评议",
            "宣讲点评",
            "垃圾分类积分制",
        ]
        fits(staff)

        # The printed sheet's QR code for G1-01, read from its pixels, opens the scan page in this console.
        sheet = staff.context.new_page()
        sheet.goto(served + "/household_assembly/HA-2030/sheet")
        link = scan(sheet, "#qr-G1-01 svg")
        assert link.startswith(served + "/household_assembly/HA-2030/scan/G1-01?t=")
        staff.goto(link)
        staff.fill("input[name=proxy]", "户主11之妻")
        staff.click("#confirm-signin")
        assert "G1-01 扫码签到成功" in flash_text(staff)
        staff.goto(link)  # the same code again: refused
        assert "已签到" in staff.locator("#scan-error").inner_text()
        staff.goto(served + "/household_assembly/HA-2030/signin")
        staff.click("#tick-G2-03")
        assert "G2-03 已签到" in flash_text(staff)
        assert "13.33%" in staff.locator("#attendance").inner_text()  # 2 of 15
        fits(staff)

        # One tally sheet, typed by both tellers.
        counts = {
            "t0_0": "2",
            "t0_1": "0",
            "t0_2": "0",
            "t1_0": "1",
            "t1_1": "0",
            "t1_2": "1",
            "t2_0": "1",
            "t2_1": "1",
            "t2_2": "0",
        }

        def enter(page: Page) -> str:
            page.goto(served + "/household_assembly/HA-2030#rating")
            page.fill("#tally-form input[name=sheet]", "1")
            for name, value in counts.items():
                page.fill(f"#tally-form input[name={name}]", value)
            page.click("#enter-tally")
            return flash_text(page)

        assert "待另一名计票人复核" in enter(staff)
        second = phone(browser, served, "sunli", **SHARP)
        assert "两次录入一致" in enter(second)
        staff.goto(served + "/household_assembly/HA-2030")
        staff.click("#publish-results")
        assert "到会率 13.33%" in flash_text(staff)
        results = staff.locator("#results").inner_text()
        assert "100.00%" in results and "50.00% ⚠" in results

        # A commitment, and its progress with history.
        staff.fill("#commitment-list textarea[name=text]", "三组机耕路硬化 800 米")
        staff.fill("#commitment-list input[name=owner]", "金建平")
        staff.fill("#commitment-list input[name=deadline]", "2031-06-30")
        staff.click("#add-commitment")
        assert "已登记承诺 HA-2030-C001" in flash_text(staff)
        item = staff.locator("#HA-2030-C001")
        item.locator("input[name=progress]").fill("40")
        item.locator("input[name=note]").fill("路基完成")
        item.locator("button").click()
        assert "进度已更新" in flash_text(staff)
        assert "40%" in staff.locator("#HA-2030-C001 .status").inner_text()
        assert "路基完成" in staff.locator("#HA-2030-C001").inner_text()
        fits(staff)
        SHOTS.mkdir(parents=True, exist_ok=True)
        staff.screenshot(path=str(SHOTS / "phone-household-assembly.png"), full_page=True)

        # The notice board, no login: the rates and the commitment, no phone number.
        public = phone(browser, served, **SHARP)
        public.goto(served + "/board")
        text = public.locator("main").inner_text()
        assert "2030 年户主大会到会率与满意率" in text and "13.33%" in text and "三组机耕路硬化" in text
        assert "1391234" not in text
