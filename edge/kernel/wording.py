"""How pages word things: who acted, one way for the seal and every module (``Part.summarize``), and the Chinese
part of a bilingual message."""

from __future__ import annotations

import re
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


_CJK = re.compile(r"[\u3400-\u9fff][）」』》】。！？]*")
_NO_LETTERS = re.compile(r"(?:\s+[^\sA-Za-z]+)*")  # numbers after the last Chinese word ("应为 1..100")


def chinese(message: str) -> str:
    """The Chinese part of a bilingual message ("中文 English"), for a village user's page: up to the
    last Chinese character and the numbers right after it (names inside stay); a message with none stays whole."""
    ends = [m.end() for m in _CJK.finditer(message)]
    if not ends:
        return message
    tail = _NO_LETTERS.match(message, ends[-1])
    end = tail.end() if tail else ends[-1]
    return message[:end].rstrip("，,;； ")
