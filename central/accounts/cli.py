"""``qinglian central user add|passwd|list|disable|enable --db URL``: the central's staff accounts.

As ``qinglian web user`` on the edge: a password is read from the terminal (twice), from ``--password-stdin``,
or generated with ``--generate`` and printed once; ``--json`` prints ``{"ok": true, ...}``, or
``{"ok": false, "error": {"code", "message"}}`` with exit code 1 when refused (2: unusable arguments or
database). Suppliers and banks are not added here: they apply at ``/register`` and a county officer decides.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import secrets
import sys
from collections.abc import Awaitable, Callable
from typing import Any

EXIT_OK, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2
STAFF_ROLES = ("admin", "county_officer", "township_officer")  # central.accounts.roles.STAFF_ROLES (kept light)


def register(actions: Any, default_db: str) -> None:
    """Add the ``user`` group to ``qinglian central`` (``actions``: its subcommands)."""
    user = actions.add_parser("user", help="中心库账号 central accounts: add, passwd, list, disable, enable")
    user_actions = user.add_subparsers(dest="user_command", required=True, metavar="ACTION")

    def sub(name: str, help_text: str) -> argparse.ArgumentParser:
        parser = user_actions.add_parser(name, help=help_text)
        parser.add_argument("--db", default=default_db, help=f"数据库 sqlite:///PATH or postgresql://... (default {default_db})")
        parser.add_argument("--json", action="store_true")
        return parser

    def password_args(parser: argparse.ArgumentParser) -> None:
        how = parser.add_mutually_exclusive_group()
        how.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
        how.add_argument("--generate", action="store_true", help="generate a password and print it once")

    new = sub("add", "新建账号 add a staff account (suppliers and banks apply at /register)")
    new.add_argument("username")
    new.add_argument("--role", required=True, choices=STAFF_ROLES,
                     help="admin 系统管理员, county_officer 县级监管, township_officer 乡镇审核/纪检")  # fmt: skip
    new.add_argument("--scope", default="", help="county:NAME | township:COUNTY/NAME | all (admin)")
    new.add_argument("--name", required=True, help="姓名 display name")
    password_args(new)
    new.set_defaults(func=_add)

    passwd = sub("passwd", "重设密码 set a new password (ends the account's sessions)")
    passwd.add_argument("username")
    password_args(passwd)
    passwd.set_defaults(func=_passwd)

    sub("list", "账号列表 list accounts").set_defaults(func=_list)

    for name, disabled in (("disable", True), ("enable", False)):
        toggle = sub(name, ("停用 (ends its sessions)" if disabled else "启用") + f" {name} an account")
        toggle.add_argument("username")
        toggle.set_defaults(func=_toggle, disabled=disabled)


class _Refused(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def _password(args: argparse.Namespace) -> tuple[str, bool]:
    """(password, generated)."""
    if args.generate:
        return secrets.token_urlsafe(12), True
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n"), False
    if not sys.stdin.isatty():
        raise _Refused("no_password", "没有终端可输入密码 no terminal: use --password-stdin or --generate")
    first = getpass.getpass("密码 password: ")
    if getpass.getpass("再输入一次 again: ") != first:
        raise _Refused("bad_password", "两次输入的密码不一致 the passwords differ")
    return first, False


def _actor() -> str:
    """Who acts at the central's command line (an account's recorded creator)."""
    try:
        return "cli:" + getpass.getuser()
    except (KeyError, OSError):  # no passwd entry and no LOGNAME/USER (a bare container)
        return "cli:unknown"


def _run(args: argparse.Namespace, action: Callable[[Any], Awaitable[Any]], human: Callable[[Any], str]) -> int:
    """Open the store, run ``action`` with its accounts, print the result; refusals as the edge's CLI prints them."""
    from central.accounts.store import AccountError, AccountStore
    from central.db import DatabaseURLError
    from central.store import CentralStore

    async def go() -> Any:
        store = await CentralStore.open(args.db)
        try:
            return await action(AccountStore(store.db))
        finally:
            await store.close()

    try:
        result = asyncio.run(go())
    except (AccountError, _Refused) as exc:
        code = exc.code if isinstance(exc, _Refused) else "refused"
        if args.json:
            print(json.dumps({"ok": False, "error": {"code": code, "message": str(exc)}}, ensure_ascii=False))
        print(f"错误 error [{code}]: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except DatabaseURLError as exc:
        print(f"错误 error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        print(f"错误 error: 无法连接数据库 cannot reach the database: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(json.dumps(result, ensure_ascii=False) if args.json else human(result))
    return EXIT_OK


def _add(args: argparse.Namespace) -> int:
    async def action(accounts: Any) -> dict[str, Any]:
        password, generated = _password(args)
        made = await accounts.create_staff(args.username, args.name, args.role, args.scope, password, _actor())
        return {"ok": True, "account": made.to_dict(), **({"password": password} if generated else {})}

    def human(r: dict[str, Any]) -> str:
        a = r["account"]
        text = f"已创建账号 created {a['username']}（{a['name']}，{a['role']}，范围 scope {a['scope']}）"
        return text + (f"\n初始密码 password: {r['password']}" if "password" in r else "")

    return _run(args, action, human)


def _passwd(args: argparse.Namespace) -> int:
    async def action(accounts: Any) -> dict[str, Any]:
        password, generated = _password(args)
        await accounts.set_password(args.username, password)
        return {"ok": True, "username": args.username, **({"password": password} if generated else {})}

    def human(r: dict[str, Any]) -> str:
        text = f"已重设密码 password set for {r['username']}; 其登录会话已全部退出 all its sessions ended"
        return text + (f"\n新密码 password: {r['password']}" if "password" in r else "")

    return _run(args, action, human)


def _list(args: argparse.Namespace) -> int:
    async def action(accounts: Any) -> list[dict[str, Any]]:
        return [a.to_dict() for a in await accounts.list_accounts()]

    def human(rows: list[dict[str, Any]]) -> str:
        if not rows:
            return "尚无账号 no accounts"
        return "\n".join(
            f"{r['username']:<20} {r['role']:<17} {r['scope']:<28} {r['name']}{'  [停用 disabled]' if r['disabled'] else ''}"
            for r in rows
        )

    return _run(args, action, human)


def _toggle(args: argparse.Namespace) -> int:
    async def action(accounts: Any) -> dict[str, Any]:
        return {"ok": True, "account": (await accounts.set_disabled(args.username, args.disabled)).to_dict()}

    verb = "已停用 disabled (sessions ended)" if args.disabled else "已启用 enabled"
    return _run(args, action, lambda r: f"{verb} {r['account']['username']}")
