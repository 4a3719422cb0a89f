"""The central's procurement page (/m/procurement): the demands the villages of one's scope sent up, and the
township officer's review of each (approve, or return with a reason)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

import central.modules.procurement.kinds as K
from central.accounts.roles import ADMIN, COUNTY_OFFICER, SUPERVISOR, TOWNSHIP_OFFICER
from central.contract import NavItem
from central.decisions.log import DecisionError
from central.modules.procurement.review import in_scope, may_review, review
from central.modules.procurement.suppliers import by_category, qualified
from central.store import Refusal

TEMPLATES = Path(__file__).parent / "templates"
READERS = (ADMIN, COUNTY_OFFICER, TOWNSHIP_OFFICER, SUPERVISOR)
NAV = (
    NavItem("/m/procurement", "一网采购", READERS),
    NavItem("/m/procurement/suppliers", "合格供应商", (ADMIN, COUNTY_OFFICER)),
)


def router(shell: Any) -> APIRouter:
    api = APIRouter()

    @api.get("/m/procurement", include_in_schema=False)
    async def page(request: Request) -> Response:
        who = await shell.require(request, *READERS)
        async with shell.store.db.reader.connect() as conn:
            rows = await in_scope(conn, who)
        approved: dict[str, list[Any]] = {}  # county -> its approved applications
        for row in rows:
            row["may_review"] = may_review(who, row) and row["status"] == "submitted"
            if row["county"] not in approved:
                approved[row["county"]] = await shell.accounts.applications_for("county", row["county"], "approved")
            row["suppliers"] = len(qualified(approved[row["county"]], row["category"]))
        return await shell.render(request, "procurement/demands.html", demands=rows, STATUS_NAMES=K.STATUS_NAMES)

    @api.get("/m/procurement/suppliers", include_in_schema=False)
    async def suppliers(request: Request) -> Response:
        who = await shell.require(request, ADMIN, COUNTY_OFFICER)
        level, name = ("all", "*") if who.role == ADMIN else ("county", who.name)
        listed = by_category(await shell.accounts.applications_for(level, name, "approved"))
        return await shell.render(request, "procurement/suppliers.html", categories=listed)

    @api.post("/m/procurement/demands/{edge_id}/{demand_id}/review", include_in_schema=False)
    async def decide(
        request: Request, edge_id: str, demand_id: str, decision: Annotated[str, Form()] = "",
        reason: Annotated[str, Form()] = "", csrf: Annotated[str, Form()] = "",
    ) -> Response:  # fmt: skip
        who = await shell.require(request, TOWNSHIP_OFFICER)
        await shell.check_csrf(request, csrf)
        if decision not in ("approve", "return"):
            raise Refusal(400, "bad_decision", "请选择通过或退回")
        decisions = shell.state.decisions
        if decisions is None:
            raise DecisionError("中心库未配置数据目录, 不能记录决定 the central runs without a decision log")
        async with shell.store.db.writer.begin() as conn:
            await review(conn, decisions, who, edge_id, demand_id, decision == "approve", reason)
        return RedirectResponse("/m/procurement", 303)

    return api
