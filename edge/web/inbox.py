"""One 待审批 inbox across every part: what awaits the logged-in person's decision, as a page and in /api.

Each registered part lists the pending routed items on the person's route (``Part.inbox``); the kernel's
routing rules say, the same way for every part, whether it is their turn (``routing.why_not``). The inbox
lists them together, the ones the person may decide now first. The seal's items keep their /api form
(``request``: the seal request).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from edge.kernel.contract import Awaiting, Part
from edge.kernel.routing import why_not
from edge.web.service import Principal
from edge.web.shell import API_ERRORS, Shell


class InboxItemOut(BaseModel):
    part: str = Field(description="the part the item belongs to: seal, or a module's name")
    id: str
    title: str
    link: str = Field(description="the page where it is decided")
    request: dict[str, Any] | None = Field(description="the seal's items: the request, as GET /api/requests/{id} lists it")
    your_turn: bool
    why_not: str | None


def router(shell: Shell) -> APIRouter:
    api = APIRouter()

    async def awaiting(p: Principal) -> list[tuple[Part, Awaiting, str | None]]:
        """Every part's items for ``p`` with why not yet (None: their turn), those they may decide now first,
        each group oldest first."""
        if not p.may_decide:
            return []
        items = [
            (part, item, why_not(item.routed, p.person_id, shell.console.name_of))
            for part in shell.parts if part.inbox is not None for item in await part.inbox(shell, p)
        ]  # fmt: skip
        return sorted(items, key=lambda found: (found[2] is not None, found[1].at))

    @api.get("/inbox", include_in_schema=False)
    async def inbox_page(request: Request) -> Response:
        p = await shell.principal_of(request)
        items = await awaiting(p)
        subscribed = await shell.store.subscription_count(p.account.id) if p.may_decide else 0
        return await shell.render(request, "inbox.html", items=items, subscribed=subscribed)

    @api.get("/api/inbox", tags=["approval"], response_model=list[InboxItemOut], responses=API_ERRORS)
    async def api_inbox(request: Request) -> list[dict[str, Any]]:
        """What awaits this approver's decision across every part; ``your_turn`` when they may decide now."""
        p = await shell.principal_of(request)
        return [
            {"part": part.name, "id": item.id, "title": item.title, "link": item.link,
             "request": dict(item.detail) if item.detail is not None else None,
             "your_turn": why is None, "why_not": why}
            for part, item, why in await awaiting(p)
        ]  # fmt: skip

    return api
