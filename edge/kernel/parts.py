"""The registered parts, indexed for the kernel: which part owns a ledger prefix, the handler of each kind,
the command handlers, the tables. Built from the static tuple (``edge.modules.PARTS``) by whoever opens the
working database; the kernel's own part (console accounts) is always in it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from edge.kernel.accounts import ACCOUNTS
from edge.kernel.contract import Command, Handler, Part
from edge.ledger import Entry


class Parts:
    def __init__(self, parts: Sequence[Part]) -> None:
        self.registered = tuple(parts)  # as passed: an empty registry applies nothing (see apply_entries)
        self.parts = (ACCOUNTS, *parts)
        self._owners: dict[str, Part] = {}
        self.handlers: dict[str, Handler] = {}
        self.commands: dict[str, Command] = {}
        for part in self.parts:
            for prefix in part.owned_prefixes:
                if prefix in self._owners:
                    raise ValueError(f"ledger prefix {prefix!r} claimed by {self._owners[prefix].name} and {part.name}")
                self._owners[prefix] = part
            self.handlers.update(part.projection)
            for kind, command in part.commands.items():
                if kind in self.commands:
                    raise ValueError(f"command {kind!r} registered twice (part {part.name})")
                self.commands[kind] = command

    def owner(self, kind: str) -> Part | None:
        """The part whose prefix ``kind`` is under, if any."""
        return self._owners.get(kind.partition(".")[0])

    def summarize(self, entry: Entry, config: Any) -> str | None:
        """The owning part's one line of Chinese for ``entry`` (``Part.summarize``), if it gives one."""
        part = self.owner(entry.kind)
        return part.summarize(entry, config) if part is not None and part.summarize is not None else None

    def kind_name(self, kind: str) -> str:
        """An entry kind's Chinese name, as its part declares it; the kind itself when no part does."""
        part = self.owner(kind)
        return part.kinds.get(kind, kind) if part is not None else kind

    def groups(self) -> dict[str, str]:
        """The ledger page's filter groups, "grant.*" -> 授权: what each part names (``Part.groups``), else its own
        prefix under its title; the kernel's accounts after the parts'."""
        return {
            f"{prefix}.*": name
            for part in (*self.registered, ACCOUNTS)
            for prefix, name in (part.groups or {part.name: part.title}).items()
        }
