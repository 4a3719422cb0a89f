"""The central shell: what the central's pages and every module's central router share (see central/contract.py).

A module's router is called with one :class:`CentralShell` and asks it who is behind a request, whether they hold
a role, to render a page, and to check a form's CSRF token, so no module repeats any of it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates
from starlette.datastructures import State

from central.contract import CentralPart, NavItem
from central.store import CentralStore, Principal, Refusal


@dataclass
class CentralShell:
    state: State  # the app's: its store is opened with the app's lifespan, after the routers are made
    templates: Jinja2Templates
    parts: Sequence[CentralPart]
    principal_of: Callable[[Request], Awaitable[Principal]]  # the account or supervisor token behind a request

    @property
    def store(self) -> CentralStore:
        return self.state.store  # type: ignore[no-any-return]

    async def require(self, request: Request, *roles: str) -> Principal:
        """The principal behind ``request`` if it holds one of ``roles``; a 403 refusal otherwise."""
        who = await self.principal_of(request)
        if roles and who.role not in roles:
            raise Refusal(403, "forbidden", "您的账号无权进行此操作")
        return who

    def nav(self, who: Principal | None) -> list[NavItem]:
        """The parts' links this principal may follow."""
        if who is None:
            return []
        return [item for part in self.parts for item in part.nav if not item.roles or who.role in item.roles]

    async def render(self, request: Request, template: str, status_code: int = 200, **context: Any) -> Response:
        context.setdefault("principal", getattr(request.state, "principal", None))
        return self.templates.TemplateResponse(request, template, context, status_code=status_code)
