"""Accounts and logins against hostile insiders and guessers (issue 12).

An admin must not be able to approve in someone else's name: one account per roster person,
every account change in the ledger with the admin who made it, an admin-set password changed by its
owner before any approval, each approval naming the account. Logins: attempts counted before the
password hash runs, limited per account and per address with a growing delay (no lockout anyone can
trigger for someone else), X-Forwarded-For believed only from a configured proxy. Weak passwords are
refused, anonymous visitors store nothing, and refusals cannot flood the ledger.

Each test fails on the main branch from before these rules (checked by running it there).
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from edge_support import SMALL, document, ledger_rows, write_config, writer  # noqa: F401  (writer is a fixture)

from edge.agent import EdgeAgent
from edge.kernel import accounts as A
from edge.kernel.accounts import host_operator
from edge.kernel.config import load_config
from edge.kernel.errors import ConfigError
from edge.kernel.routing import RefusalBudget
from edge.kernel.websettings import WebSettings
from edge.seal import projection as P
from edge.web import auth as web_app
from edge.web.accounts import check_account, create_account
from edge.web.app import create_app
from edge.web.ledgerview import LedgerReader
from edge.web.server import start_console
from edge.web.service import Console
from edge.web.store import WebStore
from qinglian.passwords import check_new_password

PASSWORD = "Seal-desk-2026"
ADMIN = "guanli"  # the village's account administrator
SETTINGS = WebSettings(
    enabled=True, login_max_failures=5, login_ip_max_failures=20, login_account_max_failures=50,
    login_backoff_s=30.0, login_backoff_max_s=900.0,
)  # fmt: skip


class Clock:
    """The console store's clock, moved by the tests instead of sleeping."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


class Client:
    """One browser or API client of the console, from one client address."""

    def __init__(self, app: Any, address: str) -> None:
        transport = httpx.ASGITransport(app=app, client=(address, 40000))
        self.http = httpx.AsyncClient(transport=transport, base_url="http://console.test")
        self.csrf = ""

    async def login(self, username: str, password: str = PASSWORD) -> httpx.Response:
        r = await self.http.post("/api/login", json={"username": username, "password": password})
        if r.status_code == 200:
            self.csrf = r.json()["csrf_token"]
        return r

    async def page_login(self, username: str, password: str = PASSWORD) -> httpx.Response:
        form = await self.http.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert token, form.text
        r = await self.http.post("/login", data={"username": username, "password": password, "csrf_token": token.group(1), "next": "/"})
        me = await self.http.get("/api/me")
        if me.status_code == 200:
            self.csrf = me.json()["csrf_token"]
        return r

    async def post(self, path: str, **kw: Any) -> httpx.Response:
        return await self.http.post(path, headers={"X-CSRF-Token": self.csrf}, **kw)

    async def form(self, path: str, data: dict[str, Any]) -> httpx.Response:
        return await self.http.post(path, data={**data, "csrf_token": self.csrf})


@dataclass
class Site:
    agent: EdgeAgent
    store: WebStore
    app: Any
    clock: Clock
    clients: list[Client]

    def client(self, address: str = "10.0.0.1") -> Client:
        made = Client(self.app, address)
        self.clients.append(made)
        return made

    async def seed(self, username: str, roles: list[str], person: str | None, villages: list[str] | None = None) -> None:
        """An account whose owner chose its password (as the demo's are), recorded by the host's operator."""
        new = check_account(self.agent.config, username, None, roles, person, villages)
        await create_account(self.store, self.agent.config, new, PASSWORD, host_operator(), self.agent.record_account, own_password=True)

    async def admin(self) -> Client:
        await self.seed(ADMIN, ["admin"], None)
        admin = self.client("10.0.0.2")
        assert (await admin.login(ADMIN)).status_code == 200
        return admin

    async def entries(self, kind: str) -> list[dict[str, Any]]:
        return [e.body for e in await self.agent.ledger.entries_of_kind(kind)]

    async def file(self) -> str:
        return (await self.agent.file_request("liming", "村道修缮证明", "official", 1, document(self.agent.config.data_dir.parent / "docs"), SMALL)).id

    async def session_rows(self) -> int:
        async with self.store.conn.execute("SELECT COUNT(*) FROM sessions") as cur:
            row = await cur.fetchone()
        assert row is not None
        return int(row[0])


@pytest.fixture
async def site(writer: EdgeAgent) -> AsyncIterator[Site]:
    clock = Clock()
    store = await WebStore.open(writer.config.data_dir, clock=clock)
    ledger = LedgerReader(writer.config.data_dir)
    made = Site(writer, store, create_app(Console(writer, store, SETTINGS), ledger), clock, [])
    yield made
    for c in made.clients:
        await c.http.aclose()
    await ledger.close()
    await store.close()


def new_account(username: str, person: str, roles: tuple[str, ...] = ("approver",), password: str = PASSWORD) -> dict[str, Any]:
    return {"username": username, "name": "", "roles": list(roles), "person": person, "villages": "测试村", "password": password}


# -- one account per person, changes in the ledger, the owner's own password -----------------------------


async def test_a_second_account_for_one_person_is_refused(site: Site) -> None:
    admin = await site.admin()
    assert (await admin.form("/admin/users", new_account("zw", "zhangwei"))).status_code == 303
    second = await admin.form("/admin/users", new_account("zw-phone", "zhangwei"))
    assert second.status_code == 400 and "张伟(zhangwei) 已有账号 zw" in second.text and "每人只能有一个账号" in second.text
    assert [u.username for u in await site.store.users() if u.person == "zhangwei"] == ["zw"]


def test_the_cli_refuses_a_second_account_and_records_the_host_operator(tmp_path: Path) -> None:
    config = write_config(tmp_path, "socket://127.0.0.1:9")

    def add(username: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "qinglian.cli", "web", "user", "add", username, "--role", "approver", "--person", "zhangwei",
             "--password-stdin", "--config", str(config)],
            input=PASSWORD + "\n", capture_output=True, text=True, timeout=60,
        )  # fmt: skip

    assert add("zw").returncode == 0
    second = add("zw2")
    assert second.returncode == 1 and "已有账号 zw" in second.stderr and "每人只能有一个账号" in second.stderr
    created = [e["body"] for e in ledger_rows(load_config(config).data_dir, A.ACCOUNT_CREATED)]
    assert [(b["username"], b["person"], b["by"], b["must_change_password"]) for b in created] == [("zw", "zhangwei", host_operator(), True)]


async def test_an_admin_made_account_cannot_approve_until_its_owner_sets_a_password(site: Site) -> None:
    admin = await site.admin()
    assert (await admin.form("/admin/users", new_account("zw", "zhangwei"))).status_code == 303
    rid = await site.file()

    owner = site.client("10.0.0.7")
    landed = await owner.page_login("zw")
    assert landed.status_code == 303 and landed.headers["location"] == "/account"  # the page flow: set a password first
    account = await owner.http.get("/account")
    assert 'id="must-change"' in account.text and "才能审批" in account.text
    assert (await owner.http.get("/")).headers["location"] == "/account"
    refused = await owner.post(f"/api/requests/{rid}/approve")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "password_change_required"
    assert "修改为只有您自己知道的密码" in refused.json()["error"]["message"]
    page = await owner.form(f"/requests/{rid}/approve", {})
    assert page.status_code == 303 and page.headers["location"] == "/account"
    assert await site.entries(P.APPROVAL) == []

    same = await owner.form("/account/password", {"current": PASSWORD, "new": PASSWORD, "again": PASSWORD})
    assert same.status_code == 400 and "不能与当前密码相同" in same.text  # the admin's password kept is not the owner's
    own = "Zhang-own-phrase-88"
    assert (await owner.form("/account/password", {"current": PASSWORD, "new": own, "again": own})).status_code == 303
    owner.csrf = (await owner.http.get("/api/me")).json()["csrf_token"]
    approved = await owner.post(f"/api/requests/{rid}/approve")
    assert approved.status_code == 200 and approved.json()["approvals"][0]["person"] == "zhangwei"


async def test_account_changes_are_in_the_ledger_with_the_admin(site: Site) -> None:
    admin = await site.admin()
    assert (await admin.form("/admin/users", new_account("zw", "zhangwei"))).status_code == 303
    assert (await admin.form("/admin/users/zw/disable", {})).status_code == 303
    assert (await site.client().login("zw")).status_code == 401  # disabled
    assert (await admin.form("/admin/users/zw/enable", {})).status_code == 303
    assert (await admin.form("/admin/users/zw/password", {"password": "Reset-by-admin-7"})).status_code == 303
    owner = site.client("10.0.0.7")
    assert (await owner.page_login("zw", "Reset-by-admin-7")).headers["location"] == "/account"
    assert (await owner.form("/account/password", {"current": "Reset-by-admin-7", "new": "Mine-only-42x", "again": "Mine-only-42x"})).status_code == 303

    changes = [(e.kind, e.body["username"], e.body["by"]) for e in await site.agent.ledger.entries() if e.kind in A.ACCOUNT_KINDS]
    assert changes == [
        (A.ACCOUNT_CREATED, ADMIN, host_operator()), (A.ACCOUNT_CREATED, "zw", ADMIN), (A.ACCOUNT_DISABLED, "zw", ADMIN),
        (A.ACCOUNT_ENABLED, "zw", ADMIN), (A.ACCOUNT_PASSWORD_RESET, "zw", ADMIN), (A.ACCOUNT_PASSWORD_CHANGED, "zw", "zw"),
    ]  # fmt: skip
    (created,) = [b for b in await site.entries(A.ACCOUNT_CREATED) if b["username"] == "zw"]
    assert (created["person"], created["roles"], created["must_change_password"]) == ("zhangwei", ["approver"], True)

    await site.seed("jiandu", ["supervisor"], None, ["*"])
    reader = site.client("10.0.0.9")
    await reader.login("jiandu")
    shown = (await reader.http.get("/api/ledger", params={"kind": "account.*"})).json()["entries"]
    summaries = [e["summary"] for e in shown]
    assert f"账号 {ADMIN} 创建账号 zw，名册人员 张伟(zhangwei)（审批人），本人须先改密码才能审批" in summaries
    assert f"账号 {ADMIN} 管理员重设密码 zw，名册人员 张伟(zhangwei)" in summaries


async def test_an_approval_entry_names_the_account(site: Site) -> None:
    await site.seed("zw", ["approver"], "zhangwei")
    rid = await site.file()
    phone = site.client()
    await phone.login("zw")
    assert (await phone.post(f"/api/requests/{rid}/approve")).status_code == 200
    (approval,) = await site.entries(P.APPROVAL)
    assert (approval["approver"], approval["account"]) == ("zhangwei", "zw")
    await site.agent.approve(rid, "chenjing")  # at this host, in-process: the host's operator acted
    assert [b["account"] for b in await site.entries(P.APPROVAL)] == ["zw", host_operator()]


# -- logins: counted before the hash, per account and per address, no lockout for others ------------------


async def test_400_parallel_wrong_guesses_check_at_most_the_limit(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    await site.seed("zw", ["approver"], "zhangwei")
    checked: list[str] = []

    def counting(password: str, stored: str) -> bool:
        checked.append(password)
        return False

    monkeypatch.setattr(web_app, "verify_password", counting)
    guesser = site.client("10.6.6.6")
    answers = await asyncio.gather(*(guesser.http.post("/api/login", json={"username": "zw", "password": f"guess-{i}"}) for i in range(400)))
    assert len(checked) <= SETTINGS.login_max_failures
    assert sorted({a.status_code for a in answers}) == [401, 429]
    assert sum(a.status_code == 429 for a in answers) >= 400 - SETTINGS.login_max_failures


async def test_an_attacker_cannot_lock_the_owner_out_from_another_address(site: Site) -> None:
    await site.seed("zw", ["approver"], "zhangwei")
    attacker = site.client("10.6.6.6")
    codes = [(await attacker.login("zw", f"guess-{i}")).status_code for i in range(30)]
    assert codes[:5] == [401] * 5 and set(codes[5:]) == {429}
    assert (await attacker.login("zw")).status_code == 429  # even the right password waits, from there
    assert (await site.client("10.0.0.7").login("zw")).status_code == 200  # the owner, from the office

    # A growing delay for the guesser, never a lockout: after the wait one more try is checked, then a longer wait.
    site.clock.now += SETTINGS.login_backoff_s + 1
    assert (await attacker.login("zw", "guess-again")).status_code == 401
    blocked = await attacker.login("zw", "guess-more")
    assert blocked.status_code == 429 and f"请 {int(2 * SETTINGS.login_backoff_s) + 1} 秒后再试" in blocked.json()["error"]["message"]
    # The host's clock corrected a day back (NTP): the guesser waits the delay it earned, not a day more.
    site.clock.now -= 86400
    stepped = await attacker.login("zw", "guess-more")
    assert stepped.status_code == 429 and f"请 {int(2 * SETTINGS.login_backoff_s) + 1} 秒后再试" in stepped.json()["error"]["message"]
    site.clock.now += 2 * SETTINGS.login_backoff_s + 1
    assert (await attacker.login("zw", "guess-after")).status_code == 401


async def test_x_forwarded_for_is_believed_only_from_a_configured_proxy(writer: EdgeAgent, tmp_path: Path) -> None:
    def names(count: int) -> list[str]:
        return [f"nobody{i}" for i in range(count)]  # a new account name each time: only the address counts up

    async def guesses(server_url: str, forwarded: list[str]) -> list[int]:
        async with httpx.AsyncClient(base_url=server_url) as client:
            return [
                (await client.post("/api/login", json={"username": name, "password": "x"}, headers={"X-Forwarded-For": address})).status_code
                for name, address in zip(names(len(forwarded)), forwarded, strict=True)
            ]

    limit = 4
    settings = replace(SETTINGS, host="127.0.0.1", port=0, login_ip_max_failures=limit)
    made_up = [f"203.0.113.{i}" for i in range(limit + 1)]  # a fresh address in the header for every guess
    server = await start_console(writer, settings)
    try:
        assert await guesses(server.url, made_up) == [401] * limit + [429]  # counted against the real address
    finally:
        await server.close()

    proxied = await start_console(writer, replace(settings, trusted_proxies=(ipaddress.ip_network("127.0.0.1/32"),)))
    try:
        assert await guesses(proxied.url, [f"198.51.100.{i}" for i in range(limit + 1)]) == [401] * (limit + 1)  # each its own client
        assert (await guesses(proxied.url, ["198.51.100.200"] * (limit + 1)))[-1] == 429
    finally:
        await proxied.close()

    def config(web: str) -> Any:
        path = write_config(tmp_path / f"c{len(web)}", "socket://127.0.0.1:9")
        path.write_text(path.read_text(encoding="utf-8") + web, encoding="utf-8")
        return load_config(path)

    assert [str(n) for n in config('[web]\ntrusted_proxies = ["127.0.0.1", "10.8.0.0/16"]\n').web.trusted_proxies] == ["127.0.0.1/32", "10.8.0.0/16"]
    assert config("[web]\n").web.trusted_proxies == ()
    with pytest.raises(ConfigError, match="trusted_proxies"):
        config('[web]\ntrusted_proxies = ["proxy.local"]\n')


# -- weak passwords, anonymous sessions, refusal spam ----------------------------------------------------


async def test_weak_passwords_are_refused(site: Site) -> None:
    names = ["zw", "张伟", "zhangwei"]
    for weak, why in [("12345678", "常见"), ("password", "常见"), ("Password1", "常见"), ("woaini1314", "常见"), ("aaaaaaaaaa", "常见"),
                      ("short7", "至少"), ("zhangwei2024", "用户名或姓名"), ("我是张伟的登录密码", "用户名或姓名")]:  # fmt: skip
        problem = check_new_password(weak, names)
        assert problem is not None and why in problem, weak
    assert check_new_password("Tea-field-Hill-51", names) is None

    admin = await site.admin()
    refused = await admin.form("/admin/users", new_account("zw", "zhangwei", password="12345678"))
    assert refused.status_code == 400 and "密码太常见" in refused.text and await site.store.user_by_name("zw") is None
    await site.seed("li", ["applicant"], "liming")
    owner = site.client()
    await owner.page_login("li")
    common = await owner.form("/account/password", {"current": PASSWORD, "new": "qwertyuiop", "again": "qwertyuiop"})
    assert common.status_code == 400 and "密码太常见" in common.text


async def test_anonymous_login_pages_store_no_session_and_the_form_keeps_its_csrf_check(site: Site) -> None:
    visitor = site.client()
    for _ in range(2000):
        visitor.http.cookies.clear()  # a script that keeps no cookies: each visit a stranger
        assert (await visitor.http.get("/login")).status_code == 200
    assert await site.session_rows() == 0

    await site.seed("li", ["applicant"], "liming")
    form = await visitor.http.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token
    forged = await visitor.http.post("/login", data={"username": "li", "password": PASSWORD, "csrf_token": "x" + token.group(1)})
    assert forged.status_code == 403
    other = site.client()  # a token copied into another browser, which lacks the cookie, is no good either
    copied = await other.http.post("/login", data={"username": "li", "password": PASSWORD, "csrf_token": token.group(1)})
    assert copied.status_code in (303, 403) and "qinglian_session" not in copied.headers.get("set-cookie", "")
    done = await visitor.http.post("/login", data={"username": "li", "password": PASSWORD, "csrf_token": token.group(1), "next": "/requests"})
    assert done.status_code == 303 and done.headers["location"] == "/requests" and await site.session_rows() == 1


async def test_approval_refused_entries_are_limited_per_person_and_request(site: Site) -> None:
    clock = Clock()
    site.agent.desk.refusals = RefusalBudget(clock=clock)
    await site.seed("zw", ["approver"], "zhangwei")
    rid = await site.file()
    phone = site.client()
    await phone.login("zw")
    assert (await phone.post(f"/api/requests/{rid}/approve")).status_code == 200
    answers = [(await phone.post(f"/api/requests/{rid}/approve")).json()["error"]["code"] for _ in range(50)]
    assert answers == ["already_approved"] * 50  # each still told why
    refusals = await site.entries(P.APPROVAL_REFUSED)
    limit = site.agent.desk.refusals.per_request
    assert len(refusals) == limit
    assert [(b["person"], b["request_id"], b["account"], b["attempt"]) for b in refusals] == [("zhangwei", rid, "zw", n) for n in range(1, limit + 1)]
    other = await site.file()  # another request is counted on its own
    await phone.post(f"/api/requests/{other}/approve")
    await phone.post(f"/api/requests/{other}/approve")
    assert len(await site.entries(P.APPROVAL_REFUSED)) == limit + 1
    clock.now += site.agent.desk.refusals.window_s + 1  # an hour on, one more is recorded
    await phone.post(f"/api/requests/{rid}/approve")
    assert len(await site.entries(P.APPROVAL_REFUSED)) == limit + 2


async def test_accounts_from_before_the_rule_must_set_their_own_password(tmp_path: Path) -> None:
    old = sqlite3.connect(tmp_path / "web.sqlite3")  # the users table as it was: no must_change_password
    old.execute(
        "CREATE TABLE users (id INTEGER PRIMARY KEY, username TEXT NOT NULL UNIQUE COLLATE NOCASE, name TEXT NOT NULL,"
        " roles TEXT NOT NULL, person TEXT, villages TEXT NOT NULL, password TEXT NOT NULL, disabled INTEGER NOT NULL DEFAULT 0,"
        " created_at TEXT NOT NULL, password_at TEXT NOT NULL)"
    )
    old.execute("INSERT INTO users VALUES (1, 'zw', '张伟', '[\"approver\"]', 'zhangwei', '[\"测试村\"]', 'scrypt$x', 0, 't', 't')")
    old.commit()
    old.close()
    store = await WebStore.open(tmp_path)
    try:
        account = await store.user_by_name("zw")
        assert account is not None and account.must_change_password  # its password was an admin's
    finally:
        await store.close()
