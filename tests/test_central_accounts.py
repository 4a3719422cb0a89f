"""Accounts at the central store, on SQLite and PostgreSQL: logging in and out through the form, CSRF on every
form, a fresh session at each login, sessions that expire, login backoff, disabling, and the read-only supervisor
tokens still working beside accounts."""

from __future__ import annotations

import pytest
from central_accounts_support import (  # noqa: F401 - fixtures
    COUNTY,
    PASSWORD,
    TOWNSHIP,
    Central,
    central,
    csrf_of,
    login,
    staff,
)
from central_support import db_url, store  # noqa: F401 - fixtures

from central.accounts.shell import SESSION_COOKIE
from central.accounts.store import (
    LOGIN_MAX_FAILURES,
    SESSION_IDLE_S,
    SESSION_MAX_S,
    AccountError,
)


async def test_login_logout_through_the_form(central: Central) -> None:
    await staff(central, "zhangxian", "county_officer", f"county:{COUNTY}", "张县长")
    async with central.client() as client:
        assert (await client.get("/work")).headers["location"] == "/login"
        reply = await login(client, "zhangxian")
        assert reply.status_code == 303 and reply.headers["location"] == "/work"
        cookie = reply.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie
        work = await client.get("/work")
        assert work.status_code == 200 and "我的工作" in work.text and "县级监管" in work.text
        assert "暂无待审核的申请" in work.text and "范围内尚无登记的村" in work.text
        # Logging out needs the session's CSRF token; then the session is gone on the server, not only the cookie.
        token = await csrf_of(client)
        old = client.cookies[SESSION_COOKIE]
        assert (await client.post("/logout", data={"csrf": "wrong"})).status_code == 403
        assert (await client.get("/work")).status_code == 200
        assert (await client.post("/logout", data={"csrf": token})).headers["location"] == "/login"
        assert await central.accounts.session_count("zhangxian") == 0
        client.cookies.set(SESSION_COOKIE, old)
        assert (await client.get("/work")).headers["location"] == "/login"


async def test_a_wrong_password_an_unknown_name_and_a_missing_form_token_are_refused(central: Central) -> None:
    await staff(central, "lizhen", "township_officer", f"township:{COUNTY}/{TOWNSHIP}")
    async with central.client() as client:
        assert (await login(client, "lizhen", "not-the-password-1")).status_code == 401
        assert (await login(client, "nobody", PASSWORD)).status_code == 401
        # No token, or a token this server did not sign: the form is shown again, nobody is logged in.
        bare = await client.post("/login", data={"username": "lizhen", "password": PASSWORD})
        assert bare.status_code == 403 and "页面已过期" in bare.text and SESSION_COOKIE not in client.cookies
        forged = "x.0000"
        client.cookies.set("qinglian_form", forged)
        reply = await client.post("/login", data={"username": "lizhen", "password": PASSWORD, "csrf": forged})
        assert reply.status_code == 403 and SESSION_COOKIE not in client.cookies
        assert await central.accounts.session_count("lizhen") == 0


async def test_each_form_after_login_needs_the_session_s_csrf_token(central: Central) -> None:
    await staff(central, "admin", "admin", "all", "管理员")
    async with central.client() as client:
        await login(client, "admin")
        new = {"username": "wangzhen", "name": "王镇", "role": "township_officer",
               "scope": f"township:{COUNTY}/{TOWNSHIP}", "password": PASSWORD}  # fmt: skip
        for token in (None, "", "forged-token"):
            data = new if token is None else {**new, "csrf": token}
            assert (await client.post("/admin/users", data=data)).status_code == 403
        assert await central.accounts.account("wangzhen") is None
        # Another session's token does not do either.
        async with central.client() as other:
            await login(other, "admin")
            foreign = await csrf_of(other, "/admin/users")
        assert (await client.post("/admin/users", data={**new, "csrf": foreign})).status_code == 403
        assert await central.accounts.account("wangzhen") is None
        done = await client.post("/admin/users", data={**new, "csrf": await csrf_of(client, "/admin/users")})
        assert done.status_code == 200 and "已创建账号 wangzhen" in done.text


async def test_a_fresh_session_at_each_login_and_sessions_expire(central: Central) -> None:
    await staff(central, "zhaozhen", "township_officer", f"township:{COUNTY}/{TOWNSHIP}")
    async with central.client() as client:
        client.cookies.set(SESSION_COOKIE, "planted-by-an-attacker", domain="central.local")
        await login(client, "zhaozhen")
        first = client.cookies[SESSION_COOKIE]
        assert first != "planted-by-an-attacker"
        await login(client, "zhaozhen")  # logging in again ends the session it came with
        assert client.cookies[SESSION_COOKIE] != first
        assert await central.accounts.session_count("zhaozhen") == 1
        # Idle past the limit: gone.
        central.clock.now += SESSION_IDLE_S + 1
        assert (await client.get("/work")).headers["location"] == "/login"
        # Used often but older than the limit: gone too.
        await login(client, "zhaozhen")
        logged_in_at = central.clock.now
        for _ in range(int(SESSION_MAX_S // SESSION_IDLE_S) + 2):
            central.clock.now += SESSION_IDLE_S - 60  # never idle for long
            if (await client.get("/work")).status_code != 200:
                break
        else:
            pytest.fail("a session outlived its maximum age")
        assert central.clock.now - logged_in_at > SESSION_MAX_S  # it lived until then, and no longer


async def test_login_attempts_back_off_per_account_and_address(central: Central) -> None:
    await staff(central, "qianxian", "county_officer", f"county:{COUNTY}")
    async with central.client("10.0.0.9") as guesser, central.client("10.0.0.7") as owner:
        for _ in range(LOGIN_MAX_FAILURES):
            assert (await login(guesser, "qianxian", "guess-guess-guess")).status_code == 401
        # Past the threshold, even the right password waits: the attempt is not even checked.
        refused = await login(guesser, "qianxian", PASSWORD)
        assert refused.status_code == 429 and "秒后再试" in refused.text
        assert await central.accounts.session_count("qianxian") == 0
        # The owner, from another address, is not kept out.
        assert (await login(owner, "qianxian")).status_code == 303
        central.clock.now += 3600
        assert (await login(guesser, "qianxian")).status_code == 303


async def test_a_clock_stepped_back_keeps_no_one_out_longer_than_their_delay(central: Central) -> None:
    await staff(central, "liuxian", "county_officer", f"county:{COUNTY}")
    async with central.client("10.0.0.5") as owner, central.client("10.0.0.6") as guesser:
        assert (await login(owner, "liuxian")).status_code == 303
        for _ in range(LOGIN_MAX_FAILURES):
            assert (await login(guesser, "liuxian", "guess-guess-guess")).status_code == 401
        central.clock.now -= 86400  # the host's clock is corrected a day back (NTP)
        # The owner's address had no delay: it is not made to wait the day out.
        assert (await login(owner, "liuxian")).status_code == 303
        # The guesser waits out the delay it earned, no more.
        refused = await login(guesser, "liuxian", PASSWORD)
        assert refused.status_code == 429 and "2 秒后再试" in refused.text
        central.clock.now += 2
        assert (await login(guesser, "liuxian")).status_code == 303


async def test_disabling_blocks_login_and_ends_sessions(central: Central) -> None:
    await staff(central, "admin", "admin", "all", "管理员")
    await staff(central, "sunzhen", "township_officer", f"township:{COUNTY}/{TOWNSHIP}")
    async with central.client() as admin, central.client() as officer:
        await login(admin, "admin")
        await login(officer, "sunzhen")
        assert (await officer.get("/work")).status_code == 200
        token = await csrf_of(admin, "/admin/users")
        done = await admin.post("/admin/users/sunzhen/disabled", data={"disabled": "1", "csrf": token})
        assert done.status_code == 200 and "已停用账号 sunzhen" in done.text
        assert (await officer.get("/work")).headers["location"] == "/login"
        refused = await login(officer, "sunzhen")
        assert refused.status_code == 401 and "此账号已停用" in refused.text
        # The administrator cannot lock themself out.
        own = await admin.post("/admin/users/admin/disabled", data={"disabled": "1", "csrf": token})
        assert own.status_code == 400 and not (await central.accounts.account("admin")).disabled  # type: ignore[union-attr]
        await admin.post("/admin/users/sunzhen/disabled", data={"disabled": "0", "csrf": token})
        assert (await login(officer, "sunzhen")).status_code == 303


async def test_a_new_password_ends_every_session(central: Central) -> None:
    await staff(central, "admin", "admin", "all", "管理员")
    await staff(central, "zhouzhen", "township_officer", f"township:{COUNTY}/{TOWNSHIP}")
    async with central.client() as admin, central.client() as officer:
        await login(admin, "admin")
        await login(officer, "zhouzhen")
        token = await csrf_of(admin, "/admin/users")
        weak = await admin.post("/admin/users/zhouzhen/password", data={"password": "12345678", "csrf": token})
        assert weak.status_code == 400 and "太常见" in weak.text
        assert (await officer.get("/work")).status_code == 200
        await admin.post("/admin/users/zhouzhen/password", data={"password": "another-long-phrase-9", "csrf": token})
        assert (await officer.get("/work")).headers["location"] == "/login"
        assert (await login(officer, "zhouzhen", "another-long-phrase-9")).status_code == 303


async def test_an_account_an_admin_made_sets_its_own_password_first(central: Central) -> None:
    await staff(central, "admin", "admin", "all", "管理员")
    new = {"username": "fengzhen", "name": "冯镇", "role": "township_officer",
           "scope": f"township:{COUNTY}/{TOWNSHIP}", "password": PASSWORD}  # fmt: skip
    async with central.client() as admin, central.client() as officer, central.client() as elsewhere:
        await login(admin, "admin")
        await admin.post("/admin/users", data={**new, "csrf": await csrf_of(admin, "/admin/users")})
        assert (await login(officer, "fengzhen")).headers["location"] == "/account"
        await login(elsewhere, "fengzhen")
        # Nothing else until then: pages lead to the account page, the API refuses.
        assert (await officer.get("/work")).headers["location"] == "/account"
        assert (await officer.get("/")).headers["location"] == "/account"
        refused = await officer.get("/api/v1/edges")
        assert refused.status_code == 403 and refused.json()["code"] == "must_change_password"
        token = await csrf_of(officer, "/account")
        for current, fresh, again, message in [
            ("wrong-current-1", "my-own-phrase-77", "my-own-phrase-77", "当前密码不正确"),
            (PASSWORD, "my-own-phrase-77", "my-own-phrase-78", "不一致"),
            (PASSWORD, PASSWORD, PASSWORD, "不能与当前密码相同"),
            (PASSWORD, "12345678", "12345678", "太常见"),
        ]:
            reply = await officer.post("/account/password", data={"current": current, "new": fresh, "again": again,
                                                                   "csrf": token})  # fmt: skip
            assert reply.status_code == 400 and message in reply.text
        no_token = await officer.post("/account/password", data={"current": PASSWORD, "new": "my-own-phrase-77",
                                                                 "again": "my-own-phrase-77"})  # fmt: skip
        assert no_token.status_code == 403
        done = await officer.post("/account/password", data={"current": PASSWORD, "new": "my-own-phrase-77",
                                                             "again": "my-own-phrase-77", "csrf": token})  # fmt: skip
        assert done.headers["location"] == "/work"
        assert (await officer.get("/work")).status_code == 200
        assert (await elsewhere.get("/work")).headers["location"] == "/login"  # the other session ended
        assert await central.accounts.session_count("fengzhen") == 1
        # An administrator's reset asks for the owner's own password again.
        await admin.post("/admin/users/fengzhen/password", data={"password": "reset-by-admin-5", "csrf": await csrf_of(admin, "/admin/users")})
        assert (await login(officer, "fengzhen", "reset-by-admin-5")).headers["location"] == "/account"


async def test_staff_accounts_are_checked_at_the_boundary(central: Central) -> None:
    cases = [
        ("ab c", "township_officer", f"township:{COUNTY}/{TOWNSHIP}", PASSWORD, "用户名"),
        ("wuzhen", "township_officer", f"county:{COUNTY}", PASSWORD, "township:名称"),
        ("wuzhen", "supplier", "", PASSWORD, "自行注册"),
        ("wuzhen", "admin", f"county:{COUNTY}", PASSWORD, "all"),
        ("wuzhen", "county_officer", f"county:{COUNTY}", "password", "太常见"),
        ("wuzhen", "county_officer", f"county:{COUNTY}", "wuzhen2024x", "用户名"),
    ]
    for username, role, scope, password, message in cases:
        with pytest.raises(AccountError, match=message):
            await central.accounts.create_staff(username, "吴镇", role, scope, password, "test")
    assert await central.accounts.list_accounts() == []
    await staff(central, "wuzhen", "county_officer", f"county:{COUNTY}")
    with pytest.raises(AccountError, match="已被使用"):
        await staff(central, "WuZhen", "county_officer", f"county:{COUNTY}")


async def test_supervisor_tokens_still_work_beside_accounts(central: Central) -> None:
    token = await central.store.issue_token(f"county:{COUNTY}", "县纪委")
    async with central.client() as client:
        assert (await client.get("/api/v1/edges", headers={"Authorization": f"Bearer {token}"})).json() == []
        assert (await client.get("/api/v1/edges")).status_code == 401
        assert (await client.post("/login", data={"token": "wrong"})).status_code == 401
        reply = await client.post("/login", data={"token": token})
        assert reply.status_code == 303 and "qinglian_supervisor" in reply.headers["set-cookie"]
        page = await client.get("/")
        assert page.status_code == 200 and "县纪委" in page.text
        assert (await client.post("/logout")).headers["location"] == "/login"
        assert (await client.get("/")).headers["location"] == "/login"

