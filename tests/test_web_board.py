"""The village notice board (村务公开): public, read-only, no session, nothing personal, CSV and XLSX downloads."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import queue
import sqlite3
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from edge_support import DEVICE, config_for, writer  # noqa: F401  (writer is a fixture)
from playwright.sync_api import sync_playwright
from web_support import CHROMIUM, CHROMIUM_ARGS, Api, seed_account

from edge.agent import EdgeAgent
from edge.seal.keystore import DeviceIdentity
from edge.web.server import start_console
from edge.kernel.websettings import WebSettings
from edge.web.app import create_app
from edge.web.board import MASK, public_cell
from edge.web.ledgerview import LedgerReader
from edge.web.service import Console
from edge.web.store import WebStore
from hostsim import flash

PHONE, ID_NUMBER = "13812345678", "33010219900101123X"
MATTER = f"为村民出具证明（电话 {PHONE}，身份证 {ID_NUMBER}，另 138-1234-5678）"
SHOTS = Path(__file__).resolve().parent.parent / "build" / "screenshots"
ACCOUNTS = (("liming", ["applicant"], "liming"), ("zhangwei", ["approver"], "zhangwei"), ("chenjing", ["approver"], "chenjing"))


@pytest.fixture
async def site(writer: EdgeAgent) -> Any:
    store = await WebStore.open(writer.config.data_dir)
    for username, roles, person in ACCOUNTS:
        await seed_account(store, writer, username, roles, person, None)
    ledger = LedgerReader(writer.config.data_dir)
    transport = httpx.ASGITransport(app=create_app(Console(writer, store, WebSettings(enabled=True)), ledger))
    clients = [httpx.AsyncClient(transport=transport, base_url="http://console.test") for _ in range(4)]
    yield clients
    for c in clients:
        await c.aclose()
    await ledger.close()
    await store.close()


async def approved(applicant: Api, approvers: tuple[Api, ...], matter: str) -> str:
    """A request filed and approved along its route (the small route: a chain of two)."""
    rid = str((await applicant.file(matter)).json()["id"])
    for approver in approvers:
        assert (await approver.post(f"/api/requests/{rid}/approve")).status_code == 200
    return rid


def sessions(writer: EdgeAgent) -> int:
    with sqlite3.connect(writer.config.data_dir / "web.sqlite3") as db:
        return int(db.execute("SELECT COUNT(*) FROM sessions").fetchone()[0])


@pytest.mark.parametrize(
    ("cell", "shown"),
    [
        (PHONE, MASK), (ID_NUMBER, MASK), ("330102199001011234", MASK), ("138 1234 5678", MASK),
        ("0571-88886666", f"0571-{MASK}"), ("6222021234567890123", MASK), (13812345678, MASK),
        ("写信 wang.fang+1@example.cn 联系", f"写信 {MASK} 联系"), ("2026-12", "2026-12"), ("¥3,000,000.00", "¥3,000,000.00"), (12, 12), (999_999, 999_999), (None, ""),
    ],
)  # fmt: skip
def test_a_phone_or_id_number_never_reaches_the_board(cell: Any, shown: Any) -> None:
    assert public_cell(cell) == shown


async def test_the_board_lists_the_seal_uses_of_each_month_without_anything_personal(site: Any, writer: EdgeAgent) -> None:
    visitor, *accounts = site
    empty = await visitor.get("/board")
    assert empty.status_code == 200 and "暂无公开事项" in empty.text

    applicant, first, second = (Api(c) for c in accounts)
    for api, (username, _, _) in zip((applicant, first, second), ACCOUNTS, strict=True):
        await api.login(username)
    rid = await approved(applicant, (first, second), MATTER)
    await applicant.file("尚未批准的事项")  # pending: not a use yet, not on the board

    before = sessions(writer)
    page = await visitor.get("/board")
    assert page.status_code == 200 and page.headers["cache-control"].startswith("public")
    assert "set-cookie" not in page.headers and sessions(writer) == before  # no login, no session row
    html = page.text
    assert "村务公开" in html and "用印公开（按月）" in html and "公章" in html and "为村民出具证明" in html
    assert "尚未批准的事项" not in html
    for personal in (PHONE, ID_NUMBER, "138-1234-5678", "李明", "张伟", "陈静", "liming", rid):
        assert personal not in html, personal

    link = "/board/seal/1.csv"
    assert f'href="{link}"' in html
    download = await visitor.get(link)
    assert download.status_code == 200 and download.headers["content-type"].startswith("text/csv")
    assert download.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig"))))
    assert rows[0] == ["月份", "印章", "用印事项", "批准次数", "按压次数", "核对异常页数"]
    assert [r[1:] for r in rows[1:]] == [["公章", public_cell(MATTER), "1", "0", "0"]]
    assert PHONE not in download.text and ID_NUMBER not in download.text

    xlsx = await visitor.get("/board/seal/1.xlsx")
    assert xlsx.status_code == 200 and "spreadsheetml" in xlsx.headers["content-type"]
    with zipfile.ZipFile(io.BytesIO(xlsx.content)) as z:
        text = "".join(z.read(n).decode("utf-8") for n in z.namelist() if n.endswith(".xml"))
    assert "为村民出具证明" in text and PHONE not in text and ID_NUMBER not in text
    assert sessions(writer) == before

    for missing in ("/board/seal/2.csv", "/board/seal/1.pdf", "/board/nobody/1.csv"):
        assert (await visitor.get(missing)).status_code == 404, missing


# -- in a browser: Debian's Chromium on a 360-px phone, no login ------------------------------------------------


async def _serve(root: Path, ready: queue.Queue[str], stop: threading.Event) -> None:
    """An edge with one approved seal use, its console on a free port, until ``stop``."""
    flash.prepare(root / "board")
    ident = flash.read_identity(root / "board")
    assert ident is not None
    agent = await EdgeAgent.open(config_for(root, "socket://127.0.0.1:9", ident.device_id))
    try:
        await agent.enrol(DeviceIdentity(ident.device_id, ident.key), DEVICE)
        store = await WebStore.open(agent.config.data_dir)
        for username, roles, person in ACCOUNTS:
            await seed_account(store, agent, username, roles, person, None)
        await store.close()
        server = await start_console(agent, WebSettings(enabled=True, port=0))
        try:
            clients = [httpx.AsyncClient(base_url=server.url) for _ in ACCOUNTS]
            applicant, *approvers = (Api(c) for c in clients)
            for api, (username, _, _) in zip((applicant, *approvers), ACCOUNTS, strict=True):
                await api.login(username)
            await approved(applicant, tuple(approvers), MATTER)
            for c in clients:
                await c.aclose()
            ready.put(server.url)
            while not stop.is_set():
                await asyncio.sleep(0.05)
        finally:
            await server.close()
    finally:
        await agent.close()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    """The console's address; it runs on an event loop of its own thread (Playwright's sync API holds this one)."""
    ready: queue.Queue[str] = queue.Queue()
    stop = threading.Event()
    failed: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(_serve(tmp_path, ready, stop))
        except BaseException as exc:  # handed to the test below, which would otherwise wait for nothing
            failed.append(exc)
            ready.put("")

    thread = threading.Thread(target=run, name="console")
    thread.start()
    try:
        url = ready.get(timeout=60)
        if failed:
            raise failed[0]
        yield url
    finally:
        stop.set()
        thread.join(30)


def test_a_phone_opens_the_notice_board_without_a_login_and_downloads_its_csv(served: str, tmp_path: Path) -> None:
    if not os.path.exists(CHROMIUM):  # a promised part: fail, never skip
        pytest.fail(f"Debian's chromium is not installed ({CHROMIUM})", pytrace=False)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True,
                                          locale="zh-CN", accept_downloads=True)  # fmt: skip
            page = context.new_page()
            page.goto(served + "/board")
            assert page.url == served + "/board"  # no login page in between
            assert page.locator("h1").inner_text() == "村务公开"
            assert "用印公开（按月）" in page.locator("#seal-1 h2").inner_text()
            text = page.locator("main").inner_text()
            assert "为村民出具证明" in text and PHONE not in text and ID_NUMBER not in text
            # Fits the phone: only the table scrolls, inside its card, never the page.
            assert page.evaluate("document.documentElement.scrollWidth") <= 360
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOTS / "phone-board.png"), full_page=True)
            with page.expect_download() as info:
                page.click("#seal-1 a[href$='.csv']")
            saved = tmp_path / "board.csv"
            info.value.save_as(saved)
            assert context.cookies() == []  # nothing was set: no session
            context.close()
        finally:
            browser.close()
    data = saved.read_bytes()
    assert data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0][:3] == ["月份", "印章", "用印事项"] and rows[1][1:3] == ["公章", public_cell(MATTER)]
