"""The township's labour-dispatch comparison in Debian's Chromium on a 360-px phone: a village's demo (sixteen
workers, one blacklisted, one away ill, three dispatches, a paid pay list) goes up over the real sync; the township
officer logs in and reads the village's figures on a phone, the committee's reason for the blacklisting shown and
the reason of absence (住院治疗) not; another township's officer sees nothing."""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_support import chromium, fits
from central_accounts_support import OTHER_TOWNSHIP, PASSWORD, Central, Clock
from central_support import COUNTY, TOWNSHIP, VILLAGE, enrol
from halves_support import VillageSetup, both_halves, central_phone
from playwright.sync_api import Page
from test_work_order import work_order_config

from central.decisions.log import DecisionLog
from central.modules.work_order import CENTRAL_WORK_ORDER
from central.store import CentralStore
from edge.agent import EdgeAgent
from edge.kernel.config import CentralSettings
from edge.modules import PARTS
from edge.modules.work_order import WORK_ORDER

SHOTS = Path(__file__).resolve().parent.parent / "build" / "screenshots"
EDGE = "qinglian-cun"


async def _prepare(central: Central, _: DecisionLog) -> None:
    for username, township in (("heshang", TOWNSHIP), ("puyang", OTHER_TOWNSHIP)):
        await central.accounts.create_staff(
            username, "乡镇纪委王委员", "township_officer", f"township:{township}", PASSWORD, "test", own_password=True
        )


def _village(root: Path) -> VillageSetup:
    async def open_agent(store: CentralStore, key: str) -> EdgeAgent:
        central = CentralSettings("http://central", EDGE, decision_key=key)
        config = dataclasses.replace(work_order_config(root / "village"), central=central)
        agent = await EdgeAgent.open(config, parts=PARTS)
        await enrol(store, EDGE, agent.config.data_dir, VILLAGE, TOWNSHIP, COUNTY)
        await WORK_ORDER.demo(agent)  # type: ignore[misc]
        return agent

    return VillageSetup(open_agent, WORK_ORDER.from_central)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    clock = Clock()
    clock.now = time.time()
    with both_halves(tmp_path, clock, (CENTRAL_WORK_ORDER,), _prepare, {EDGE: _village(tmp_path)}) as halves:
        halves.sync(EDGE)  # the village's demo goes up
        yield halves.central


def _text(page: Page) -> str:
    return re.sub(r"\s+", " ", page.inner_text("main"))


def test_the_township_officer_reads_the_villages_labour_figures_on_a_phone(served: str) -> None:
    with chromium() as browser:

        def officer(username: str) -> Page:
            page = central_phone(browser, served, username)
            page.goto(served + "/m/work_order")
            return page

        page = officer("heshang")
        text = _text(page)
        assert VILLAGE in text and page.locator(f"#orders-{EDGE}").inner_text() != "0"
        assert page.locator(f"#blacklisted-{EDGE}").inner_text() == "1"
        assert "两委会理由：两委会决定：多次出工不出力，清扫不达标" in text and "住院治疗" not in text
        assert page.locator(f"#workers-{EDGE} tbody tr").count() == 16
        fits(page)  # the wide table scrolls in its own box
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "phone-central-work-order.png"), full_page=True)

        other = officer("puyang")
        assert VILLAGE not in _text(other) and "辖区各村尚无派工记录" in _text(other)
