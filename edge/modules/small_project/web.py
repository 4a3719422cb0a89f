"""The console's pages for small projects (限额工程), phone-first: the projects and the form to file one (its
bill priced from the catalogue in force), one project's page with each step in turn — the approvals of its
route, the village's recommended contractor, the township's opening of the three sealed quotes, acceptance and
settlement — and its draw's record as JSON, public, for anyone to re-run (``qinglian projects verify-draw``).

Every step goes through :mod:`desk`; a refused step comes back as a flash message on the page it was taken
from, and changes nothing.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable
from datetime import date, datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

import edge.modules.small_project.desk as desk  # noqa: PLR0402 (no cycle through the package)
import edge.modules.small_project.kinds as K
import edge.modules.small_project.projection as P
from edge.kernel.accounts import Actor
from edge.kernel.contract import Awaiting, NavItem, Notice
from edge.kernel.notices import routed
from edge.kernel.documents import document_path, store_document
from edge.kernel.errors import InputError, NotFound, Refused
from edge.kernel.fmt import AmountError, parse_yuan, yuan
from edge.kernel.routing import why_not
from edge.ledger import Entry
from edge.ledger.localtime import SHANGHAI, local_today, utc_bound
from edge.modules.small_project.kinds import STAGES
from edge.modules.small_project.rules import MAX_PRICE_FEN, BillLine, yuan_text
from edge.modules.small_project.settings import settings_of
from edge.web.uploads import ACCEPT, DISK_FULL, content_type_of, disk_short, quota_exceeded, receive

BASE = "/small_project"
TEMPLATES = Path(__file__).parent / "templates"
READERS = ("village_staff", "applicant", "approver", "supervisor")
NAV = (NavItem(BASE, "限额工程", READERS),)
FORM_LINES = 5  # bill lines on the phone form; a longer bill is split into projects or entered in turns


def _actor(p: Any) -> Actor:
    return Actor(p.account.username, p.person, p.roles)


def _lines(form: Any) -> list[BillLine]:
    lines = []
    for i in range(FORM_LINES):
        code, quantity = str(form.get(f"code{i}") or "").strip(), str(form.get(f"quantity{i}") or "").strip()
        if not code and not quantity:
            continue
        price_text = str(form.get(f"price{i}") or "").strip()
        try:
            price = parse_yuan(price_text, MAX_PRICE_FEN) if price_text else None
        except AmountError as exc:
            raise InputError(f"第 {i + 1} 行单价：{exc.message}", "bad_amount") from None
        lines.append(BillLine(code, quantity, price, str(form.get(f"reason{i}") or "")))
    if not lines:
        raise InputError("请至少填写一行工程量", "missing_field")
    return lines


def _day(value: Any, what: str) -> date:
    try:
        return date.fromisoformat(str(value or ""))
    except ValueError:
        raise InputError(f"请填写{what}（年-月-日）", "bad_date") from None


def local_text(moment: str) -> str:
    """A UTC moment as the village reads it (Asia/Shanghai)."""
    return datetime.fromisoformat(moment).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def _prefill(request: Request) -> dict[str, Any]:
    """What another page offers to file here (e.g. a work order of 30,000 yuan or more): name, place, scope and
    an estimated amount from the query string, only shown in the form; nothing is filed until the clerk submits.
    An unreadable amount is left out; the texts are cut to the form's limits (the template escapes them)."""
    q = request.query_params
    out: dict[str, Any] = {k: q.get(k, "")[:n] for k, n in (("name", 60), ("place", 60), ("scope", 1000))}
    try:
        out["amount_fen"] = parse_yuan(q.get("amount", ""), MAX_PRICE_FEN) if q.get("amount") else None
    except AmountError:
        out["amount_fen"] = None
    return out if any(out.values()) else {}


async def inbox(shell: Any, p: Any) -> list[Awaiting]:
    """Projects awaiting ``p`` as an approver, for the console's 待审批 inbox."""
    if p.person_id is None:
        return []
    agent = shell.console.agent
    async with agent.recorder.step():
        pending = await P.projects(agent.db.conn, "pending")
    return [project_item(r) for r in pending if p.person_id in r["route"]["approvers"]]


def project_item(r: dict[str, Any]) -> Awaiting:
    """A project as the 待审批 inbox and the approvers' pushes show it."""
    return Awaiting(r["id"], f"限额工程：{r['name']}", f"{r['category']} · 预算 {yuan(r['total_fen'])} · {r['place']}",
                    f"{BASE}/p/{r['id']}", r["filed_at"], desk.routed(r))  # fmt: skip


async def notices(host: Any, entry: Entry) -> list[Notice]:
    """The pushes of a project's filing and of each village approval step (the next approver; the filer, when
    they are on the roster, once it is approved or rejected): the routing desk's own, as every routed item's."""
    project_id = entry.body.get("id") if entry.kind == K.FILED else entry.body.get("project_id")
    if entry.kind not in (K.FILED, K.APPROVAL, K.APPROVED, K.REJECTED) or not isinstance(project_id, str):
        return []
    row = await P.project(host.db.conn, project_id)
    if row is None:
        return []
    pushes = routed(entry, K.NAME, K.FILED, project_item(row), row["person"] or "", host.config.name_of)
    return [n for n in pushes if all(n.people)]  # a filer off the roster (the clerk's account) has no devices here


def router(shell: Any) -> APIRouter:
    api = APIRouter()
    agent = shell.console.agent

    async def reader(request: Request) -> Any:
        p = await shell.principal_of(request)
        if not p.roles.intersection(READERS):
            raise Refused("您的账号不能查看限额工程", "forbidden")
        return p

    async def done(request: Request, back: str, step: Awaitable[str]) -> Response:
        try:
            message = await step
        except (InputError, Refused) as exc:
            if isinstance(exc, NotFound) or exc.code == "forbidden":
                raise
            await shell.flash(request, "error", exc.message)
        else:
            await shell.flash(request, "ok", message)
        return RedirectResponse(back, 303)

    @api.get(BASE, include_in_schema=False)
    async def index(request: Request) -> Response:
        p = await reader(request)
        async with agent.recorder.step():
            projects = await P.projects(agent.db.conn)
            catalogue = await P.current_catalogue(agent.db.conn)
        settings = settings_of(agent.config.sections)
        return await shell.render(  # type: ignore[no-any-return]
            request, "small_project/index.html", projects=projects, catalogue=catalogue, s=settings, STATUS=P.STATUS,
            may_file=bool(p.roles & desk.FILER_ROLES), yuan_text=yuan_text, FORM_LINES=FORM_LINES,
            prefill=_prefill(request),
        )  # fmt: skip

    @api.post(BASE + "/projects", include_in_schema=False)
    async def file(request: Request) -> Response:
        p = await shell.acting(request)
        form = await request.form()

        async def step() -> str:
            draft = desk.ProjectDraft(str(form.get("name") or ""), str(form.get("category") or ""), str(form.get("place") or ""),
                                      str(form.get("scope") or ""), _lines(form))  # fmt: skip
            project_id = await desk.file_project(agent, _actor(p), draft)
            return f"已申报工程 {project_id}，等待审批"

        return await done(request, BASE, step())

    @api.get(BASE + "/p/{project_id}", include_in_schema=False)
    async def page(request: Request, project_id: str) -> Response:
        p = await reader(request)
        async with agent.recorder.step():
            row = await P.project(agent.db.conn, project_id)
            steps = await P.township_steps(agent.db.conn, project_id)
            inputs = await P.draw_inputs(agent.db.conn, project_id)
            supervised = await P.supervision(agent.db.conn, project_id)
            shown = await P.progress_of(agent.db.conn, project_id)
            window = await P.quoting_of(agent.db.conn, project_id)
        if row is None:
            raise NotFound("没有此工程")
        people = agent.config.people
        turn = why_not(desk.routed(row), p.person_id, lambda i: people[i].name if i in people else i)
        return await shell.render(  # type: ignore[no-any-return]
            request, "small_project/project.html", r=row, STATUS=P.STATUS, yuan_text=yuan_text, today=local_today(),
            steps={s["approver"]: s for s in steps}, inputs=inputs, supervised=supervised, shown=shown, STAGES=STAGES,
            closes=local_text(window["closes_at"]) if window else None,
            ACCEPT=ACCEPT,
            may_file=bool(p.roles & desk.FILER_ROLES), may_decide=turn is None and "approver" in p.roles, turn=turn,
            names={i: people[i].name for i in row["route"]["approvers"] if i in people},
        )  # fmt: skip

    @api.post(BASE + "/p/{project_id}/decide", include_in_schema=False)
    async def decide(request: Request, project_id: str) -> Response:
        p = await shell.acting(request)
        form = await request.form()
        approve = form.get("decision") == "approve"

        async def step() -> str:
            final = await desk.decide(agent, _actor(p), project_id, approve, str(form.get("reason") or ""))
            return "已同意，审批通过" if final else ("已同意，等待下一位审批" if approve else "已驳回")

        return await done(request, f"{BASE}/p/{project_id}", step())

    @api.post(BASE + "/p/{project_id}/recommend", include_in_schema=False)
    async def recommend(request: Request, project_id: str) -> Response:
        p = await shell.acting(request)
        form = await request.form()

        async def step() -> str:
            await desk.recommend(
                agent,
                _actor(p),
                project_id,
                str(form.get("contractor_id") or ""),
                str(form.get("contractor_name") or ""),
                str(form.get("village_value") or ""),
            )
            return "已登记村推荐承包商和村随机值的承诺，等待乡镇固定抽取依据"

        return await done(request, f"{BASE}/p/{project_id}", step())

    @api.post(BASE + "/p/{project_id}/reveal", include_in_schema=False)
    async def reveal(request: Request, project_id: str) -> Response:
        p = await shell.acting(request)
        form = await request.form()

        async def step() -> str:
            await desk.reveal_value(agent, _actor(p), project_id, str(form.get("village_value") or ""))
            return "已公布村随机值，等待乡镇公布随机值并抽取"

        return await done(request, f"{BASE}/p/{project_id}", step())

    @api.post(BASE + "/p/{project_id}/complete", include_in_schema=False)
    async def complete(request: Request, project_id: str) -> Response:
        p = await shell.acting(request)
        form = await request.form()

        async def step() -> str:
            diff = await desk.complete(
                agent, _actor(p), project_id, _day(form.get("accepted_on"), "验收日期"), str(form.get("settled") or "")
            )
            return f"已验收结算，较预算节约 {yuan_text(diff['vs_budget_fen'])} 元，已公示"

        return await done(request, f"{BASE}/p/{project_id}", step())

    @api.post(BASE + "/p/{project_id}/progress", include_in_schema=False)
    async def show_progress(request: Request, project_id: str) -> Response:
        p = await shell.acting(request)
        form = await request.form()
        upload = form.get("file")
        settings, data_dir = shell.settings, agent.config.data_dir

        async def step() -> str:
            if disk_short(data_dir, settings.min_free_bytes) is not None:
                raise InputError(DISK_FULL, "disk_full")
            received = await receive(upload, data_dir / "incoming", settings.max_upload_bytes, settings.max_page_pixels)

            async def store() -> dict[str, Any]:  # inside the step: the quota cannot be raced
                used = await P.uploaded_since(agent.db.conn, p.account.username, utc_bound(local_today()))
                over = quota_exceeded(used, received.size, settings.upload_quota_bytes)
                if over is not None:
                    raise InputError(over, "upload_quota")
                stored = await asyncio.to_thread(store_document, data_dir, received.path)
                return {"sha256": stored.sha256, "name": received.name, "size": stored.size}

            try:
                stage = str(form.get("stage") or "")
                await desk.show_progress(agent, _actor(p), project_id, stage, _day(form.get("day"), "日期"),
                                         str(form.get("note") or ""), store)  # fmt: skip
            finally:
                received.path.unlink(missing_ok=True)
            return f"已公示“{STAGES[stage]}”"

        return await done(request, f"{BASE}/p/{project_id}", step())

    @api.get(BASE + "/p/{project_id}/notice", include_in_schema=False)
    async def notice(request: Request, project_id: str) -> Response:
        """Public, like the notice board: the project's published record — budget, the three quoting contractors,
        the winner, "121", and each step of the works with its photo or document."""
        async with agent.recorder.step():
            row = await P.project(agent.db.conn, project_id)
            shown = await P.progress_of(agent.db.conn, project_id)
            supervised = await P.supervision(agent.db.conn, project_id)
        if row is None or row["status"] in ("pending", "township"):
            raise NotFound("没有此工程的公示")
        return await shell.render(  # type: ignore[no-any-return]
            request, "small_project/notice.html", r=row, shown=shown, supervised=supervised, STATUS=P.STATUS,
            STAGES=STAGES, yuan_text=yuan_text,
        )  # fmt: skip

    @api.get(BASE + "/p/{project_id}/files/{sha256}", include_in_schema=False)
    async def progress_file(project_id: str, sha256: str) -> Response:
        """Public: a photo or document shown on the project's notice (only those; nothing else of the store)."""
        async with agent.recorder.step():
            shown = [f for f in await P.progress_of(agent.db.conn, project_id) if f["sha256"] == sha256]
        path = document_path(agent.config.data_dir, sha256) if shown else None
        if path is None or not path.exists():
            raise NotFound("没有此文件")
        ctype = await asyncio.to_thread(content_type_of, path)
        headers = {"Cache-Control": "public, max-age=3600", "Content-Security-Policy": "sandbox; default-src 'none'; img-src 'self'"}
        return FileResponse(path, media_type=ctype or "application/octet-stream", filename=shown[0]["name"],
                            content_disposition_type="inline", headers=headers)  # fmt: skip

    @api.get(BASE + "/p/{project_id}/draw.json", include_in_schema=False)
    async def draw_record(project_id: str) -> Response:
        """Public, like the notice board: the draw's whole record, for ``qinglian projects verify-draw``."""
        async with agent.recorder.step():
            row = await P.project(agent.db.conn, project_id)
        if row is None or row["draw"] is None:
            raise NotFound("此工程尚无抽取记录")
        body = json.dumps(row["draw"], ensure_ascii=False, indent=1)
        headers = {"Content-Disposition": f'attachment; filename="draw-{project_id}.json"'}
        return Response(body, media_type="application/json", headers=headers)

    return api
