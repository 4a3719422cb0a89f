"""In Debian's Chromium on a 360-px phone, against ``qinglian central run``: a supplier applies through the form,
a county officer approves it, and a township officer, the county officer, the supplier and a bank each log in and
see their own landing page (我的工作)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import httpx
import pytest
from central_accounts_support import CODES, COUNTY, PASSWORD, PNG, TOWNSHIP, application, form_token
from central_support import CentralProcess, new_ledger
from playwright.sync_api import Page, sync_playwright
from web_support import CHROMIUM, CHROMIUM_ARGS

from central.accounts.store import AccountStore
from central.store import CentralStore

pytestmark = pytest.mark.slow


async def _seed(db: str, root: Path) -> None:
    """Two villages in two townships of the county, a township officer and a county officer."""
    store = await CentralStore.open(db)
    try:
        for edge_id, village, township in (("qinglian", "青莲村", TOWNSHIP), ("puyang", "浦阳村", "浦阳镇")):
            ledger = await new_ledger(root / edge_id)
            await ledger.close()
            pem = (root / edge_id / "ledger_pub.pem").read_text()
            await store.enrol_edge(edge_id, village, township, COUNTY, pem)
        accounts = AccountStore(store.db)
        await accounts.create_staff("hezhen", "何镇", "township_officer", f"township:{COUNTY}/{TOWNSHIP}", PASSWORD, "test",
                                    own_password=True)
        await accounts.create_staff("xianguan", "县监管", "county_officer", f"county:{COUNTY}", PASSWORD, "test",
                                    own_password=True)
    finally:
        await store.close()


def _login(page: Page, url: str, username: str) -> None:
    page.goto(url + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action='/login'] button.primary")


def _fits(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 360


def test_each_role_logs_in_on_a_phone_and_sees_its_work(tmp_path: Path) -> None:
    if not os.path.exists(CHROMIUM):  # a promised part: fail, never skip
        pytest.fail(f"Debian's chromium is not installed ({CHROMIUM})", pytrace=False)
    db = f"sqlite:///{tmp_path / 'central.sqlite3'}"
    asyncio.run(_seed(db, tmp_path))
    scan = tmp_path / "licence.png"
    scan.write_bytes(PNG)
    with CentralProcess(db) as central, sync_playwright() as p:
        # The bank applies over plain HTTP (the form's token and all); the supplier below through the page.
        with httpx.Client(base_url=central.url) as bank:
            data = application("bank", "nongshang", CODES[2])
            token = form_token(bank.get("/register"))
            assert bank.post("/register", data={**data, "csrf": token},
                             files={"licence": ("l.png", PNG, "image/png")}).status_code == 303  # fmt: skip
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            def phone() -> Page:
                context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True,
                                              has_touch=True, locale="zh-CN")  # fmt: skip
                return context.new_page()

            supplier = phone()
            supplier.goto(central.url + "/login")
            supplier.click("a[href='/register']")
            _fits(supplier)
            supplier.fill("input[name=org_name]", "绿山办公用品有限公司")
            supplier.fill("input[name=credit_code]", CODES[0])
            supplier.fill("input[name=county]", COUNTY)
            supplier.fill("input[name=contact_name]", "王经理")
            supplier.fill("input[name=contact_phone]", "13800001234")
            supplier.check("input[name=categories][value='办公用品']")
            supplier.set_input_files("input[name=licence]", str(scan))
            supplier.fill("input[name=username]", "lvshan")
            supplier.fill("input[name=password]", PASSWORD)
            supplier.fill("input[name=again]", PASSWORD)
            supplier.click("form[action='/register'] button.primary")
            supplier.wait_for_url("**/application")
            assert "审核中" in supplier.locator("main").inner_text()
            supplier.goto(central.url + "/work")  # nothing to do before approval
            assert supplier.url.endswith("/application")

            county = phone()
            _login(county, central.url, "xianguan")
            county.wait_for_url("**/work")
            text = county.locator("main").inner_text()
            assert "我的工作" in text and "县级监管" in text and "青莲村" in text and "浦阳村" in text
            assert "绿山办公用品有限公司" in text and "nongshang 有限公司" in text
            _fits(county)
            for name in ("绿山办公用品有限公司", "nongshang 有限公司"):
                county.click(f"text={name}")
                county.click("button[value=approve]")
                county.wait_for_url("**/applications")
                county.goto(central.url + "/work")
            assert "暂无待审核的申请" in county.locator("main").inner_text()

            township = phone()
            _login(township, central.url, "hezhen")
            township.wait_for_url("**/work")
            text = township.locator("main").inner_text()
            assert "乡镇审核/纪检" in text and "青莲村" in text and "浦阳村" not in text and "暂无待办事项" in text
            _fits(township)

            supplier.goto(central.url + "/work")
            text = supplier.locator("main").inner_text()
            assert "我的工作" in text and "可参与的采购" in text and "办公用品" in text and "青莲村" not in text
            _fits(supplier)

            bank_page = phone()
            _login(bank_page, central.url, "nongshang")
            bank_page.wait_for_url("**/application")
            assert "已通过" in bank_page.locator("main").inner_text()
            bank_page.click("a[href='/work']")
            text = bank_page.locator("main").inner_text()
            assert "我的工作" in text and "开放给银行的存放招标" in text
            _fits(bank_page)
        finally:
            browser.close()
