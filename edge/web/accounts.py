"""Creating, checking and changing console accounts (shared by ``qinglian web user`` and the admin page).

An account acts for one person of the roster, and that person has one account. Every change
(created — which binds it to its person —, disabled, enabled, password reset by an admin, password
changed by its owner) is first recorded in the ledger with who made it (``account.*`` entries),
then applied to the console's store. An account whose password an admin set approves nothing
until its owner has set their own (edge/web/service.py).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from edge.kernel import accounts as P
from edge.kernel.accounts import PERSON_ROLES, ROLE_NAMES, ROLES
from edge.kernel.config import EdgeConfig
from edge.kernel.errors import InputError
from edge.web.store import ALL_VILLAGES, Account, WebStore
from qinglian.passwords import check_new_password, hash_password

_USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{1,39}$")


@dataclass(frozen=True)
class NewAccount:
    username: str
    name: str
    roles: frozenset[str]
    person: str | None
    villages: tuple[str, ...]


def check_account(
    config: EdgeConfig, username: str, name: str | None, roles: Iterable[str], person: str | None, villages: Sequence[str] | None
) -> NewAccount:
    """Validate an account against the edge config's roster; ``InputError`` with a Chinese message otherwise."""
    username = (username or "").strip()
    if not _USERNAME_RE.match(username):
        raise InputError("用户名只能用字母、数字和 _ . -，2 到 40 个字符", "bad_username")
    role_set = frozenset(r.strip() for r in roles if r and r.strip())
    if not role_set:
        raise InputError(f"请至少选择一个角色：{', '.join(ROLES)}", "bad_role")
    unknown = sorted(role_set - set(ROLES))
    if unknown:
        raise InputError(f"未知角色 {', '.join(unknown)}；可用：{', '.join(ROLES)}", "bad_role")
    person = (person or "").strip() or None
    needs_person = role_set & PERSON_ROLES
    roster = None
    if person is not None:
        roster = config.people.get(person)
        if roster is None:
            raise InputError(f"配置的人员名册中没有 {person!r}", "unknown_person")
        missing = sorted(r for r in needs_person if not roster.has(r))
        if missing:
            raise InputError(
                f"{roster.name}({person}) 在名册中没有 {'、'.join(ROLE_NAMES[r] for r in missing)} 角色；"
                "账号的审批、申请、保管角色必须与名册一致",
                "role_not_in_roster",
            )
    elif needs_person:
        raise InputError(
            f"{'、'.join(ROLE_NAMES[r] for r in sorted(needs_person))} 账号必须对应名册中的人员（--person）", "person_required"
        )
    shown = (name or "").strip() or (roster.name if roster else username)
    village_list = tuple(v.strip() for v in (villages or ()) if v and v.strip())
    if not village_list:
        village_list = (roster.village if roster else config.village,)
    if len(village_list) > 1 and ALL_VILLAGES in village_list:
        village_list = (ALL_VILLAGES,)
    if ALL_VILLAGES in village_list and not role_set & {"supervisor", "admin"}:
        raise InputError("只有监督员或管理员可以覆盖所有村（*）", "bad_scope")
    if roster is not None and roster.village not in village_list and ALL_VILLAGES not in village_list:
        raise InputError(f"{roster.name} 属于 {roster.village}，账号范围必须包含该村", "bad_scope")
    return NewAccount(username, shown, role_set, person, village_list)


# Records one ledger entry as the data folder's writer: the running agent's own method in the console,
# a queued command from the command line (edge/web/cli.py).
Record = Callable[[str, dict[str, Any]], Awaitable[Any]]


def _names(username: str, name: str | None, person: str | None, config: EdgeConfig) -> list[str | None]:
    """What a password must not be made of: the account's and its person's names."""
    roster = config.people.get(person) if person else None
    return [username, name, person, roster.name if roster else None]


def _password_problem(password: str, names: list[str | None]) -> None:
    problem = check_new_password(password, names)
    if problem:
        raise InputError(problem, "bad_password")


async def _account(store: WebStore, username: str) -> Account:
    account = await store.user_by_name(username)
    if account is None:
        raise InputError(f"没有账号 {username!r}", "unknown_user")
    return account


def _taken(config: EdgeConfig, person: str, existing: Account) -> InputError:
    roster = config.people.get(person)
    who = f"{roster.name}({person})" if roster else person
    state = "（已停用）" if existing.disabled else ""
    return InputError(
        f"{who} 已有账号 {existing.username}{state}，每人只能有一个账号。"
        "如需恢复使用，请启用该账号或重设其密码，不要另建账号。",
        "person_has_account",
    )


async def create_account(
    store: WebStore, config: EdgeConfig, new: NewAccount, password: str, by: str, record: Record, own_password: bool = False
) -> Account:
    """Create ``new`` with ``password``, recorded in the ledger as done ``by`` an admin (or the host's operator).

    One account per roster person. A password an admin chose must be changed by its owner before the
    account may approve; ``own_password`` is only for the demo's accounts, whose people "set" theirs.
    """
    _password_problem(password, _names(new.username, new.name, new.person, config))
    if await store.user_by_name(new.username) is not None:
        raise InputError(f"用户名 {new.username} 已存在", "duplicate_user")
    if new.person is not None:
        existing = await store.user_by_person(new.person)
        if existing is not None:
            raise _taken(config, new.person, existing)
    hashed = await asyncio.to_thread(hash_password, password)
    # The ledger first: no account exists that the ledger does not show, with who made it.
    await record(P.ACCOUNT_CREATED, {
        "username": new.username, "name": new.name, "roles": sorted(new.roles), "person": new.person,
        "villages": list(new.villages), "by": by, "must_change_password": not own_password,
    })  # fmt: skip
    account = await store.add_user(new.username, new.name, new.roles, new.person, new.villages, hashed, not own_password)
    if account is None:
        # Another admin made this person's account between the check and now; the entry above stays as the attempt.
        assert new.person is not None
        existing = await store.user_by_person(new.person)
        assert existing is not None
        raise _taken(config, new.person, existing)
    return account


async def reset_password(store: WebStore, config: EdgeConfig, username: str, password: str, by: str, record: Record) -> Account:
    """An admin sets a new password: the account's sessions end and its owner must set their own before approving."""
    account = await _account(store, username)
    _password_problem(password, _names(account.username, account.name, account.person, config))
    hashed = await asyncio.to_thread(hash_password, password)
    await record(P.ACCOUNT_PASSWORD_RESET, {"username": account.username, "person": account.person, "by": by})
    await store.set_password(account.username, hashed, must_change=True)
    return await _account(store, username)


async def change_own_password(store: WebStore, config: EdgeConfig, account: Account, password: str, record: Record) -> None:
    """The owner sets their own password (the current one already checked): from now on the account may approve."""
    _password_problem(password, _names(account.username, account.name, account.person, config))
    hashed = await asyncio.to_thread(hash_password, password)
    await record(P.ACCOUNT_PASSWORD_CHANGED, {"username": account.username, "person": account.person, "by": account.username})
    await store.set_password(account.username, hashed, must_change=False)


async def set_disabled(store: WebStore, username: str, disabled: bool, by: str, record: Record) -> Account:
    """Disable (its sessions end) or enable an account, recorded with who did it."""
    account = await _account(store, username)
    kind = P.ACCOUNT_DISABLED if disabled else P.ACCOUNT_ENABLED
    await record(kind, {"username": account.username, "person": account.person, "by": by})
    await store.set_disabled(account.username, disabled)
    return await _account(store, username)
