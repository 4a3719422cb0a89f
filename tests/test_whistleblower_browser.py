"""The whistleblower module's main path in Debian's Chromium on a 360-px phone: a villager files an anonymous
clue on the public page and keeps the receipt code; the station head logs in, unlocks the key, reads the clue,
acknowledges it, records the month's review meeting, verifies, resolves and gives feedback; the villager reads
the feedback with the code. The villager's browser holds no cookie at the end."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_support import PHONE, chromium, fits, serve_console
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from web_support import PASSWORD
from whistleblower_support import PASSPHRASE, Clock, open_agent, seed_team, set_up_station

from edge.agent import EdgeAgent
from edge.web.store import WebStore

SHOTS = Path(__file__).resolve().parent.parent / "build" / "screenshots"
CLUE = "村里发放的防汛物资有二十箱被拉到了村干部亲戚开的小卖部"


async def _ready(agent: EdgeAgent) -> None:
    await set_up_station(agent)
    store = await WebStore.open(agent.config.data_dir)
    await seed_team(store, agent)
    await store.close()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    with serve_console(lambda: open_agent(tmp_path, X25519PrivateKey.generate(), Clock()), _ready) as console:
        yield console.url


def test_a_villager_files_a_clue_and_reads_the_feedback_by_code(served: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    with chromium() as browser:
        villager_context = browser.new_context(**PHONE)
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

        head = browser.new_context(**PHONE).new_page()
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
