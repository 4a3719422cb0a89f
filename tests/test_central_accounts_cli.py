"""``qinglian central user add|passwd|list|disable|enable`` on SQLite and PostgreSQL: the --json shapes, exit codes
as the edge's (0 done, 1 refused with nothing changed, 2 unusable arguments or database), and that what the
command does is what a login then meets."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from typing import Any

from central_support import REPO, db_url  # noqa: F401 - fixtures

from central.accounts.store import AccountStore
from central.store import CentralStore

PASSWORD = "qingshan-lushui-2024"


def qinglian(*args: str, stdin: str = "") -> tuple[int, Any, str]:
    """(exit code, the JSON printed or the text, stderr)."""
    done = subprocess.run(
        [sys.executable, "-m", "qinglian.cli", "central", "user", *args], input=stdin, capture_output=True,
        text=True, cwd=REPO, timeout=120, check=False,
    )  # fmt: skip
    try:
        out: Any = json.loads(done.stdout)
    except ValueError:
        out = done.stdout
    return done.returncode, out, done.stderr


def logs_in(db: str, username: str, password: str) -> bool:
    async def check() -> bool:
        store = await CentralStore.open(db)
        try:
            account, ok = await AccountStore(store.db).check_login(username, password)
        finally:
            await store.close()
        return ok and account is not None and not account.disabled

    return asyncio.run(check())


def test_user_commands_with_json(db_url: str) -> None:
    db = ["--db", db_url]
    code, out, _ = qinglian("add", "zhangxian", "--role", "county_officer", "--scope", "county:萧山区",
                            "--name", "张县", "--generate", "--json", *db)  # fmt: skip
    assert code == 0 and out["ok"] is True and len(out["password"]) >= 12
    assert {k: out["account"][k] for k in ("username", "name", "role", "scope", "disabled")} == {
        "username": "zhangxian", "name": "张县", "role": "county_officer", "scope": "county:萧山区", "disabled": False,
    }  # fmt: skip
    assert out["account"]["created_by"].startswith("cli:")
    assert logs_in(db_url, "zhangxian", out["password"])

    code, out, _ = qinglian("add", "hezhen", "--role", "township_officer", "--scope", "township:萧山区/河上镇",
                            "--name", "何镇", "--password-stdin", "--json", *db, stdin=PASSWORD + "\n")  # fmt: skip
    assert code == 0 and "password" not in out and logs_in(db_url, "hezhen", PASSWORD)

    code, out, _ = qinglian("list", "--json", *db)
    assert code == 0 and [(a["username"], a["scope"]) for a in out] == [
        ("zhangxian", "county:萧山区"), ("hezhen", "township:萧山区/河上镇")
    ]

    code, out, _ = qinglian("disable", "hezhen", "--json", *db)
    assert code == 0 and out == {"ok": True, "account": {**out["account"], "disabled": True}}
    assert not logs_in(db_url, "hezhen", PASSWORD)
    code, out, _ = qinglian("enable", "hezhen", "--json", *db)
    assert code == 0 and out["account"]["disabled"] is False and logs_in(db_url, "hezhen", PASSWORD)

    code, out, _ = qinglian("passwd", "hezhen", "--password-stdin", "--json", *db, stdin="another-long-phrase-9\n")
    assert code == 0 and out == {"ok": True, "username": "hezhen"}
    assert logs_in(db_url, "hezhen", "another-long-phrase-9") and not logs_in(db_url, "hezhen", PASSWORD)

    code, text, err = qinglian("list", *db)
    assert code == 0 and "zhangxian" in text and "township:萧山区/河上镇" in text, (code, text, err)


def test_refusals_exit_1_and_change_nothing(db_url: str) -> None:
    db = ["--db", db_url]
    refusals = [
        (["add", "li", "--role", "township_officer", "--scope", "county:萧山区", "--name", "李", "--generate"], "范围"),
        (["add", "li", "--role", "county_officer", "--scope", "county:萧山区", "--name", "李", "--password-stdin"], "太常见"),
        (["passwd", "nobody", "--generate"], "没有账号"),
        (["disable", "nobody"], "没有账号"),
    ]
    for args, message in refusals:
        code, out, err = qinglian(*args, "--json", *db, stdin="password\n")
        assert code == 1 and out["ok"] is False and message in out["error"]["message"], (args, out)
        assert message in err
    code, out, _ = qinglian("list", "--json", *db)
    assert (code, out) == (0, [])
    # No terminal to type a password on: refused rather than hanging.
    code, out, _ = qinglian("add", "li", "--role", "county_officer", "--scope", "county:萧山区", "--name", "李", "--json", *db)
    assert code == 1 and out["error"]["code"] == "no_password"


def test_unusable_arguments_exit_2() -> None:
    code, _, err = qinglian("list", "--db", "mysql://nowhere/db")
    assert code == 2 and "mysql" in err
    code, _, _ = qinglian("add", "li", "--role", "supplier", "--name", "李")  # suppliers apply at /register
    assert code == 2
