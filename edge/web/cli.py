"""``qinglian web user add|passwd|list|disable|enable --config F``: console accounts.

Accounts live in ``data_dir/web.sqlite3`` beside the agent's database; this
works whether or not the agent is running. Every change is recorded in the
ledger first, by the data folder's writer (the running agent, or this command
when none runs), as done by the host's operator (``host:<OS user>``). A
password is read from the terminal (twice), from ``--password-stdin``, or
generated with ``--generate`` and printed once; its owner must change it at
their first login before the account may approve.
"""

from __future__ import annotations

import argparse
import getpass
import json
import secrets
import sys
from pathlib import Path
from typing import Any

from edge.agent import submit
from edge.kernel.accounts import ROLE_NAMES, ROLES, host_operator
from edge.kernel.clikit import EXIT_OK, config_command
from edge.kernel.config import EdgeConfig
from edge.kernel.errors import InputError
from edge.web.accounts import Record, check_account, create_account, reset_password, set_disabled
from edge.web.store import WebStore


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    web = subparsers.add_parser("web", help="网页控制台 web console: accounts")
    groups = web.add_subparsers(dest="web_command", required=True, metavar="WHAT")
    user = groups.add_parser("user", help="账号 console accounts: add, passwd, list, disable, enable")
    actions = user.add_subparsers(dest="user_command", required=True, metavar="ACTION")

    def common(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--config", type=Path, required=True, help="配置文件 the edge's TOML config")
        parser.add_argument("--json", action="store_true")

    def password_args(parser: argparse.ArgumentParser) -> None:
        how = parser.add_mutually_exclusive_group()
        how.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
        how.add_argument("--generate", action="store_true", help="generate a password and print it once")

    add = actions.add_parser("add", help="新建账号 add an account")
    common(add)
    add.add_argument("username")
    add.add_argument("--role", action="append", required=True, choices=ROLES, help="角色, repeatable: " + ", ".join(f"{r} {ROLE_NAMES[r]}" for r in ROLES))
    add.add_argument("--person", help="名册人员 the [[people]] id this account acts as (required for custodian/applicant/approver)")
    add.add_argument("--name", help="显示姓名 display name (default: the person's name)")
    add.add_argument("--village", action="append", help="可见的村 villages in scope, repeatable; '*' for all (supervisors, admins)")
    password_args(add)
    add.set_defaults(func=config_command(_add))

    passwd = actions.add_parser("passwd", help="重设密码 set a new password (ends the account's sessions and login delays; the owner must change it before approving)")
    common(passwd)
    passwd.add_argument("username")
    password_args(passwd)
    passwd.set_defaults(func=config_command(_passwd))

    listing = actions.add_parser("list", help="账号列表 list accounts")
    common(listing)
    listing.set_defaults(func=config_command(_list))

    for name, disabled in (("disable", True), ("enable", False)):
        parser = actions.add_parser(name, help=("停用" if disabled else "启用") + f" {name} an account")
        common(parser)
        parser.add_argument("username")
        parser.set_defaults(func=config_command(_toggle), disabled=disabled)


def _recorder(config: EdgeConfig) -> Record:
    """Ledger entries through the data folder's writer (this process has no agent of its own)."""

    async def record(kind: str, body: dict[str, Any]) -> Any:
        return await submit(config, "account", {"kind": kind, "body": body})

    return record


def _password(args: argparse.Namespace) -> tuple[str, bool]:
    """(password, generated)."""
    if args.generate:
        return secrets.token_urlsafe(12), True
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n"), False
    if not sys.stdin.isatty():
        raise InputError("没有终端可输入密码 no terminal: use --password-stdin or --generate", "no_password")
    first = getpass.getpass("密码 password: ")
    if getpass.getpass("再输入一次 again: ") != first:
        raise InputError("两次输入的密码不一致 the passwords differ", "bad_password")
    return first, False


async def _add(args: argparse.Namespace, config: EdgeConfig) -> int:
    new = check_account(config, args.username, args.name, args.role, args.person, args.village)
    password, generated = _password(args)
    store = await WebStore.open(config.data_dir)
    try:
        account = await create_account(store, config, new, password, host_operator(), _recorder(config))
    finally:
        await store.close()
    data = {"ok": True, "account": account.to_dict(), **({"password": password} if generated else {})}
    if args.json:
        print(json.dumps(data, ensure_ascii=False))
    else:
        roles = "、".join(ROLE_NAMES[r] for r in sorted(account.roles))
        print(f"已创建账号 created {account.username}（{account.name}，{roles}，范围 {', '.join(account.villages)}）；"
              "本人首次登录须改为自己的密码才能审批 the owner sets their own password at first login before approving")
        if generated:
            print(f"初始密码 password: {password}")
    return EXIT_OK


async def _passwd(args: argparse.Namespace, config: EdgeConfig) -> int:
    password, generated = _password(args)
    store = await WebStore.open(config.data_dir)
    try:
        await reset_password(store, config, args.username, password, host_operator(), _recorder(config))
    finally:
        await store.close()
    if args.json:
        print(json.dumps({"ok": True, "username": args.username, **({"password": password} if generated else {})}, ensure_ascii=False))
    else:
        print(f"已重设密码 password set for {args.username}; 其登录会话已全部退出 all its sessions ended; "
              "本人登录后须先改为自己的密码才能审批 the owner must set their own before approving")
        if generated:
            print(f"新密码 password: {password}")
    return EXIT_OK


async def _list(args: argparse.Namespace, config: EdgeConfig) -> int:
    store = await WebStore.open(config.data_dir)
    try:
        users = await store.users()
    finally:
        await store.close()
    if args.json:
        print(json.dumps([u.to_dict() for u in users], ensure_ascii=False))
    else:
        for u in users:
            roles = ",".join(sorted(u.roles))
            state = (" (停用 disabled)" if u.disabled else "") + (" (待本人改密码 owner must set a password)" if u.must_change_password else "")
            print(f"{u.username:<16} {u.name:<8} {roles:<28} person={u.person or '-':<10} villages={','.join(u.villages)}{state}")
        if not users:
            print("无账号 no accounts; add one: qinglian web user add NAME --role ... --config ...")
    return EXIT_OK


async def _toggle(args: argparse.Namespace, config: EdgeConfig) -> int:
    store = await WebStore.open(config.data_dir)
    try:
        await set_disabled(store, args.username, args.disabled, host_operator(), _recorder(config))
    finally:
        await store.close()
    print(json.dumps({"ok": True}) if args.json else f"{'已停用 disabled' if args.disabled else '已启用 enabled'} {args.username}")
    return EXIT_OK
