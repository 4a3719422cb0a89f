"""The procurement module's main path in Debian's Chromium on a 360-px phone: the book-keeper records two
offline purchases of office supplies (one with an invoice photo), a third is refused with the purchases that
add up to 5,000 yuan listed, an approver sees the refusal on record; then a demand is filed and the approver
sends it up to the township from the phone."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_support import chromium, fits, phone, serve_console
from edge_support import DEVICE, config_for
from playwright.sync_api import Page
from web_support import seed_account

from edge.agent import EdgeAgent
from edge.modules import PARTS
from edge.modules.procurement import PROCUREMENT
from edge.seal.keystore import DeviceIdentity
from edge.web.demo import sample_png
from edge.web.store import WebStore
from hostsim import flash

SHOTS = Path(__file__).resolve().parent.parent / "build" / "screenshots"
ACCOUNTS = (("kuaiji", ["village_staff"], None), ("zhangwei", ["approver"], "zhangwei"))


async def _open_agent(root: Path) -> EdgeAgent:
    flash.prepare(root / "board")
    ident = flash.read_identity(root / "board")
    assert ident is not None
    agent = await EdgeAgent.open(config_for(root, "socket://127.0.0.1:9", ident.device_id), parts=PARTS)
    await agent.enrol(DeviceIdentity(ident.device_id, ident.key), DEVICE)
    return agent


async def _accounts(agent: EdgeAgent) -> None:
    store = await WebStore.open(agent.config.data_dir)
    for username, roles, person in ACCOUNTS:
        await seed_account(store, agent, username, roles, person, None)
    await store.close()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    """The console's address; it runs on an event loop of its own thread (Playwright's sync API holds this one)."""
    assert PROCUREMENT in PARTS
    with serve_console(lambda: _open_agent(tmp_path), _accounts) as console:
        yield console.url


def record(page: Page, url: str, day: str, price: str, invoice: Path | None = None) -> None:
    page.goto(url + "/procurement/purchases/new")
    page.fill("input[name=day]", day)
    page.select_option("select[name=channel]", "offline")
    page.select_option("select[name=category]", "办公用品")
    page.fill("input[name=supplier]", "兴华文具店")
    page.fill("input[name=line-1-name]", "打印纸")
    page.fill("input[name=line-1-quantity]", "10")
    page.fill("input[name=line-1-unit]", "箱")
    page.fill("input[name=line-1-price]", price)
    if invoice is not None:
        page.set_input_files("input[name=invoice]", str(invoice))
    page.click("#record")
    page.wait_for_load_state()


def file_demand(page: Page, url: str, title: str, line: tuple[str, str, str, str]) -> None:
    """A demand for office supplies with one line (name, quantity, unit, price), to the village committee."""
    name, quantity, unit, price = line
    page.goto(url + "/procurement/demands/new")
    page.fill("input[name=title]", title)
    page.select_option("select[name=category]", "办公用品")
    page.fill("input[name=line-1-name]", name)
    page.fill("input[name=line-1-quantity]", quantity)
    page.fill("input[name=line-1-unit]", unit)
    page.fill("input[name=line-1-price]", price)
    page.fill("input[name=place]", "青莲村村委会")
    page.fill("input[name=delivery_date]", "2099-01-10")
    page.click("#file-demand")
    page.wait_for_load_state()


def test_record_purchases_see_an_offline_one_refused_and_file_a_demand(served: str, tmp_path: Path) -> None:
    invoice = tmp_path / "fapiao.png"
    invoice.write_bytes(sample_png())
    SHOTS.mkdir(parents=True, exist_ok=True)
    with chromium() as browser:
        staff = phone(browser, served, "kuaiji")
        staff.goto(served + "/procurement")
        assert staff.locator("nav.tabs a.on").inner_text() == "采购"

        record(staff, served, "2026-03-31", "300.00", invoice)  # 3,000.00
        assert (
            staff.url.endswith("/procurement/purchases/CG-00001")
            and "fapiao.png" in staff.locator("#purchase").inner_text()
        )
        record(staff, served, "2026-05-20", "150.00")  # 1,500.00: 4,500.00 in the window
        assert staff.url.endswith("/procurement/purchases/CG-00002")
        record(staff, served, "2026-05-31", "50.00")  # 500.00 on the window's last day: 5,000.00, refused
        refusal = staff.locator("#refusal")
        assert "不能登记为线下采购" in refusal.inner_text() and "¥5,000.00" in refusal.inner_text()
        assert [r.inner_text().split("\t")[:3] for r in staff.locator("table.adding-up tr").all()[1:]] == [
            ["CG-00001", "2026-03-31", "¥3,000.00"],
            ["CG-00002", "2026-05-20", "¥1,500.00"],
            ["本次", "2026-05-31", "¥500.00"],
        ]
        assert (
            staff.locator("select[name=category]").input_value() == "办公用品"
        )  # the form is kept for an override
        fits(staff)
        staff.screenshot(path=str(SHOTS / "phone-procurement-refused.png"), full_page=True)

        file_demand(staff, served, "办公用品集中采购", ("打印机墨盒", "12", "个", "180"))
        assert staff.url.endswith("/procurement/demands/XQ-00001")
        assert staff.locator("#demand-status").inner_text() == "村内审批中"
        fits(staff)

        approver = phone(browser, served, "zhangwei")
        approver.goto(served + "/inbox")
        approver.click("a[href='/procurement/demands/XQ-00001']")
        approver.click("#approve")
        approver.wait_for_load_state()
        assert approver.locator("#demand-status").inner_text() == "已报送乡镇"
        approver.goto(served + "/procurement")
        assert (
            "打印纸" not in approver.locator("#refusals").inner_text()
            and "兴华文具店" in approver.locator("#refusals").inner_text()
        )
        fits(approver)
        approver.screenshot(path=str(SHOTS / "phone-procurement.png"), full_page=True)
