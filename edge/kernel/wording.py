"""How the ledger's timeline names who acted, one way for the seal and every module (``Part.summarize``)."""

from __future__ import annotations

from typing import Any

from edge.kernel.accounts import HOST_OPERATOR_PREFIX


def actor_name(account: object) -> str:
    """Who acted (an entry's ``account`` or ``by``): a console account, or the host's operator."""
    text = str(account or "")
    if text.startswith(HOST_OPERATOR_PREFIX):
        return f"本机操作员 {text.removeprefix(HOST_OPERATOR_PREFIX)}"
    return f"账号 {text}" if text else "未记录账号"


def person_name(config: Any, person_id: object) -> str:
    """A roster person as 名字(id) (``config``: the village's EdgeConfig); an id the roster lacks as itself."""
    person = config.people.get(str(person_id))
    return f"{person.name}({person_id})" if person else str(person_id)
