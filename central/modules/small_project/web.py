"""``/m/small_project``: the township's side of small projects.

* ``/m/small_project``            the guide-price catalogue: a township officer publishes a CSV or XLSX to its villages
* ``/m/small_project/pool``       the contractor pool: register, blacklist with a reason, lift a blacklisting
* ``/m/small_project/projects``   the villages' projects; those awaiting a draw; fix a draw, reveal and draw
* ``/m/small_project/draws/<id>.json``  a draw's public record, no login (what ``verify-draw`` re-runs)
* ``/m/small_project/quotes``     a contractor's invitations to quote (its supplier account), its sealed quote

Officers and supervisors read what is in their scope; only a township officer of the township acts."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse, RedirectResponse, Response

import central.modules.small_project.draw as draw  # noqa: PLR0402 (the submodules, not the package: no cycle)
import central.modules.small_project.pool as pool  # noqa: PLR0402
import central.modules.small_project.projects as projects  # noqa: PLR0402
import central.modules.small_project.quotes as quotes  # noqa: PLR0402
import central.modules.small_project.supervision as supervision  # noqa: PLR0402
import edge.modules.small_project.rules as rules  # noqa: PLR0402 (the pure rules only, as the layers allow)
from central.contract import NavItem, WorkItem
from central.decisions.routes import decision_log
from central.modules.small_project.catalogue import HEADER, MAX_BYTES, publish, published, read_catalogue
from central.store import Refusal

TEMPLATES = Path(__file__).parent / "templates"
READERS = ("county_officer", "township_officer", "admin", "supervisor")
NAV = (
    NavItem("/m/small_project", "限额工程", READERS),
    NavItem("/m/small_project/pool", "承包商库", READERS),
    NavItem("/m/small_project/projects", "村级工程与抽取", READERS),
    NavItem("/m/small_project/quotes", "限额工程报价", ("supplier",)),
)
Text = Annotated[str, Form()]
PROJECTS, POOL, QUOTES = "/m/small_project/projects", "/m/small_project/pool", "/m/small_project/quotes"
#: A step a form takes: (write connection, decision log, who) -> its effect.
Step = Callable[[Any, Any, Any], Awaitable[Any]]


async def work(shell: Any, who: Any) -> list[WorkItem]:
    """我的工作 of a township officer: the township's projects awaiting a draw, and draws fixed but not revealed."""
    if who.level != "township" or who.role != "township_officer":
        return []
    async with shell.store.db.reader.connect() as conn:
        rows = await projects.listed(conn, who)
        fixed = await draw.of_projects(conn, who)
        rounds = await quotes.of_draws(conn, [d.id for d in fixed.values()])
        checked = await supervision.of_projects(conn, who)
        turns = [row for row in rows if row["status"] == "township" and rules.township_refusal(
            *await projects.steps_of(conn, row["edge_id"], row["project_id"]), who.account or "") is None]  # fmt: skip
    items = [WorkItem(f"待乡镇审批：{row['village']} {row['name']}", "/m/small_project/projects", "村审批已通过，轮到您审批")
             for row in turns]  # fmt: skip
    for row in rows:
        mine = (checked.get((row["edge_id"], row["project_id"])) or {}).get("mine", [])
        days = [checked[(row["edge_id"], row["project_id"])]["record"]["checks"][n - 1]["day"] for n in mine]
        items += [WorkItem(f"随机检查：{row['village']} {row['name']}", "/m/small_project/projects",
                           f"抽到您于 {day} 起检查，检查后记录情况") for day in days]  # fmt: skip
        done = fixed.get((row["edge_id"], row["project_id"]))
        if done is None and projects.awaiting(row):
            items.append(WorkItem(f"待抽取承包商：{row['village']} {row['name']}", "/m/small_project/projects",
                                  "固定库快照并公布随机值的承诺"))  # fmt: skip
        elif done is not None and done.status == "fixed":
            items.append(WorkItem(f"待公布随机值：{row['village']} {row['name']}", "/m/small_project/projects",
                                  "公布后即抽取并下发到村"))  # fmt: skip
        elif done is not None and done.status == "drawn" and done.id not in rounds:
            items.append(WorkItem(f"待发出报价邀请：{row['village']} {row['name']}", "/m/small_project/projects",
                                  "邀请三家承包商在报价时间内密封报价"))  # fmt: skip
        elif done is not None and rounds.get(done.id, {}).get("status") == "quoting":
            items.append(WorkItem(f"待开标：{row['village']} {row['name']}", "/m/small_project/projects",
                                  f"报价截止 {rounds[done.id]['closes']}，截止后在同行列席人见证下开标"))  # fmt: skip
    return items


def router(shell: Any) -> APIRouter:
    api = APIRouter()

    def now() -> datetime:
        return datetime.fromtimestamp(shell.clock(), UTC)

    def acts(who: Any) -> bool:
        return bool(who.level == "township" and who.role == "township_officer")

    async def acted(request: Request, csrf: str, back: str, step: Step, role: str = "township_officer") -> Response:
        """One step of a form: ``role`` only, its CSRF token checked, the step (its decision first) in one write
        transaction; then back to ``back``. A refusal is the step's own (a 4xx with its message)."""
        who = await shell.require(request, role)
        await shell.check_csrf(request, csrf)
        async with shell.store.db.writer.begin() as conn:
            await step(conn, decision_log(shell), who)
        return RedirectResponse(back, 303)

    @api.get("/m/small_project", include_in_schema=False)
    async def page(request: Request) -> Response:
        who = await shell.supervising(request)
        async with shell.store.db.reader.connect() as conn:
            rows = await published(conn, who)
        return await shell.render(  # type: ignore[no-any-return]
            request, "small_project/catalogues.html", rows=rows, may_publish=acts(who), header=",".join(HEADER)
        )

    @api.post("/m/small_project/catalogues", include_in_schema=False)
    async def publish_catalogue(
        request: Request, file: Annotated[UploadFile, File()], version: Text = "", effective: Text = "", csrf: Text = ""
    ) -> Response:
        who = await shell.require(request, "township_officer")
        await shell.check_csrf(request, csrf)
        body = read_catalogue(file.filename or "", await file.read(MAX_BYTES + 1), version, effective)
        async with shell.store.db.writer.begin() as conn:
            await publish(conn, decision_log(shell), who, body, now())
        return RedirectResponse("/m/small_project", 303)

    # -- the contractor pool ---------------------------------------------------------------------

    @api.get("/m/small_project/pool", include_in_schema=False)
    async def pool_page(request: Request) -> Response:
        who = await shell.supervising(request)
        async with shell.store.db.reader.connect() as conn:
            rows = await pool.listed(conn, who)
        return await shell.render(request, "small_project/pool.html", rows=rows, may_act=acts(who))  # type: ignore[no-any-return]

    @api.post("/m/small_project/pool", include_in_schema=False)
    async def register(
        request: Request, name: Text = "", code: Text = "", categories: Text = "", csrf: Text = ""
    ) -> Response:
        return await acted(
            request, csrf, POOL, lambda conn, log, who: pool.register(conn, log, who, name, code, categories, now())
        )

    async def blacklisting(request: Request, code: str, reason: str, csrf: str, blacklisted: bool) -> Response:
        return await acted(
            request, csrf, POOL, lambda conn, log, who: pool.set_blacklisted(conn, log, who, code, blacklisted, reason, now())
        )

    @api.post("/m/small_project/pool/{code}/blacklist", include_in_schema=False)
    async def blacklist(request: Request, code: str, reason: Text = "", csrf: Text = "") -> Response:
        return await blacklisting(request, code, reason, csrf, True)

    @api.post("/m/small_project/pool/{code}/unblacklist", include_in_schema=False)
    async def unblacklist(request: Request, code: str, reason: Text = "", csrf: Text = "") -> Response:
        return await blacklisting(request, code, reason, csrf, False)

    # -- the villages' projects and the draw ---------------------------------------------------------

    @api.get("/m/small_project/projects", include_in_schema=False)
    async def projects_page(request: Request) -> Response:
        who = await shell.supervising(request)
        async with shell.store.db.reader.connect() as conn:
            rows = await projects.listed(conn, who)
            fixed = await draw.of_projects(conn, who)
            rounds = await quotes.of_draws(conn, [d.id for d in fixed.values()])
            checked = await supervision.of_projects(conn, who)
            for row in rows:
                row["township"] = await projects.steps_of(conn, row["edge_id"], row["project_id"])
                row["checks"] = checked.get((row["edge_id"], row["project_id"]))
        for row in rows:
            approvers, done = row["township"]
            row["my_turn"] = row["status"] == "township" and rules.township_refusal(approvers, done, who.account or "") is None
            row["draw"] = fixed.get((row["edge_id"], row["project_id"]))
            row["awaiting"] = projects.awaiting(row) and row["draw"] is None
            row["round"] = rounds.get(row["draw"].id) if row["draw"] else None
        return await shell.render(  # type: ignore[no-any-return]
            request, "small_project/projects.html", rows=rows, may_act=acts(who), value_min=rules.VALUE_MIN,
            hours=quotes.WINDOW_HOURS, now=now().isoformat(timespec="seconds"), today=now().date().isoformat(),
        )  # fmt: skip

    @api.post("/m/small_project/projects/{edge_id}/{project_id}/draw", include_in_schema=False)
    async def fix_draw(
        request: Request, edge_id: str, project_id: str, commitment: Text = "", csrf: Text = ""
    ) -> Response:
        return await acted(
            request, csrf, PROJECTS, lambda conn, log, who: draw.fix(conn, log, who, edge_id, project_id, commitment, now())
        )

    @api.post("/m/small_project/projects/{edge_id}/{project_id}/step", include_in_schema=False)
    async def township_step(
        request: Request, edge_id: str, project_id: str, decision: Text = "", reason: Text = "", csrf: Text = ""
    ) -> Response:
        return await acted(
            request, csrf, PROJECTS, lambda conn, log, who: projects.township_step(conn, log, who, edge_id, project_id, decision == "approve", reason)
        )

    @api.post("/m/small_project/draws/{draw_id}/reveal", include_in_schema=False)
    async def reveal(request: Request, draw_id: str, value: Text = "", csrf: Text = "") -> Response:
        return await acted(request, csrf, PROJECTS, lambda conn, log, who: draw.reveal(conn, log, who, draw_id, value))

    # -- the sealed quotes -------------------------------------------------------------------------------

    @api.post("/m/small_project/draws/{draw_id}/invite", include_in_schema=False)
    async def invite(request: Request, draw_id: str, hours: Text = "", hotline: Text = "", csrf: Text = "") -> Response:
        return await acted(
            request, csrf, PROJECTS, lambda conn, log, who: quotes.invite(conn, log, who, draw_id, hours, hotline, now())
        )

    @api.get("/m/small_project/quotes", include_in_schema=False)
    async def quotes_page(request: Request) -> Response:
        who = await shell.require(request, "supplier")
        async with shell.store.db.reader.connect() as conn:
            rows = await quotes.invitations(conn, who)
        return await shell.render(request, "small_project/quotes.html", rows=rows, now=now().isoformat())  # type: ignore[no-any-return]

    @api.post("/m/small_project/quotes/{draw_id}", include_in_schema=False)
    async def quote(request: Request, draw_id: str, amount: Text = "", csrf: Text = "") -> Response:
        return await acted(
            request, csrf, QUOTES, lambda conn, log, who: quotes.submit(conn, log, who, draw_id, amount, now()), "supplier"
        )

    @api.post("/m/small_project/draws/{draw_id}/open", include_in_schema=False)
    async def open_round(request: Request, draw_id: str, observer: Text = "", csrf: Text = "") -> Response:
        return await acted(
            request, csrf, PROJECTS, lambda conn, log, who: quotes.open_round(conn, log, who, draw_id, observer, now())
        )

    # -- "121" supervision ----------------------------------------------------------------------------

    @api.post("/m/small_project/projects/{edge_id}/{project_id}/checks", include_in_schema=False)
    async def fix_checks(request: Request, edge_id: str, project_id: str, commitment: Text = "", first: Text = "",
                         last: Text = "", csrf: Text = "") -> Response:  # fmt: skip
        return await acted(
            request, csrf, PROJECTS, lambda conn, log, who: supervision.fix(conn, log, who, edge_id, project_id, commitment, first, last)
        )

    @api.post("/m/small_project/checks/{check_id}/reveal", include_in_schema=False)
    async def reveal_checks(request: Request, check_id: str, value: Text = "", csrf: Text = "") -> Response:
        return await acted(
            request, csrf, PROJECTS, lambda conn, log, who: supervision.reveal(conn, log, who, check_id, value)
        )

    @api.post("/m/small_project/checks/{check_id}/done", include_in_schema=False)
    async def check_done(request: Request, check_id: str, no: Text = "", findings: Text = "", csrf: Text = "") -> Response:
        return await acted(
            request, csrf, PROJECTS, lambda conn, log, who: supervision.record_check(conn, log, who, check_id, no, findings, now())
        )

    @api.post("/m/small_project/projects/{edge_id}/{project_id}/complaint", include_in_schema=False)
    async def complaint(request: Request, edge_id: str, project_id: str, summary: Text = "", anonymous: Text = "",
                        csrf: Text = "") -> Response:  # fmt: skip
        return await acted(
            request, csrf, PROJECTS, lambda conn, log, who: supervision.complaint(conn, log, who, edge_id, project_id, summary, anonymous == "1", now())
        )

    @api.get("/m/small_project/checks/{check_id}.json", include_in_schema=False)
    async def checks_record(check_id: str) -> Response:
        async with shell.store.db.reader.connect() as conn:
            row = await supervision.by_id(conn, check_id)
        if row is None:
            raise Refusal(404, "not_found", "没有这次随机检查")
        return JSONResponse(supervision.public_record(row))

    @api.get("/m/small_project/draws/{draw_id}.json", include_in_schema=False)
    async def public_record(draw_id: str) -> Response:
        async with shell.store.db.reader.connect() as conn:
            row = await draw.by_id(conn, draw_id)
            rounds = await quotes.of_draws(conn, [draw_id])
            chosen = await projects.recommended_of(conn, row.edge_id, row.project_id) if row is not None else None
        if row is None:
            raise Refusal(404, "not_found", "没有这次抽取")
        public = draw.public_record(row, (chosen or {}).get("commitment"))
        if draw_id in rounds:  # the window, and the quotes only once opened (with the round's key)
            done = rounds[draw_id]
            public["quoting"] = {"closes_at": done["closes_at"], "status": done["status"],
                                 **({"opening": done["result"]} if done["result"] else {"count": done["count"]})}  # fmt: skip
        return JSONResponse(public)

    return api
