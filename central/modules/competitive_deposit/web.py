"""The central's pages for competitive deposit.

* ``/m/competitive_deposit``: officers and supervisors, each in their scope, see the villages' plans by month,
  what was deposited at which weighted rate, the extra income per village, the late signings and the eligible
  accounts in no plan;
* ``/m/competitive_deposit/tenders``: an officer's tenders and the form that opens the month's tender; a bank's
  tenders open to it (its county's);
* ``/m/competitive_deposit/tenders/<id>``: the announcement; for the officer the scores and the opening, for a
  bank its own bids (never a rival's) and, once opened, the published result.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

import central.modules.competitive_deposit.schedule as S
import central.modules.competitive_deposit.tender as T
import edge.modules.competitive_deposit.rules as rules  # noqa: PLR0402 - the layering allows the rules module itself
from central.accounts import roles as R
from central.contract import NavItem, WorkItem
from central.decisions.routes import decision_log
from central.modules.competitive_deposit.views import STATUS_NAMES, overview, wan, yuan
from edge.ledger.localtime import SHANGHAI

TEMPLATES = Path(__file__).parent / "templates"
READERS = ("county_officer", "township_officer", "admin", "supervisor")
NAV = (
    NavItem("/m/competitive_deposit", "资金竞争性存放", READERS),
    NavItem("/m/competitive_deposit/tenders", "存放招标", (*READERS, R.BANK)),
)
LOT_STATUS = {"bidding": "报价中", "awarded": "已中标", "failed": "流标（无有效报价）"}
Text = Annotated[str, Form()]
MAX_SOURCE_READ = 2 * 1024 * 1024 + 1  # one byte more than allowed, so an oversized file is told as such


def tender_path(tender_id: str) -> str:
    return f"/m/competitive_deposit/tenders/{quote(tender_id, safe='')}"


async def work(shell: Any, who: Any) -> list[WorkItem]:
    """我的工作: a bank's lots still to bid inside an open window; an officer's plans waiting for a tender and its
    tenders whose window closed, to score and open."""
    moment = datetime.fromtimestamp(shell.clock(), UTC)
    items: list[WorkItem] = []
    async with shell.store.db.reader.connect() as conn:
        if who.role == R.BANK:
            bank = await T.bank_of(conn, who)
            for t in await T.tenders_for(conn, county=bank.county):
                if t.status == "bidding" and T.parse_iso(t.opens_at) <= moment < T.parse_iso(t.closes_at):
                    done = {b.lot for b in await T.bids_of(conn, t.tender_id, bank.username)}
                    left = [lot for lot in await T.lots_of(conn, t.tender_id) if lot.lot not in done]
                    if left:
                        items.append(WorkItem(f"存款招标 {t.tender_id}：{len(left)} 个标段待报价", tender_path(t.tender_id),
                                              f"截止 {T.local(t.closes_at)}"))  # fmt: skip
        elif who.role in T.OFFICERS:
            month = moment.astimezone(SHANGHAI).strftime("%Y-%m")
            waiting = await T.waiting_plans(conn, who, month)
            standing = await S.schedule_of(conn, who.name)
            if waiting:
                when = f"每月 {standing.day} 日自动汇总发起" if standing is not None else "发起本月招标"
                items.append(WorkItem(f"待招标的存放计划 {len(waiting)} 个", "/m/competitive_deposit/tenders", when))
            for t in await T.tenders_for(conn, who=who):
                if t.status == "bidding" and T.officer_manages(who, t) and moment >= T.parse_iso(t.closes_at):
                    unscored = await T.unscored_banks(conn, t.tender_id)
                    detail = f"报价已截止，待录入评分：{'、'.join(unscored)}" if unscored else "报价已截止，评分齐全，即将自动开标"
                    items.append(WorkItem(f"待开标：{t.tender_id}", tender_path(t.tender_id), detail))
    return items


def router(shell: Any) -> APIRouter:
    api = APIRouter()

    def now() -> datetime:
        return datetime.fromtimestamp(shell.clock(), UTC)

    @api.get("/m/competitive_deposit", include_in_schema=False)
    async def page(request: Request) -> Response:
        who = await shell.supervising(request)
        async with shell.store.db.reader.connect() as conn:
            seen = await overview(conn, who, now().astimezone(SHANGHAI).date())
        return await shell.render(  # type: ignore[no-any-return]
            request, "competitive_deposit/overview.html", o=seen, yuan=yuan, wan=wan, STATUS_NAMES=STATUS_NAMES,
            min_fen=rules.DEFAULT_MIN_IDLE_FEN, min_months=rules.DEFAULT_MIN_IDLE_MONTHS,
        )

    @api.get("/m/competitive_deposit/tenders", include_in_schema=False)
    async def tenders(request: Request) -> Response:
        who = await shell.principal_of(request)
        if who.role in (R.BANK, R.APPLICANT):
            async with shell.store.db.reader.connect() as conn:
                bank = await T.bank_of(conn, who)
                rows = await T.tenders_for(conn, county=bank.county)
            return await shell.render(
                request, "competitive_deposit/bank_tenders.html", bank=bank, tenders=rows, local=T.local
            )  # type: ignore[no-any-return]
        who = await shell.supervising(request)
        today = now().astimezone(SHANGHAI)
        month = today.strftime("%Y-%m")
        async with shell.store.db.reader.connect() as conn:
            rows = await T.tenders_for(conn, who=who)
            waiting = await T.waiting_plans(conn, who, month) if who.role in T.OFFICERS else []
            standing = await S.schedule_of(conn, who.name) if who.role in T.OFFICERS else None
        start = (today + timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)
        return await shell.render(  # type: ignore[no-any-return]
            request, "competitive_deposit/tenders.html", tenders=rows, waiting=waiting, month=month, yuan=yuan,
            local=T.local, may_open=who.role in T.OFFICERS, opens=start.strftime("%Y-%m-%dT%H:%M"),
            closes=(start + timedelta(days=5, hours=8)).strftime("%Y-%m-%dT%H:%M"), schedule=standing,
        )  # fmt: skip

    @api.post("/m/competitive_deposit/schedule", include_in_schema=False)
    async def set_schedule(
        request: Request, day: Text = "", window_days: Text = "", rate_points: Text = "80", sign_days: Text = "3",
        csrf: Text = "",
    ) -> Response:  # fmt: skip
        who = await shell.require(request, *T.OFFICERS)
        await shell.check_csrf(request, csrf)
        checked = S.check_schedule(day, window_days, rate_points, sign_days)
        async with shell.store.db.writer.begin() as conn:
            await S.set_schedule(conn, decision_log(shell), who, checked)
        return RedirectResponse("/m/competitive_deposit/tenders", 303)

    @api.post("/m/competitive_deposit/tenders", include_in_schema=False)
    async def open_tender(
        request: Request, month: Text = "", opens_at: Text = "", closes_at: Text = "", rate_points: Text = "80",
        sign_days: Text = "3", csrf: Text = "",
    ) -> Response:  # fmt: skip
        who = await shell.require(request, *T.OFFICERS)
        await shell.check_csrf(request, csrf)
        announced = T.check_announcement(month, opens_at, closes_at, rate_points, sign_days, now())
        async with shell.store.db.writer.begin() as conn:
            tender_id = await T.open_tender(conn, decision_log(shell), who, announced)
        return RedirectResponse(tender_path(tender_id), 303)

    @api.get("/m/competitive_deposit/tenders/{tender_id}", include_in_schema=False)
    async def tender(request: Request, tender_id: str) -> Response:
        who = await shell.principal_of(request)
        async with shell.store.db.reader.connect() as conn:
            if who.role in (R.BANK, R.APPLICANT):
                bank = await T.bank_of(conn, who)
                row = await T.tender_for_bank(conn, bank, tender_id)
                mine = {b.lot: b for b in await T.bids_of(conn, tender_id, bank.username)}  # its own, nothing more
                context: dict[str, Any] = {"bank": bank, "mine": mine}
                template = "competitive_deposit/bank_tender.html"
            else:
                who = await shell.supervising(request)
                row = await T.tender_row(conn, tender_id)
                if not await T.officer_sees(conn, who, row):
                    raise T.refuse("没有此招标", 404, "not_found")
                context = {
                    "manages": T.officer_manages(who, row), "counts": await T.bid_counts(conn, tender_id),
                    "unscored": await T.unscored_banks(conn, tender_id),
                    "scores": await T.scores_of(conn, tender_id), "banks": await T.approved_banks(conn, row.county),
                    "bidders": sorted({b.bank_name for b in await T.bids_of(conn, tender_id)}),
                }  # fmt: skip
                template = "competitive_deposit/tender.html"
            context.update(lots=await T.lots_of(conn, tender_id), ranking=await T.ranking_of(conn, row))
        return await shell.render(  # type: ignore[no-any-return]
            request, template, t=row, yuan=yuan, local=T.local, rule=T.rule_text(Decimal(row.rate_points)),
            path=tender_path(tender_id), LOT_STATUS=LOT_STATUS, bidding=row.status == "bidding",
            window_open=T.parse_iso(row.opens_at) <= now() < T.parse_iso(row.closes_at),
            window_closed=now() >= T.parse_iso(row.closes_at), **context,
        )  # fmt: skip

    @api.get("/m/competitive_deposit/tenders/{tender_id}/result.json", include_in_schema=False)
    async def result(request: Request, tender_id: str) -> dict[str, Any]:
        """The opening's decision as recorded (every bid with its salt, every score with its source's hash), for
        whoever may read the tender once it is opened: what ``qinglian deposit tender`` recomputes."""
        who = await shell.principal_of(request)
        async with shell.store.db.reader.connect() as conn:
            if who.role in (R.BANK, R.APPLICANT):
                row = await T.tender_for_bank(conn, await T.bank_of(conn, who), tender_id)
            else:
                who = await shell.supervising(request)
                row = await T.tender_row(conn, tender_id)
                if not await T.officer_sees(conn, who, row):
                    raise T.refuse("没有此招标", 404, "not_found")
        return await published(row)

    async def published(row: Any) -> dict[str, Any]:
        if row.result_index is None:
            raise T.refuse("尚未开标", 404, "not_opened")
        entry = await decision_log(shell).ledger.entry(row.result_index)
        return {"decision_index": entry.index, "ts": entry.ts, "kind": entry.kind, "actor": entry.body["actor"],
                "result": entry.body["decision"]}  # fmt: skip

    @api.get("/m/competitive_deposit/public", include_in_schema=False)
    async def public_list(request: Request) -> Response:
        """The public tenders, with no login: what anyone (a villager, a discipline inspector) may read."""
        async with shell.store.db.reader.connect() as conn:
            rows = await T.tenders_for(conn, who=T.PUBLIC)
        return await shell.render(  # type: ignore[no-any-return]
            request, "competitive_deposit/public_list.html", tenders=rows, local=T.local
        )

    @api.get("/m/competitive_deposit/public/{tender_id}", include_in_schema=False)
    async def public_tender(request: Request, tender_id: str) -> Response:
        """A tender's announcement (lots, amounts, terms, the rule, the window), the number of sealed bids until
        opening, and once opened the ranking with every rate and score: never a rate before then."""
        async with shell.store.db.reader.connect() as conn:
            row = await T.tender_row(conn, tender_id)
            context = {"lots": await T.lots_of(conn, tender_id), "ranking": await T.ranking_of(conn, row),
                       "counts": await T.bid_counts(conn, tender_id), "scores": await T.scores_of(conn, tender_id)}  # fmt: skip
        return await shell.render(  # type: ignore[no-any-return]
            request, "competitive_deposit/public.html", t=row, yuan=yuan, local=T.local, LOT_STATUS=LOT_STATUS,
            rule=T.rule_text(Decimal(row.rate_points)), path=f"/m/competitive_deposit/public/{quote(tender_id, safe='')}",
            bidding=row.status == "bidding", **context,
        )  # fmt: skip

    @api.get("/m/competitive_deposit/public/{tender_id}/result.json", include_in_schema=False)
    async def public_result(tender_id: str) -> dict[str, Any]:
        """The opening's decision as recorded, for anyone once opened: what ``qinglian deposit tender`` recomputes."""
        async with shell.store.db.reader.connect() as conn:
            row = await T.tender_row(conn, tender_id)
        return await published(row)

    @api.post("/m/competitive_deposit/tenders/{tender_id}/bids", include_in_schema=False)
    async def bid(request: Request, tender_id: str, lot: Text = "", rate: Text = "", csrf: Text = "") -> Response:
        who = await shell.principal_of(request)
        await shell.check_csrf(request, csrf)
        async with shell.store.db.writer.begin() as conn:
            await T.place_bid(conn, decision_log(shell), who, tender_id, lot, rate, now())
        return RedirectResponse(tender_path(tender_id), 303)

    @api.post("/m/competitive_deposit/tenders/{tender_id}/scores", include_in_schema=False)
    async def enter_scores(
        request: Request, tender_id: str, source: Annotated[UploadFile, File()], bank: Text = "",
        operating: Text = "", agri: Text = "", csrf: Text = "",
    ) -> Response:  # fmt: skip
        who = await shell.require(request, *T.OFFICERS)
        await shell.check_csrf(request, csrf)
        data = await source.read(MAX_SOURCE_READ)
        async with shell.store.db.writer.begin() as conn:
            await T.enter_scores(
                conn, decision_log(shell), who, tender_id, bank, operating, agri, source.filename or "", data
            )
        return RedirectResponse(tender_path(tender_id), 303)

    @api.get("/m/competitive_deposit/tenders/{tender_id}/scores/{bank}/source", include_in_schema=False)
    async def source_file(request: Request, tender_id: str, bank: str) -> Response:
        who = await shell.supervising(request)
        async with shell.store.db.reader.connect() as conn:
            name, media, data = await T.score_source(conn, who, tender_id, bank)
        disposition = f"attachment; filename*=UTF-8''{quote(name)}"
        return Response(data, media_type=media, headers={"Content-Disposition": disposition})

    @api.post("/m/competitive_deposit/tenders/{tender_id}/open", include_in_schema=False)
    async def open_bids(request: Request, tender_id: str, csrf: Text = "") -> Response:
        who = await shell.require(request, *T.OFFICERS)
        await shell.check_csrf(request, csrf)
        async with shell.store.db.writer.begin() as conn:
            await T.open_bids(conn, decision_log(shell), who, tender_id, now())
        return RedirectResponse(tender_path(tender_id), 303)

    return api
