"""The web console in a real browser: Debian's Chromium driven by Playwright, against ``qinglian edge run``.

One simulated board, one edge agent process serving the console (``[web]``),
local receivers for the DingTalk robot and a webhook, and one browser for the
whole module. Each test files its own requests, so the order does not matter.
Screenshots of the main pages at phone and desktop size go to build/screenshots.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from edge_support import DEVICE, LARGE, SMALL, qinglian, start_edge, wait_until, write_config
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright
from web_support import CHROMIUM, CHROMIUM_ARGS, Receiver, dingtalk_robot, failing_then_ok, seed_account

from edge.agent import EdgeAgent
from edge.kernel.config import load_config
from edge.web.demo import sample_pdf, sample_png
from edge.web.store import WebStore
from hostsim.control import SimBoard

PASSWORD = "test-pass-123"
DINGTALK_SECRET = "SEC-test-secret-0123456789"
SHOTS = Path(__file__).resolve().parent.parent / "build" / "screenshots"
PHONE = {"viewport": {"width": 360, "height": 740}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 860}}
TIMEOUT_MS = 15_000
expect.set_options(timeout=TIMEOUT_MS)  # a busy 2-core machine runs the board, the agent and the browser

EXTRA = """
[[people]]
id = "sunli"
name = "孙丽"
roles = ["approver"]
village = "桃源村"

[web]
listen = "127.0.0.1:0"
login_max_failures = 3
login_backoff_s = 60
notify_retry_s = 0.3

[[web.notify]]
kind = "webpush"

[[web.notify]]
kind = "dingtalk"
url = "{dingtalk}/robot/send?access_token=test-token"
secret = "{secret}"

[[web.notify]]
kind = "webhook"
name = "村务群 Webhook"
url = "{webhook}/hook"
"""

ACCOUNTS = (
    ("wangfang", ("custodian", "applicant"), "wangfang", ()),
    ("liming", ("applicant",), "liming", ()),
    ("zhangwei", ("approver",), "zhangwei", ()),
    ("chenjing", ("approver", "applicant"), "chenjing", ()),
    ("zhaolei", ("approver",), "zhaolei", ()),
    ("sunli", ("approver",), "sunli", ()),
    ("jiandu", ("supervisor",), None, ("*",)),
    ("cunwu", ("village_staff",), None, ()),
)


@dataclass
class Site:
    url: str
    board: SimBoard
    data: Path
    config: Path
    proc: subprocess.Popen[bytes]
    dingtalk: Receiver
    webhook: Receiver

    def ledger(self, kind: str | None = None) -> list[dict[str, Any]]:
        conn = sqlite3.connect(f"{(self.data / 'ledger.sqlite3').as_uri()}?mode=ro", uri=True, timeout=10)
        try:
            rows = conn.execute("SELECT idx, kind, body FROM entries ORDER BY idx").fetchall()
        finally:
            conn.close()
        return [{"index": i, "kind": k, "body": json.loads(b)} for i, k, b in rows if kind is None or k == kind]

    def records(self) -> int:
        """Entries about requests (device links may come and go meanwhile on a busy machine)."""
        return len([e for e in self.ledger() if e["kind"].startswith("seal_request.")])

    def documents(self) -> set[str]:
        folder = self.data / "documents"
        return {p.name for p in folder.rglob("*") if p.is_file()} if folder.exists() else set()


async def _accounts(config_path: Path) -> None:
    """The accounts, recorded in the ledger by a writer of its own (the edge is not running yet)."""
    config = load_config(config_path)
    agent = await EdgeAgent.open(config)
    store = await WebStore.open(config.data_dir)
    try:
        for username, roles, person, villages in ACCOUNTS:
            await seed_account(store, agent, username, roles, person, villages or None, PASSWORD)
    finally:
        await store.close()
        await agent.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("console")
    with Receiver(dingtalk_robot(DINGTALK_SECRET)) as dingtalk, Receiver(failing_then_ok(2)) as webhook:
        with SimBoard(root / "board") as board:
            path = write_config(root, board.serial_url, board.device_id, heartbeat_s=1.0)
            with path.open("a", encoding="utf-8") as f:
                f.write(EXTRA.format(dingtalk=dingtalk.url, webhook=webhook.url, secret=DINGTALK_SECRET))
            identity = root / "board" / "flash" / "identity.json"
            qinglian("edge", "enrol", "--config", str(path), "--key-file", str(identity), check=True)
            asyncio.run(_accounts(path))
            log = root / "edge.log"
            proc = start_edge(path, log)
            try:
                found = wait_until("the console's address in the log", lambda: re.search(r"web console at (http://\S+)", log.read_text(errors="replace")))
                yield Site(found.group(1), board, root / "edge", path, proc, dingtalk, webhook)
            finally:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
            text = log.read_text(errors="replace")
            # The console and the notifier log nothing worse than warnings (a failing webhook is one).
            assert not re.search(r" (ERROR|CRITICAL) (edge\.web|edge\.notify|uvicorn)", text), text[-3000:]


@pytest.fixture(scope="module")
def browser(site: Site) -> Iterator[Browser]:
    """One browser for all the browser tests (they are all in this module).

    Module-scoped on purpose: Playwright's sync API marks an event loop as running
    in this thread while it is started, so it must be stopped before any other
    module's asyncio tests run; and it starts after ``site``, which uses asyncio.
    """
    if not os.path.exists(CHROMIUM):  # a promised part: fail, never skip
        pytest.fail(f"Debian's chromium is not installed ({CHROMIUM}): `sudo apt-get install chromium` (`make setup` does it as root)",
                    pytrace=False)  # fmt: skip
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


class Users:
    """Logged-in browser contexts, one per (account, screen), kept for the module: a login costs a second."""

    def __init__(self, browser: Browser, site: Site) -> None:
        self.browser = browser
        self.site = site
        self.contexts: dict[tuple[str, bool], BrowserContext] = {}
        self.pages: list[Page] = []

    def page(self, username: str, phone: bool = False) -> Page:
        key = (username, phone)
        if key not in self.contexts:
            c = self.browser.new_context(**(PHONE if phone else DESKTOP), locale="zh-CN")
            c.set_default_timeout(TIMEOUT_MS)
            login(c, self.site, username).close()
            self.contexts[key] = c
        page = self.contexts[key].new_page()
        self.pages.append(page)
        page.goto(self.site.url + "/")
        return page

    def close_pages(self) -> None:
        """Pages poll their live regions: close a test's pages when it ends."""
        for page in self.pages:
            page.close()
        self.pages.clear()

    def close(self) -> None:
        for c in self.contexts.values():
            c.close()


@pytest.fixture(scope="module")
def users(browser: Browser, site: Site) -> Iterator[Users]:
    made = Users(browser, site)
    yield made
    made.close()


@pytest.fixture(autouse=True)
def _close_pages(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "users" in request.fixturenames:
        request.getfixturevalue("users").close_pages()


@pytest.fixture
def contexts(browser: Browser) -> Iterator[list[BrowserContext]]:
    made: list[BrowserContext] = []
    yield made
    for c in made:
        c.close()


def context(browser: Browser, made: list[BrowserContext], phone: bool = False) -> BrowserContext:
    c = browser.new_context(**(PHONE if phone else DESKTOP), locale="zh-CN")
    c.set_default_timeout(TIMEOUT_MS)
    made.append(c)
    return c


def login(c: BrowserContext, site: Site, username: str, password: str = PASSWORD) -> Page:
    page = c.new_page()
    page.goto(site.url + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return page


def shot(page: Page, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def csrf(page: Page, site: Site) -> str:
    token: str = page.request.get(site.url + "/api/me").json()["csrf_token"]
    return token


def file_by_api(page: Page, site: Site, matter: str, presses: int = 1, amount_fen: int = SMALL) -> dict[str, Any]:
    response = page.request.post(
        site.url + "/api/requests",
        headers={"X-CSRF-Token": csrf(page, site)},
        multipart={
            "matter": matter, "seal": "official", "presses": str(presses), "amount": f"{amount_fen / 100:.2f}",
            "document": {"name": "证明.pdf", "mimeType": "application/pdf", "buffer": sample_pdf("Test", [matter.encode().hex()[:40]])},
        },
    )  # fmt: skip
    assert response.status == 201, response.text()
    result: dict[str, Any] = response.json()
    return result


def status_of(site: Site, request_id: str) -> str:
    conn = sqlite3.connect(f"{(site.data / 'edge.sqlite3').as_uri()}?mode=ro", uri=True, timeout=10)
    try:
        (status,) = conn.execute("SELECT status FROM requests WHERE id = ?", (request_id,)).fetchone()
    finally:
        conn.close()
    return str(status)


# -- the loop -------------------------------------------------------------------------------------------


def test_custodian_files_phone_approvers_approve_device_unlocks_presses_appear(
    site: Site, browser: Browser, contexts: list[BrowserContext], tmp_path: Path
) -> None:
    # The custodian files a request with a photo of the original, at a desk.
    desk = login(context(browser, contexts), site, "wangfang")
    desk.goto(site.url + "/requests/new")
    shot(desk, "desktop-new-request")
    desk.fill("textarea[name=matter]", "村道修缮工程款拨付证明盖章")
    desk.select_option("select[name=seal]", "official")
    desk.fill("input[name=presses]", "2")
    desk.fill("input[name=amount]", "2500.00")
    original = tmp_path / "原件照片.png"
    original.write_bytes(sample_png())
    desk.set_input_files("input[name=document]", str(original))
    desk.click("button[type=submit]")
    expect(desk.locator(".flash.ok")).to_contain_text("已提交用印申请")
    request_id = desk.url.rsplit("/", 1)[-1]
    assert re.fullmatch(r"SR-\d{6}", request_id)
    expect(desk.locator("#live")).to_contain_text("待审批")
    expect(desk.locator("img.doc")).to_be_visible()
    assert desk.locator("#decide").count() == 0  # the custodian has no approve button

    # The first approver, on a phone: the inbox, the request with its original, approve.
    phone = login(context(browser, contexts, phone=True), site, "zhangwei")
    assert phone.url.endswith("/inbox")
    shot(phone, "phone-inbox")
    phone.click(f"a[href='/requests/{request_id}']")
    expect(phone.locator("img.doc")).to_be_visible()
    shot(phone, "phone-approver-request")
    phone.click("#approve")
    expect(phone.locator(".flash.ok")).to_contain_text("您已同意")
    assert status_of(site, request_id) == "pending"
    assert site.board.control.state()["lock"] == "locked"  # one approval of two: nothing sent

    second = login(context(browser, contexts, phone=True), site, "chenjing")
    second.goto(f"{site.url}/requests/{request_id}")
    second.click("#approve")
    expect(second.locator(".flash.ok")).to_contain_text("审批通过")

    # The grant reaches the board: it unlocks; the custodian's page follows by itself.
    wait_until("the board unlocked", lambda: site.board.control.state()["lock"] == "unlocked")
    expect(desk.locator("#live")).to_contain_text("印章已解锁", timeout=TIMEOUT_MS)
    shot(desk, "desktop-request-in-use")

    # Two presses on the board appear on the request page, and the request closes.
    for _ in range(2):
        site.board.control.press(40)
    expect(desk.locator("#presses-used")).to_have_text("2", timeout=TIMEOUT_MS)
    expect(desk.locator("#live")).to_contain_text("已完成", timeout=TIMEOUT_MS)
    expect(desk.locator("#presses .press")).to_have_count(2)
    wait_until("relocked", lambda: site.board.control.state()["lock"] == "locked")
    presses = [e for e in site.ledger("seal.press") if e["body"].get("request_id") == request_id]
    assert [p["body"]["event"]["n"] for p in presses] == [1, 2]

    # The approvers were told: DingTalk (signed, verified by the receiver) and the webhook (after two failures).
    expect(desk.locator("#deliveries")).to_contain_text("钉钉 → 群：已送达", timeout=TIMEOUT_MS)
    expect(desk.locator("#deliveries")).to_contain_text("村务群 Webhook → 群：已送达（第 3 次尝试）", timeout=TIMEOUT_MS)
    robot = [r for r in site.dingtalk.received if request_id in r.body.decode()]
    assert robot and f"/requests/{request_id}" in robot[0].json()["markdown"]["text"]
    hooks = [r for r in site.webhook.received if r.json().get("request_id") == request_id]
    first = [h for h in hooks if h.json()["body"] == hooks[0].json()["body"]]  # filed: awaiting 张伟
    assert len(first) == 3 and first[-1].json()["url"].endswith(f"/requests/{request_id}")
    assert first[1].at - first[0].at >= 0.25 and first[2].at - first[1].at >= 0.5  # the backoff doubles

    phone.goto(f"{site.url}/requests/{request_id}")
    expect(phone.locator("#live")).to_contain_text("已完成")
    shot(phone, "phone-request-closed")


def test_rejection_with_a_reason_reaches_the_applicant(site: Site, users: Users) -> None:
    applicant = users.page("liming")
    request_id = file_by_api(applicant, site, "集体资产出租合同")["id"]
    approver = users.page("zhangwei", phone=True)
    approver.goto(f"{site.url}/requests/{request_id}")
    approver.fill("#reject-form textarea[name=reason]", "合同金额与原件不符，请核对后重新提交")
    approver.click("#reject")
    expect(approver.locator(".flash.ok")).to_contain_text("已驳回")
    applicant.goto(f"{site.url}/requests/{request_id}")
    expect(applicant.locator("#live")).to_contain_text("驳回：合同金额与原件不符")
    expect(applicant.locator("#live")).to_contain_text("已驳回")
    (rejected,) = [e for e in site.ledger("seal_request.rejected") if e["body"]["request_id"] == request_id]
    assert rejected["body"]["approver"] == "zhangwei"
    # A rejection needs a reason: the form says so and nothing changes.
    second = file_by_api(applicant, site, "空理由驳回")["id"]
    response = approver.request.post(f"{site.url}/requests/{second}/reject", form={"csrf_token": csrf(approver, site), "reason": "  "})
    assert "驳回须说明理由" in response.text()
    assert status_of(site, second) == "pending"


def test_self_approval_is_refused_with_a_clear_message(site: Site, users: Users) -> None:
    page = users.page("chenjing", phone=True)  # approver and applicant
    request_id = file_by_api(page, site, "本人申请的合同用印", amount_fen=LARGE)["id"]  # 2 of 3, chenjing among them
    before = site.records()
    page.goto(f"{site.url}/requests/{request_id}")
    page.click("#approve")
    expect(page.locator(".flash.error")).to_contain_text("不能审批自己提交的申请")
    shot(page, "phone-self-approval-refused")
    assert status_of(site, request_id) == "pending"
    refusals = [e for e in site.ledger("seal_request.approval_refused") if e["body"]["request_id"] == request_id]
    assert [r["body"]["reason"] for r in refusals] == ["self_approval"]  # the attempt itself is on record
    assert site.records() == before + 1


def test_another_villages_approver_sees_and_does_nothing(site: Site, users: Users) -> None:
    applicant = users.page("liming")
    request_id = file_by_api(applicant, site, "外村审批人测试")["id"]
    before = site.records()
    outsider = users.page("sunli", phone=True)  # an approver of 桃源村
    expect(outsider.locator("body")).to_contain_text("您的账号不属于测试村")
    outsider.goto(f"{site.url}/requests/{request_id}")
    expect(outsider.locator(".flash.error")).to_contain_text("没有此申请，或您无权查看")
    token = csrf(outsider, site)
    response = outsider.request.post(f"{site.url}/requests/{request_id}/approve", form={"csrf_token": token})
    assert response.status == 404 and "无权查看" in response.text()
    api = outsider.request.post(f"{site.url}/api/requests/{request_id}/approve", headers={"X-CSRF-Token": token})
    assert api.status == 404
    assert outsider.request.get(f"{site.url}/api/requests").json() == []
    assert status_of(site, request_id) == "pending" and site.records() == before
    # An approver of this village who is not on the route cannot see it either.
    zhaolei = users.page("zhaolei", phone=True)
    assert zhaolei.request.get(f"{site.url}/api/requests/{request_id}").status == 404


def test_a_post_without_the_csrf_token_is_refused(site: Site, users: Users) -> None:
    applicant = users.page("liming")
    request_id = file_by_api(applicant, site, "CSRF 测试")["id"]
    before = site.records()
    approver = users.page("zhangwei")
    missing = approver.request.post(f"{site.url}/requests/{request_id}/approve", form={"x": "1"})
    assert missing.status == 403 and "安全校验失败" in missing.text()
    wrong = approver.request.post(f"{site.url}/requests/{request_id}/approve", form={"csrf_token": "forged"})
    assert wrong.status == 403
    api = approver.request.post(f"{site.url}/api/requests/{request_id}/approve")
    assert api.status == 403 and api.json()["error"]["code"] == "csrf"
    # A form posted from another site carries the victim's cookie but not the token (nor the origin).
    cross = approver.request.post(
        f"{site.url}/requests/{request_id}/approve", form={"csrf_token": csrf(approver, site)}, headers={"Origin": "http://evil.example"}
    )
    assert cross.status == 403
    assert status_of(site, request_id) == "pending" and site.records() == before


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("invoice.pdf", b"MZ\x90\x00\x03\x00\x00\x00" + bytes(200), "看起来是Windows 程序"),
        ("tool.exe", b"MZ\x90\x00" + bytes(100), "不接受“.exe”文件"),
        ("photo.jpg", sample_png(), "扩展名与内容不符"),
        ("empty.pdf", b"", "原件文件是空的"),
    ],
)
def test_a_bad_upload_gets_a_clear_error_and_nothing_is_stored(
    site: Site, users: Users, tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    page = users.page("liming", phone=True)
    ledger_before, docs_before = site.records(), site.documents()
    page.goto(site.url + "/requests/new")
    page.fill("textarea[name=matter]", "上传测试")
    page.fill("input[name=presses]", "1")
    bad = tmp_path / name
    bad.write_bytes(content)
    page.set_input_files("input[name=document]", str(bad))
    page.click("button[type=submit]")
    expect(page.locator("#error")).to_contain_text(message)
    expect(page.locator("textarea[name=matter]")).to_have_value("上传测试")  # the form keeps what was typed
    if name == "invoice.pdf":
        shot(page, "phone-bad-upload")
    assert site.records() == ledger_before and site.documents() == docs_before
    assert not list((site.data / "incoming").glob("*")) if (site.data / "incoming").exists() else True


def test_login_is_rate_limited_per_account_with_backoff(site: Site, browser: Browser, contexts: list[BrowserContext]) -> None:
    c = context(browser, contexts, phone=True)
    for attempt in range(3):
        page = login(c, site, "cunwu", "wrong-password")
        expect(page.locator("#error")).to_contain_text("用户名或密码错误")
    expect(page.locator("#error")).to_contain_text("秒后再试")
    page = login(c, site, "cunwu")  # the right password, but the account is blocked for a while
    expect(page.locator("#error")).to_contain_text("登录失败次数过多")
    shot(page, "phone-login-rate-limited")
    # Another account from the same address is not blocked.
    other = login(context(browser, contexts), site, "liming")
    assert other.url.endswith("/requests")
    # The administrator's password reset lifts the block.
    reset = subprocess.run(
        [sys.executable, "-m", "qinglian.cli", "web", "user", "passwd", "cunwu", "--config", str(site.config), "--password-stdin"],
        input=PASSWORD + "\n", capture_output=True, text=True, timeout=60, env={**os.environ},
    )  # fmt: skip
    assert reset.returncode == 0, reset.stderr
    page = login(c, site, "cunwu")  # a password the admin set: first the owner's own
    assert page.url.endswith("/account")
    expect(page.locator("#must-change")).to_be_visible()


def test_supervisor_reads_the_ledger_filters_anomalies_and_exports_csv(
    site: Site, users: Users
) -> None:
    # A request filed for the purpose and left waiting: the timeline has it, and the supervisor must not approve it.
    pending = file_by_api(users.page("liming"), site, "督查人员不能审批")
    site.board.control.press(40)  # while locked: an attempt, recorded as an anomaly
    wait_until("the locked press in the ledger", lambda: site.ledger("seal.locked_press"))
    page = users.page("jiandu", phone=True)
    assert page.url.endswith("/ledger")
    expect(page.locator("#timeline")).to_contain_text("提交")
    page.check("input[name=anomaly]")
    page.click("#ledger-filter button[type=submit]")
    expect(page.locator("#timeline")).to_contain_text("锁定时按压")
    assert page.locator("#timeline li:not(.anomaly)").count() == 0
    shot(page, "phone-ledger-anomalies")
    page.select_option("select[name=kind]", "seal_request.*")
    page.uncheck("input[name=anomaly]")
    page.select_option("select[name=device]", DEVICE)
    page.click("#ledger-filter button[type=submit]")
    expect(page.locator("#timeline li").first).to_be_visible()
    kinds = page.locator("#timeline .kind").all_inner_texts()
    assert kinds and all(k in ("提交申请", "审批同意", "审批通过", "审批被拒(规则)", "驳回", "用印结束", "过期", "授权失败") for k in kinds)

    with page.expect_download() as download:
        page.goto(site.url + "/ledger")
        page.check("input[name=anomaly]")
        page.click("#ledger-filter button[type=submit]")
        page.click("#export")
    raw = Path(download.value.path()).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM, so Excel shows the Chinese
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0][:4] == ["序号", "时间(北京时间)", "类型", "类型名称"]
    assert rows[1:] and all(r[6] for r in rows[1:]) and any(r[2] == "seal.locked_press" and r[6] == "锁定时按压" for r in rows[1:])
    # Date filters: nothing before the epoch of this test run, everything today.
    none = page.request.get(site.url + "/api/ledger?until=2000-01-01").json()
    assert none["entries"] == []
    # Read-only: a supervisor cannot approve.
    refused = page.request.post(f"{site.url}/api/requests/{pending['id']}/approve", headers={"X-CSRF-Token": csrf(page, site)})
    assert refused.status == 403 and "没有审批权限" in refused.json()["error"]["message"]
    assert status_of(site, pending["id"]) == "pending"


def test_device_page_shows_lock_counters_firmware_and_online(site: Site, users: Users) -> None:
    page = users.page("wangfang", phone=True)
    page.goto(site.url + "/devices")
    card = page.locator(f"#device-{DEVICE}")
    expect(card).to_contain_text("在线")
    expect(card.locator(f"#lock-{DEVICE}")).to_contain_text("已上锁")
    state = site.board.control.state()
    expect(card.locator(f"#total-{DEVICE}")).to_have_text(str(state["presses_total"]))
    fw = state["firmware"]["fw"]
    expect(card).to_contain_text(fw)
    expect(card).to_contain_text("最近事件")
    assert page.locator(f"#press-{DEVICE}").count() == 0  # a real edge: no simulated press button
    shot(page, "phone-device")
    devices = page.request.get(site.url + "/api/devices").json()
    assert devices[0]["online"] is True and devices[0]["lock"] == "locked" and devices[0]["fw"] == fw


def test_pages_fit_a_phone_and_assets_are_local(site: Site, browser: Browser, contexts: list[BrowserContext]) -> None:
    c = context(browser, contexts, phone=True)
    outside: list[str] = []
    c.on("request", lambda r: outside.append(r.url) if not r.url.startswith((site.url, "data:", "blob:")) else None)
    page = login(c, site, "jiandu")
    for path in ("/ledger", "/requests", "/devices", "/account", "/search?q=合同&flag=any"):
        page.goto(site.url + path)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 360, f"{path} is {width}px wide on a 360px screen"
    assert outside == []
    manifest = page.request.get(site.url + "/manifest.webmanifest")
    assert manifest.ok and json.loads(manifest.body())["display"] == "standalone"
    sw = page.request.get(site.url + "/sw.js")
    assert sw.ok and "showNotification" in sw.text()
    openapi = page.request.get(site.url + "/openapi.json").json()
    assert "/api/requests/{request_id}/approve" in openapi["paths"] and not any(not p.startswith("/api/") for p in openapi["paths"])
    desktop = login(context(browser, contexts), site, "jiandu")  # a fresh context: this one has a listener
    desktop.goto(site.url + "/ledger")
    shot(desktop, "desktop-ledger")


def test_a_status_change_before_the_first_update_is_shown(site: Site, users: Users) -> None:
    """The request page was rendered pending; the rejection lands before its first live update arrives (the
    update is held back until then): the page shows 已驳回 without a reload, and keeps no approve button."""
    applicant = users.page("liming")
    request_id = file_by_api(applicant, site, "首次刷新前状态变化")["id"]
    watcher = users.page("chenjing", phone=True)
    live = f"{site.url}/requests/{request_id}/live"
    held: list[Any] = []
    watcher.route(live, lambda route: held.append(route))  # the first update waits here until the status has changed
    with watcher.expect_request(live):
        watcher.goto(f"{site.url}/requests/{request_id}")
    expect(watcher.locator("#status-badge")).to_have_text("待审批")
    approver = users.page("zhangwei")
    response = approver.request.post(
        f"{site.url}/api/requests/{request_id}/reject", headers={"X-CSRF-Token": csrf(approver, site)},
        data={"reason": "与原件不符"},
    )  # fmt: skip
    assert response.status == 200, response.text()
    assert status_of(site, request_id) == "rejected"  # nothing changes after this: only the held update can show it
    (first,) = held  # no second poll while the first is out
    first.continue_()
    watcher.unroute(live)
    expect(watcher.locator("#status-badge")).to_have_text("已驳回")
    expect(watcher.locator("#live")).to_contain_text("驳回：与原件不符")
    expect(watcher.locator("#approve")).to_have_count(0)


def test_the_approve_bar_is_on_a_phones_first_screen(site: Site, users: Users) -> None:
    """同意 and 驳回 are fixed at the bottom of a 360-px screen: an approver taps without scrolling past the original."""
    applicant = users.page("liming")
    request_id = file_by_api(applicant, site, "手机审批不用滚动")["id"]
    approver = users.page("zhangwei", phone=True)
    approver.goto(f"{site.url}/requests/{request_id}")
    viewport = approver.viewport_size
    assert viewport is not None
    for button in ("#approve", "#to-reject"):
        box = approver.locator(button).bounding_box()
        assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"], (button, box)
        assert box["height"] >= 44  # a thumb's tap target
    approver.click("#approve")
    expect(approver.locator(".flash.ok")).to_contain_text("您已同意")
