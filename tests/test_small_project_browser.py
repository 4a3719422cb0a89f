"""限额工程 on a 360-px phone in Debian's Chromium: the clerk files a project with its bill priced from the
township's catalogue (come down signed), the approver approves it from the page, the clerk records the village's
recommended contractor, the township's draw comes down signed and is re-run on the edge, the township's opening of
the three sealed quotes comes down signed and is re-checked (the lowest valid one wins), the clerk records acceptance and settlement, and
the notice board shows the project without a login."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_support import Served, chromium, fits, flash_text, phone, serve_console
from edge_support import config_for
from test_small_project import (
    CATALOGUE,
    VILLAGE_VALUE,
    catalogue_document,
    deliver,
    draw_document,
    draw_record,
    fixed_document,
    opened_document,
)
from web_support import seed_account

from edge.agent import EdgeAgent
from edge.modules.small_project import SMALL_PROJECT
from edge.seal.part import SEAL
from edge.web.store import WebStore

SHOTS = Path(__file__).resolve().parent.parent / "build" / "screenshots"


async def _ready(agent: EdgeAgent) -> None:
    store = await WebStore.open(agent.config.data_dir)
    await seed_account(store, agent, "cunwu", ["village_staff"], None, None)
    await seed_account(store, agent, "zhangwei", ["approver"], "zhangwei", None)
    await store.close()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    config = config_for(tmp_path, "socket://127.0.0.1:9")
    with serve_console(lambda: EdgeAgent.open(config, parts=(SEAL, SMALL_PROJECT)), _ready) as console:
        yield console


def test_a_project_from_filing_through_the_draw_and_opening_to_the_notice_board_on_a_phone(served: Served) -> None:
    assert served.run(deliver(served.agent, catalogue_document())) == (1, 0)
    SHOTS.mkdir(parents=True, exist_ok=True)
    with chromium() as browser:
        clerk = phone(browser, served.url, "cunwu")
        clerk.click("nav.tabs a[href='/small_project']")
        assert clerk.locator("h1").inner_text() == "限额工程"
        assert f"现行指导价目录 {CATALOGUE['version']} 版" in clerk.locator("main").inner_text()
        clerk.click("#file-details summary")
        clerk.fill("#file-form input[name=name]", "西岙自然村道路硬化")
        clerk.select_option("#file-form select[name=category]", "道路")
        clerk.fill("#file-form input[name=place]", "西岙自然村")
        clerk.fill("#file-form textarea[name=scope]", "硬化村道 300 米，宽 4 米")
        clerk.select_option("#file-form select[name=code0]", "R01")
        clerk.fill("#file-form input[name=quantity0]", "1200")
        clerk.select_option("#file-form select[name=code1]", "R02")
        clerk.fill("#file-form input[name=quantity1]", "600")
        clerk.fill("#file-form input[name=price1]", "86")
        clerk.click("#file-form button[type=submit]")
        assert "须写明理由" in flash_text(clerk)  # above the guide price without a reason: refused, nothing filed
        clerk.click("#file-details summary")
        for field, value in (("name", "西岙自然村道路硬化"), ("place", "西岙自然村")):
            clerk.fill(f"#file-form input[name={field}]", value)
        clerk.fill("#file-form textarea[name=scope]", "硬化村道 300 米，宽 4 米")
        clerk.select_option("#file-form select[name=code0]", "R01")
        clerk.fill("#file-form input[name=quantity0]", "1200")
        clerk.select_option("#file-form select[name=code1]", "R02")
        clerk.fill("#file-form input[name=quantity1]", "600")
        clerk.fill("#file-form input[name=price1]", "86")
        clerk.fill("#file-form input[name=reason1]", "山路二次转运")
        clerk.click("#file-form button[type=submit]")
        assert flash_text(clerk) == "已申报工程 GC-00001，等待审批"
        card = clerk.locator("#project-GC-00001").inner_text()
        assert "待审批" in card and "195,600.00" in card and "1 行高于指导价" in card
        fits(clerk)
        clerk.screenshot(path=str(SHOTS / "phone-small-project.png"), full_page=True)

        boss = phone(browser, served.url, "zhangwei")
        boss.goto(served.url + "/small_project/p/GC-00001")
        boss.click("#decide-form button[value=approve]")
        assert flash_text(boss) == "已同意，审批通过"

        clerk.goto(served.url + "/small_project/p/GC-00001")
        clerk.fill("#recommend-form input[name=contractor_id]", "C01")
        clerk.fill("#recommend-form input[name=contractor_name]", "湖州第1建筑工程队")
        clerk.fill("#recommend-form input[name=village_value]", VILLAGE_VALUE)
        clerk.click("#recommend-form button[type=submit]")
        assert flash_text(clerk).startswith("已登记村推荐承包商")
        assert served.run(deliver(served.agent, fixed_document("GC-00001"))) == (1, 0)
        clerk.goto(served.url + "/small_project/p/GC-00001")
        clerk.fill("#reveal-form input[name=village_value]", VILLAGE_VALUE)
        clerk.click("#reveal-form button[type=submit]")
        assert flash_text(clerk).startswith("已公布村随机值")
        record = draw_record()
        assert served.run(deliver(served.agent, draw_document("GC-00001", record))) == (1, 0)
        clerk.goto(served.url + "/small_project/p/GC-00001")
        assert clerk.locator("#invited li").count() == 3
        first, second = record["drawn"]
        assert "密封报价" in clerk.locator("#quoting").inner_text()
        invited = [{"id": c, "name": f"湖州第{int(c[1:])}建筑工程队"} for c in ("C01", first, second)]
        amounts = [("C01", 19_000_000), (first, 18_800_050), (second, 19_560_001)]  # the last above the budget
        opened = opened_document("GC-00001", invited, amounts, budget_fen=19_560_000)
        assert served.run(deliver(served.agent, opened)) == (1, 0)
        clerk.goto(served.url + "/small_project/p/GC-00001")
        assert f"中标：湖州第{int(first[1:])}建筑工程队 188,000.50 元" in clerk.locator("#winner").inner_text()
        assert "无效：报价超过预算 195,600.00 元" in clerk.locator("#quotes").inner_text()
        clerk.fill("#complete-form input[name=settled]", "186000")
        clerk.click("#complete-form button[type=submit]")
        assert flash_text(clerk) == "已验收结算，较预算节约 9,600.00 元，已公示"
        assert "结算 186,000.00 元" in clerk.locator("#settled").inner_text()
        fits(clerk)
        clerk.screenshot(path=str(SHOTS / "phone-small-project-done.png"), full_page=True)

        public = phone(browser, served.url)
        public.goto(served.url + "/board")
        board = public.locator("main").inner_text()
        assert (
            "限额工程公示" in board
            and "西岙自然村道路硬化" in board
            and "186,000.00" in board
            and "cunwu" not in board
        )
        fits(public)
