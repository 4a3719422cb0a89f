"""Two bidders in two phones' browsers (Debian's Chromium, 360 px): each sees the lowest price and its own rank move
as the other bids, over the page's live stream, and never the other's name."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from browser_support import chromium, fits, phone
from central_accounts_support import PASSWORD, Central, Clock
from halves_support import both_halves
from playwright.sync_api import Page, expect
from test_procurement_race import DEMAND, EDGE, open_tender

from central.decisions.log import DecisionLog
from central.modules.procurement import PROCUREMENT


async def _open_tender(central: Central, decisions: DecisionLog) -> None:
    await open_tender(central.store, decisions, datetime.fromtimestamp(central.clock(), UTC))


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    """A central with one open tender (opened now, where its clock stands) and two qualified suppliers."""
    clock = Clock()
    clock.now = time.time()
    with both_halves(tmp_path, clock, (PROCUREMENT,), _open_tender, {}) as halves:
        yield halves.central


def login(page: Page, url: str, username: str) -> None:
    page.goto(url + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.locator("form[action='/login'] button[type=submit]").first.click()
    page.wait_for_load_state()
    page.goto(url + "/m/procurement/tenders")


def test_two_bidders_see_their_ranks_change_live(served: str) -> None:
    card = f"#tender-{EDGE}-{DEMAND}"
    with chromium() as browser:
        a, b = phone(browser, served), phone(browser, served)
        login(a, served, "wenju")
        login(b, served, "jiancai")
        expect(a.locator(f"{card} .lowest")).to_have_text("暂无报价")
        a.fill(f"{card} input[name=amount]", "11500")
        a.click(f"{card} button")
        expect(a.locator(f"{card} .rank")).to_have_text("1")
        expect(b.locator(f"{card} .lowest")).to_have_text("¥11,500.00")  # live, without a reload
        expect(b.locator(f"{card} .bidders")).to_have_text("1")
        b.fill(f"{card} input[name=amount]", "11000")
        b.click(f"{card} button")
        expect(b.locator(f"{card} .rank")).to_have_text("1")
        expect(a.locator(f"{card} .rank")).to_have_text("2")  # a's page moved by itself
        expect(a.locator(f"{card} .lowest")).to_have_text("¥11,000.00")
        assert "jiancai" not in a.content() and "wenju 有限公司" not in b.content()
        fits(a)
