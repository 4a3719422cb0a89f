"""The demo's central accounts, on SQLite and PostgreSQL: made through the real steps (the supplier and bank apply
and the county officer approves), nothing added on a second run, and each lands on its own 我的工作."""

from __future__ import annotations

from central_accounts_support import Central, central, login  # noqa: F401 - fixtures
from central_support import db_url, store  # noqa: F401 - fixtures

from central.accounts.demo import DEMO_CENTRAL_ACCOUNTS, ensure_demo_accounts

PASSWORD = "Demo-pass-2718"


async def test_the_demo_accounts_are_made_once_and_each_lands_on_its_work(central: Central) -> None:
    await ensure_demo_accounts(central.accounts, "萧山区", "河上镇", PASSWORD)
    first = await central.accounts.list_accounts()
    await ensure_demo_accounts(central.accounts, "萧山区", "河上镇", PASSWORD)
    assert await central.accounts.list_accounts() == first
    assert sorted(a.username for a in first) == sorted(u for u, _, _ in DEMO_CENTRAL_ACCOUNTS)
    landing = {"hezhen": "乡镇审核/纪检", "xianguan": "县级监管", "zhongxin": "系统管理员", "lvshan": "可参与的采购",
               "nongshang": "开放给银行的存放招标"}  # fmt: skip
    for username, role, _ in DEMO_CENTRAL_ACCOUNTS:
        async with central.client() as client:
            reply = await login(client, username, PASSWORD)
            assert reply.status_code == 303, username
            work = await client.get("/work")
            assert work.status_code == 200 and landing[username] in work.text, username
        application = await central.accounts.application_of(username)
        assert (application is None) == (role not in ("supplier", "bank"))
        assert application is None or application.status == "approved"
