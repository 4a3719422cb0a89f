"""The notifier's vocabulary: a message, a backend, and how a delivery fails."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class Message:
    event: str  # awaiting_approval | approved | rejected
    request_id: str | None
    title: str
    body: str
    url: str  # straight to the request page (login required)
    village: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Message:
        return cls(
            str(data["event"]), data.get("request_id"), str(data["title"]), str(data["body"]), str(data["url"]),
            str(data.get("village", "")),
        )  # fmt: skip


class DeliveryError(Exception):
    """One delivery attempt failed. ``message`` is Chinese: the request page shows it beside the delivery.
    ``detail``, the service's or the library's own words, goes to the log only. ``permanent``: retrying cannot
    help (a push subscription is gone, 4xx)."""

    def __init__(self, message: str, detail: str = "", permanent: bool = False, gone: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail
        self.permanent = permanent or gone
        self.gone = gone


class Backend(Protocol):
    kind: str
    name: str
    per_person: bool  # True: one delivery per recipient's device (Web Push); False: one per message (group robots)

    async def deliver(self, message: Message, target: dict[str, Any]) -> None:
        """Deliver once or raise :class:`DeliveryError`."""
        ...

    async def close(self) -> None: ...
