"""The ledger's record of console accounts: who may act as which person of the roster, and who said so.

The accounts themselves live in the web console's store; these entries change nothing in the working
database ("by": an admin's account, or "host:<user>" for the host's operator at the command line). The kernel
registers them as a part of its own, so the projection knows the prefix and the ledger page their names.
"""

from __future__ import annotations

import getpass
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from edge.kernel.config import Person
from edge.kernel.contract import Part
from edge.ledger.wire import ROSTER_ROLES

ACCOUNT_CREATED = "account.created"  # also binds the account to its roster person, for good
ACCOUNT_DISABLED = "account.disabled"
ACCOUNT_ENABLED = "account.enabled"
ACCOUNT_PASSWORD_RESET = "account.password_reset"  # by an admin: the owner must set their own before approving
ACCOUNT_PASSWORD_CHANGED = "account.password_changed"  # by the owner
ACCOUNT_KINDS = (ACCOUNT_CREATED, ACCOUNT_DISABLED, ACCOUNT_ENABLED, ACCOUNT_PASSWORD_RESET, ACCOUNT_PASSWORD_CHANGED)

#: The roles a console account may hold, in the order the console lists them.
ROLES = ("custodian", "applicant", "approver", "village_staff", "supervisor", "admin")
ROLE_NAMES = {
    "custodian": "印章管理员", "applicant": "申请人", "approver": "审批人",
    "village_staff": "村务人员", "supervisor": "监督员(只读)", "admin": "管理员",
}  # fmt: skip
PERSON_ROLES = frozenset(ROSTER_ROLES)  # need a person of the roster with that role


@dataclass(frozen=True)
class Actor:
    """Who takes a step at a part's desk: the console account (or ``host:<user>``), the roster person it acts
    as (if any) and its roles. The console's principal without the web, so a desk serves the page, the demo
    and the tests alike."""

    account: str
    person: Person | None
    roles: frozenset[str]

    @property
    def person_id(self) -> str | None:
        return self.person.id if self.person else None

HOST_OPERATOR_PREFIX = "host:"  # console usernames cannot contain ":" (edge/web/accounts.py)


def host_operator() -> str:
    """The account of whoever acts at this host's command line: the operating-system user. Each decision names
    the person *and* the account that acted for them: a console account, or this one."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry and no LOGNAME/USER (a bare container)
        user = "unknown"
    return HOST_OPERATOR_PREFIX + user


async def _record(host: Any, args: Mapping[str, Any]) -> dict[str, Any]:
    return {"index": await host.record_account(args["kind"], dict(args["body"]))}


ACCOUNTS = Part(
    "account",
    "控制台账号",
    {
        ACCOUNT_CREATED: "创建账号", ACCOUNT_DISABLED: "停用账号", ACCOUNT_ENABLED: "启用账号",
        ACCOUNT_PASSWORD_RESET: "管理员重设密码", ACCOUNT_PASSWORD_CHANGED: "本人修改密码",
    },
    commands={"account": _record},
)  # fmt: skip
