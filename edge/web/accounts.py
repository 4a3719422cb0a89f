"""Creating and checking console accounts (shared by ``qinglian web user`` and the admin page)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from edge.config import EdgeConfig
from edge.errors import InputError
from edge.web.passwords import check_new_password, hash_password
from edge.web.store import ALL_VILLAGES, PERSON_ROLES, ROLE_NAMES, ROLES, Account, WebStore

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


async def add_account(store: WebStore, config: EdgeConfig, new: NewAccount, password: str) -> Account:
    problem = check_new_password(password)
    if problem:
        raise InputError(problem, "bad_password")
    if await store.user_by_name(new.username) is not None:
        raise InputError(f"用户名 {new.username} 已存在", "duplicate_user")
    import asyncio

    hashed = await asyncio.to_thread(hash_password, password)
    return await store.add_user(new.username, new.name, new.roles, new.person, new.villages, hashed)
