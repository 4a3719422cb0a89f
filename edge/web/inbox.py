"""One 待审批 inbox across every part: what awaits the logged-in person's decision, as a page and in /api.

Each registered part answers for its own items (``Part.inbox``); the inbox lists them together, the ones
the person may decide now first. The seal's items keep their /api form (``request``: the seal request).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from edge.kernel.contract import Awaiting, Part
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

    async def awaiting(p: Principal) -> list[tuple[Part, Awaiting]]:
        """Every part's items for ``p``, those they may decide now first, each group oldest first."""
        items = [(part, item) for part in shell.parts if part.inbox is not None for item in await part.inbox(shell, p)]
        return sorted(items, key=lambda pair: (pair[1].why_not is not None, pair[1].at))

    @api.get("/inbox", include_in_schema=False)
    async def inbox_page(request: Request) -> Response:
        p = await shell.principal_of(request)
        items = await awaiting(p) if p.may_decide else []
        subscribed = await shell.store.subscription_count(p.account.id) if p.may_decide else 0
        return await shell.render(request, "inbox.html", items=items, subscribed=subscribed)

    @api.get("/api/inbox", tags=["approval"], response_model=list[InboxItemOut], responses=API_ERRORS)
    async def api_inbox(request: Request) -> list[dict[str, Any]]:
        """What awaits this approver's decision across every part; ``your_turn`` when they may decide now."""
        p = await shell.principal_of(request)
        return [
            {"part": part.name, "id": item.id, "title": item.title, "link": item.link,
             "request": dict(item.detail) if item.detail is not None else None,
             "your_turn": item.why_not is None, "why_not": item.why_not}
            for part, item in (await awaiting(p) if p.may_decide else [])
        ]  # fmt: skip

    return api
