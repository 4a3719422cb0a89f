"""Errors the edge agent reports to people: a stable code and a bilingual message.

The code is for programs (the CLI's ``--json``, the web console later); the
message is what a person reads: Chinese first, then English, like the rest of
the user interface. Every error here means the step changed nothing, except a
:class:`Refused`, whose refusal itself was recorded in the ledger.
"""

from __future__ import annotations

import re
from typing import Any


class EdgeError(Exception):
    """Base of all errors the edge reports to a user."""

    code = "error"

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "type": type(self).__name__}


class ConfigError(EdgeError):
    """The TOML configuration is missing, unreadable or inconsistent."""

    code = "bad_config"


class InputError(EdgeError):
    """Bad input to a step (unknown person, seal kind, presses out of range, missing file ...): nothing changed."""

    code = "bad_input"


class NotFound(InputError):
    """No such request or device."""

    code = "not_found"


class Refused(EdgeError):
    """A step refused by a rule (separation of duties, route order, state); the refusal is a ledger entry."""

    code = "refused"


class Unavailable(EdgeError):
    """Something the step needs is not there right now (the agent, a device, the writer lock)."""

    code = "unavailable"


ERROR_TYPES: dict[str, type[EdgeError]] = {
    cls.__name__: cls for cls in (EdgeError, ConfigError, InputError, NotFound, Refused, Unavailable)
}


def error_from_dict(data: dict[str, Any]) -> EdgeError:
    """Rebuild an error that crossed a process boundary (the command queue)."""
    cls = ERROR_TYPES.get(str(data.get("type")), EdgeError)
    return cls(str(data.get("message", "")), str(data.get("code", cls.code)))


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
