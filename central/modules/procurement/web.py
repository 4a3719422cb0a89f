"""The central's procurement page (/m/procurement): the demands the villages of one's scope sent up, and the
township officer's review of each (approve, or return with a reason)."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from sqlalchemy import select

import central.modules.procurement.catalogue as catalogue
import central.modules.procurement.kinds as K
import central.modules.procurement.splits as splits
from central.accounts.roles import ADMIN, COUNTY_OFFICER, SUPERVISOR, SUPPLIER, TOWNSHIP_OFFICER
from central.contract import NavItem
from central.decisions.log import DecisionError
from central.modules.procurement.bidding import yuan
from central.modules.procurement.credit import DEDUCTION_NAMES, points
from central.modules.procurement.creditdesk import blacklist, deduct, reinstate, score_of
from central.modules.procurement.deals import Deal, savings, total
from central.modules.procurement.live import Boards
from central.modules.procurement.review import in_scope, may_review, review
from central.modules.procurement.suppliers import by_category, qualified
from central.modules.procurement.tables import awards, demands
from central.modules.procurement.tender import award, bid, moment, open_for, seen_by
from central.store import Refusal
from edge.modules.procurement.rules import CHANNEL_NAMES

TEMPLATES = Path(__file__).parent / "templates"
READERS = (ADMIN, COUNTY_OFFICER, TOWNSHIP_OFFICER, SUPERVISOR)
NAV = (
    NavItem("/m/procurement", "一网采购", READERS),
    NavItem("/m/procurement/suppliers", "合格供应商", (ADMIN, COUNTY_OFFICER)),
    NavItem("/m/procurement/deals", "成交与节约", (ADMIN, COUNTY_OFFICER, SUPERVISOR)),
    NavItem("/m/procurement/splits", "拆分采购预警", READERS),
    NavItem("/m/procurement/catalogue", "商品目录", (*READERS, SUPPLIER)),
)


_AMOUNT = re.compile(r"[0-9]{1,12}(?:\.[0-9]{1,2})?", re.ASCII)


def parse_amount(text: str) -> int:
    """A bid typed in yuan (at most two decimals) as integer fen; a clear refusal otherwise."""
    cleaned = text.strip().replace(",", "").removeprefix("¥").removesuffix("元")
    if not _AMOUNT.fullmatch(cleaned):
        raise Refusal(400, "bad_amount", "报价应为元数，最多两位小数，例如 12000.50")
    whole, _, part = cleaned.partition(".")
    return int(whole) * 100 + int(part.ljust(2, "0") or "0")


KEEPALIVE_S = 15.0
LIVE_FIELDS = ("lowest_fen", "rank", "bidders", "closes_at", "status")


def router(shell: Any) -> APIRouter:
    api = APIRouter()
    live = Boards()

    @api.get("/m/procurement", include_in_schema=False)
    async def page(request: Request) -> Response:
        who = await shell.require(request, *READERS)
        async with shell.store.db.reader.connect() as conn:
            rows = await in_scope(conn, who)
            listed = await blacklist(conn)
        approved: dict[str, list[Any]] = {}  # county -> its approved applications
        for row in rows:
            row["may_review"] = may_review(who, row) and row["status"] == "submitted"
            row["may_award"] = may_review(who, row) and row["status"] == "approved"
            if row["county"] not in approved:
                approved[row["county"]] = await shell.accounts.applications_for("county", row["county"], "approved")
            row["suppliers"] = len(qualified(approved[row["county"]], row["category"], listed))
        return await shell.render(request, "procurement/demands.html", demands=rows, STATUS_NAMES=K.STATUS_NAMES)

    @api.get("/m/procurement/suppliers", include_in_schema=False)
    async def suppliers(request: Request) -> Response:
        who = await shell.require(request, ADMIN, COUNTY_OFFICER)
        level, name = ("all", "*") if who.role == ADMIN else ("county", who.name)
        approved = [a for a in await shell.accounts.applications_for(level, name, "approved") if a.kind == SUPPLIER]
        async with shell.store.db.reader.connect() as conn:
            listed = await blacklist(conn)
            scores = {a.username: (await score_of(conn, a.username))[0] for a in approved}
        by_credit = sorted(approved, key=lambda a: (scores[a.username], a.org_name))  # the lowest, nearest the line, first
        return await shell.render(
            request, "procurement/suppliers.html", categories=by_category(approved, listed), suppliers=by_credit,
            scores={u: points(v) for u, v in scores.items()}, blacklisted=listed, DEDUCTION_NAMES=DEDUCTION_NAMES,
        )  # fmt: skip

    @api.get("/m/procurement/deals", include_in_schema=False)
    async def deals_page(request: Request) -> Response:
        who = await shell.require(request, ADMIN, COUNTY_OFFICER, SUPERVISOR)
        query = select(awards, demands.c.village, demands.c.township, demands.c.county, demands.c.category,
                       demands.c.title, demands.c.ceiling_fen).join(
            demands, (demands.c.edge_id == awards.c.edge_id) & (demands.c.demand_id == awards.c.demand_id)
        ).order_by(awards.c.at.desc())  # fmt: skip
        async with shell.store.db.reader.connect() as conn:
            rows = [r for r in (await conn.execute(query)).all() if who.covers(r.county, r.township)]
        deals = [Deal(r.village, r.township, r.category, r.ceiling_fen, r.amount_fen) for r in rows]
        views = {"按村": savings(deals, lambda d: d.village), "按乡镇": savings(deals, lambda d: d.township),
                 "按类别": savings(deals, lambda d: d.category)}  # fmt: skip
        return await shell.render(
            request, "procurement/deals.html", rows=rows, views=views, total=total(deals), yuan=yuan
        )

    @api.get("/m/procurement/splits", include_in_schema=False)
    async def splits_page(request: Request) -> Response:
        """The split-purchase flags of the villages in one's scope (a township's own, a county's all)."""
        who = await shell.require(request, *READERS)
        async with shell.store.db.reader.connect() as conn:
            found = await splits.in_scope(conn, who)
        return await shell.render(request, "procurement/splits.html", flags=found, yuan=yuan, CHANNEL_NAMES=CHANNEL_NAMES)

    @api.get("/m/procurement/splits.json", include_in_schema=False)
    async def splits_json(request: Request) -> Response:
        """The same flags as JSON: ``{"flags": [...]}``, each as ``qinglian procurement audit --json`` prints one,
        with its place, window and the offline and overridden purchases."""
        who = await shell.require(request, *READERS)
        async with shell.store.db.reader.connect() as conn:
            found = await splits.in_scope(conn, who)
        return JSONResponse({"flags": [f.as_json() for f in found]}, headers={"Cache-Control": "no-store"})

    @api.get("/m/procurement/catalogue", include_in_schema=False)
    async def catalogue_page(request: Request) -> Response:
        """The goods listed with their prices: a supplier's own (with the form to list more), an officer's county's."""
        who = await shell.require(request, *READERS, SUPPLIER)
        application = await shell.accounts.application_of(who.account) if who.role == SUPPLIER and who.account else None
        async with shell.store.db.reader.connect() as conn:
            rows = await catalogue.listed(conn, who)
        return await shell.render(request, "procurement/catalogue.html", rows=rows, application=application, yuan=yuan)

    @api.post("/m/procurement/catalogue", include_in_schema=False)
    async def catalogue_list(request: Request) -> Response:
        who = await shell.require(request, SUPPLIER)
        form = await request.form()
        await shell.check_csrf(request, str(form.get("csrf", "")))
        application = await shell.accounts.application_of(who.account or "")
        if application is None:
            raise Refusal(403, "forbidden", "只有县级审核通过的供应商可以发布商品报价")
        goods = catalogue.item(form, application, parse_amount(str(form.get("price", ""))))
        async with shell.store.db.writer.begin() as conn:
            await catalogue.list_item(conn, log_of(), who, application, goods, moment(shell.clock()))
        return RedirectResponse("/m/procurement/catalogue", 303)

    @api.post("/m/procurement/catalogue/{seq}/withdraw", include_in_schema=False)
    async def catalogue_withdraw(request: Request, seq: int, csrf: Annotated[str, Form()] = "") -> Response:
        who = await shell.require(request, SUPPLIER)
        await shell.check_csrf(request, csrf)
        async with shell.store.db.writer.begin() as conn:
            await catalogue.withdraw(conn, log_of(), who, seq)
        return RedirectResponse("/m/procurement/catalogue", 303)

    @api.post("/m/procurement/suppliers/{username}/{step}", include_in_schema=False)
    async def credit_step(
        request: Request, username: str, step: str, kind: Annotated[str, Form()] = "", reason: Annotated[str, Form()] = "",
        evidence: Annotated[str, Form()] = "", csrf: Annotated[str, Form()] = "",
    ) -> Response:  # fmt: skip
        who = await shell.require(request, ADMIN, COUNTY_OFFICER)
        await shell.check_csrf(request, csrf)
        if step not in ("deduct", "reinstate"):
            raise Refusal(404, "not_found", "没有此操作")
        application = await shell.accounts.application_of(username)
        blacklisted = False
        async with shell.store.db.writer.begin() as conn:
            if step == "deduct":
                _, blacklisted = await deduct(conn, log_of(), who, application, kind, reason, evidence, moment(shell.clock()))
            else:
                await reinstate(conn, log_of(), who, application, reason, moment(shell.clock()))
        if blacklisted:  # its bids were withdrawn: the live pages read their tenders again
            await live.forget()
        return RedirectResponse("/m/procurement/suppliers", 303)

    @api.post("/m/procurement/demands/{edge_id}/{demand_id}/review", include_in_schema=False)
    async def decide(
        request: Request, edge_id: str, demand_id: str, decision: Annotated[str, Form()] = "",
        reason: Annotated[str, Form()] = "", csrf: Annotated[str, Form()] = "",
    ) -> Response:  # fmt: skip
        who = await shell.require(request, TOWNSHIP_OFFICER)
        await shell.check_csrf(request, csrf)
        if decision not in ("approve", "return"):
            raise Refusal(400, "bad_decision", "请选择通过或退回")
        async with shell.store.db.writer.begin() as conn:
            await review(conn, log_of(), who, edge_id, demand_id, decision == "approve", reason, moment(shell.clock()))
        return RedirectResponse("/m/procurement", 303)

    @api.post("/m/procurement/tenders/{edge_id}/{demand_id}/award", include_in_schema=False)
    async def decide_award(
        request: Request, edge_id: str, demand_id: str, csrf: Annotated[str, Form()] = ""
    ) -> Response:
        who = await shell.require(request, TOWNSHIP_OFFICER)
        await shell.check_csrf(request, csrf)
        async with shell.store.db.writer.begin() as conn:
            board = await award(conn, log_of(), who, edge_id, demand_id, moment(shell.clock()))
        await live.publish(board)  # the live pages show the window closed, and end
        return RedirectResponse("/m/procurement", 303)

    # -- suppliers: the open tenders they may bid on, their standing, a bid --------------------------------------

    @api.get("/m/procurement/tenders", include_in_schema=False)
    async def tenders_page(request: Request) -> Response:
        who = await shell.require(request, SUPPLIER)
        application = await shell.accounts.application_of(who.account or "")
        async with shell.store.db.reader.connect() as conn:
            listed = await open_for(conn, application)
        return await shell.render(request, "procurement/tenders.html", tenders=listed)

    @api.post("/m/procurement/tenders/{edge_id}/{demand_id}/bid", include_in_schema=False)
    async def place_bid(
        request: Request, edge_id: str, demand_id: str, amount: Annotated[str, Form()] = "", csrf: Annotated[str, Form()] = "",
    ) -> Response:  # fmt: skip
        who = await shell.require(request, SUPPLIER)
        await shell.check_csrf(request, csrf)
        fen = parse_amount(amount)
        application = await shell.accounts.application_of(who.account or "")
        async with shell.store.db.writer.begin() as conn:
            board = await bid(conn, log_of(), who, application, edge_id, demand_id, fen, moment(shell.clock()))
        await live.publish(board)  # after the commit: every live page shows it, each bidder its own rank
        return RedirectResponse("/m/procurement/tenders", 303)

    @api.get("/m/procurement/tenders/{edge_id}/{demand_id}/live", include_in_schema=False)
    async def standing(request: Request, edge_id: str, demand_id: str) -> Response:
        """Server-sent events: this bidder's standing (lowest price, own rank, how many bid, the end), sent again
        whenever it changes, until the tender closes or the page goes. Taken from the tender's published board;
        read from the database only while no board is held (the first look, after a blacklisting)."""
        who = await shell.require(request, SUPPLIER)
        application = await shell.accounts.application_of(who.account or "")
        async with shell.store.db.reader.connect() as conn:
            if not any(
                t["demand_id"] == demand_id and t["edge_id"] == edge_id for t in await open_for(conn, application)
            ):
                raise Refusal(403, "forbidden", "您不能参与此项竞价")

        async def events() -> AsyncIterator[str]:
            shown: dict[str, Any] | None = None
            while True:
                seen = live.changes  # before reading: a change after this read wakes the wait below
                board = live.latest(edge_id, demand_id)
                if board is not None:
                    view = board.seen_by(who.account or "")
                else:
                    async with shell.store.db.reader.connect() as conn:
                        view = await seen_by(conn, who.account or "", edge_id, demand_id)
                current = {k: view[k] for k in LIVE_FIELDS}
                if current != shown:
                    yield f"data: {json.dumps(current)}\n\n"
                    shown = current
                if current["status"] != "open" or await request.is_disconnected():
                    return
                if not await live.wait(seen, KEEPALIVE_S):
                    yield ": keep-alive\n\n"

        headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
        return StreamingResponse(events(), media_type="text/event-stream", headers=headers)

    def log_of() -> Any:
        decisions = shell.state.decisions
        if decisions is None:
            raise DecisionError("中心库未配置数据目录, 不能记录决定 the central runs without a decision log")
        return decisions

    return api
