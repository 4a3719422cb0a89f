"""The township's comparison of its villages' labour dispatch (``/m/work_order``), phone-first: for each village in
the officer's scope, the orders and emergency orders (with their reasons), the blacklistings (with the committee's
reasons), the spread of dispatches per trade, and each worker's dispatches, days and pay, a favourite flagged.
Another township's officer sees none of it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from central.contract import NavItem
from central.modules.work_order.figures import villages
from edge.kernel.fmt import yuan
from edge.modules.work_order.rules import STATUS_NAMES, TRADES

TEMPLATES = Path(__file__).parent / "templates"
READERS = ("county_officer", "township_officer", "admin", "supervisor")
NAV = (NavItem("/m/work_order", "用工派工", READERS),)
ORDER_STATUS = {"pending": "待签批", "approved": "已批准", "rejected": "已驳回", "dispatched": "已派工"}


def days(half_days: int) -> str:
    return f"{half_days // 2}" + (".5" if half_days % 2 else "")


def router(shell: Any) -> APIRouter:
    api = APIRouter()

    @api.get("/m/work_order", include_in_schema=False)
    async def page(request: Request) -> Response:
        who = await shell.supervising(request)
        async with shell.store.db.reader.connect() as conn:
            found = await villages(conn, who)
        return await shell.render(  # type: ignore[no-any-return]
            request, "work_order/overview.html", villages=found, TRADES=TRADES, STATUS=STATUS_NAMES,
            ORDER_STATUS=ORDER_STATUS, yuan=yuan, days=days,
        )  # fmt: skip

    return api
