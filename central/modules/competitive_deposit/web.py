"""The central's page for competitive deposit (``/m/competitive_deposit``): officers and supervisors, each in
their scope, see the villages' plans by month, what was deposited at which weighted rate, the extra income per
village, the late signings and the eligible accounts in no plan."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from central.contract import NavItem
from central.modules.competitive_deposit.views import STATUS_NAMES, overview, yuan

TEMPLATES = Path(__file__).parent / "templates"
READERS = ("county_officer", "township_officer", "admin", "supervisor")
NAV = (NavItem("/m/competitive_deposit", "资金竞争性存放", READERS),)


def router(shell: Any) -> APIRouter:
    api = APIRouter()

    @api.get("/m/competitive_deposit", include_in_schema=False)
    async def page(request: Request) -> Response:
        who = await shell.supervising(request)
        async with shell.store.db.reader.connect() as conn:
            seen = await overview(conn, who)
        return await shell.render(request, "competitive_deposit/overview.html", o=seen, yuan=yuan, STATUS_NAMES=STATUS_NAMES)  # type: ignore[no-any-return]

    return api
