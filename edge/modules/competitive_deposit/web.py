"""The console's pages for competitive deposit (竞争性存放), phone-first: the accounts with their idle funds
explained, one account's balances and the joint meeting's decision, and each deposit from the plan that goes up
to the award that comes down, the signed contract and the income at maturity.

Village staff (村务人员) record; supervisors and approvers read. Every step goes through :mod:`desk`; a refused
step comes back as a flash message on the page it was taken from, and changes nothing.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import UploadFile

import edge.modules.competitive_deposit.desk as desk
import edge.modules.competitive_deposit.projection as P
from edge.kernel.contract import NavItem
from edge.kernel.documents import StoredDocument, store_document
from edge.kernel.errors import InputError, NotFound, Refused
from edge.ledger.localtime import local_today
from edge.modules.competitive_deposit.rules import yuan_text
from edge.modules.competitive_deposit.statements import MAX_FILE_BYTES
from edge.web.uploads import ACCEPT, DISK_FULL, disk_short, receive

BASE = "/competitive_deposit"
TEMPLATES = Path(__file__).parent / "templates"
WRITERS = ("village_staff",)
READERS = ("village_staff", "supervisor", "approver")
NAV = (NavItem(BASE, "资金存放", READERS),)


def router(shell: Any) -> APIRouter:
    api = APIRouter()
    agent = shell.console.agent

    async def reader(request: Request) -> Any:
        p = await shell.principal_of(request)
        if not p.roles.intersection(READERS):
            raise Refused("您的账号不能查看竞争性存放", "forbidden")
        return p

    async def writer(request: Request) -> Any:
        p = await shell.acting(request)
        if not p.roles.intersection(WRITERS):
            raise Refused("只有村务人员可以登记竞争性存放事项", "forbidden")
        return p

    async def done(request: Request, back: str, step: Any) -> Response:
        """Run a step; its message (or why it was refused) as the page's flash."""
        try:
            message = await step
        except (InputError, Refused) as exc:
            if isinstance(exc, NotFound) or exc.code == "forbidden":
                raise
            await shell.flash(request, "error", exc.message)
        else:
            await shell.flash(request, "ok", message)
        return RedirectResponse(back, 303)

    async def stored(form: Any, field: str) -> StoredDocument:
        """An uploaded PDF, JPG or PNG (minutes, a contract), checked and kept by its hash."""
        config, settings = shell.console.config, shell.settings
        if disk_short(config.data_dir, settings.min_free_bytes):
            raise InputError(DISK_FULL, "disk_full")
        got = await receive(form.get(field), config.data_dir / "incoming", settings.max_upload_bytes, settings.max_page_pixels)
        try:
            kept = await asyncio.to_thread(store_document, config.data_dir, got.path)
        finally:
            got.path.unlink(missing_ok=True)
        return StoredDocument(kept.sha256, got.name, kept.size)

    @api.get(BASE, include_in_schema=False)
    async def index(request: Request) -> Response:
        p = await reader(request)
        today = local_today()
        async with agent.recorder.step():
            views = await desk.account_views(agent, today)
            plans = await P.plans(agent.db.conn)
        names = {v.account: v.name for v in views}
        return await shell.render(  # type: ignore[no-any-return]
            request, "competitive_deposit/index.html", views=views, plans=plans, names=names, today=today,
            may_write=bool(p.roles.intersection(WRITERS)), STATUS_NAMES=P.STATUS_NAMES, yuan_text=yuan_text,
            s=desk.settings(agent), ACCEPT=ACCEPT,
        )  # fmt: skip

    @api.get(BASE + "/a/{account}", include_in_schema=False)
    async def account_page(request: Request, account: str) -> Response:
        p = await reader(request)
        today = local_today()
        async with agent.recorder.step():
            view = next((v for v in await desk.account_views(agent, today) if v.account == account), None)
            if view is None:
                raise NotFound("没有此账户")
            days = await P.history(agent.db.conn, account)
            plans = await P.plans(agent.db.conn, account)
        return await shell.render(  # type: ignore[no-any-return]
            request, "competitive_deposit/account.html", v=view, days=list(reversed(days))[:60], plans=plans, today=today,
            may_write=bool(p.roles.intersection(WRITERS)), STATUS_NAMES=P.STATUS_NAMES, yuan_text=yuan_text,
            TERMS=desk.TERMS, ACCEPT=ACCEPT, max_mb=MAX_FILE_BYTES // (1024 * 1024),
        )  # fmt: skip

    @api.post(BASE + "/accounts", include_in_schema=False)
    async def add_account(request: Request) -> Response:
        p = await writer(request)
        form = await request.form()

        async def step() -> str:
            number = await desk.add_account(agent, p.account.username, form.get("account"), form.get("name"), form.get("bank"))
            return f"已登记账户 {number}"

        return await done(request, BASE, step())

    @api.post(BASE + "/a/{account}/import", include_in_schema=False)
    async def import_file(request: Request, account: str) -> Response:
        p = await writer(request)
        form = await request.form()
        upload = form.get("statement")

        async def step() -> str:
            if not isinstance(upload, UploadFile) or not upload.filename:
                raise InputError("请选择银行流水或财务导出文件（CSV 或 XLSX）", "missing_file")
            filename = upload.filename
            data = await upload.read(MAX_FILE_BYTES + 1)
            got = await desk.import_statement(agent, p.account.username, account, data, str(filename), local_today())
            skipped = f"，跳过合计等无日期行 {got['skipped']} 行" if got["skipped"] else ""
            return f"已导入 {got['rows']} 行，{got['first']} 至 {got['last']} 共 {got['days']} 天的余额{skipped}"

        return await done(request, f"{BASE}/a/{account}", step())

    @api.post(BASE + "/a/{account}/balance", include_in_schema=False)
    async def enter_balance(request: Request, account: str) -> Response:
        p = await writer(request)
        form = await request.form()

        async def step() -> str:
            await desk.enter_balance(agent, p.account.username, account, form.get("day"), form.get("amount"), local_today())
            return "已录入余额"

        return await done(request, f"{BASE}/a/{account}", step())

    @api.post(BASE + "/a/{account}/plan", include_in_schema=False)
    async def record_plan(request: Request, account: str) -> Response:
        p = await writer(request)
        form = await request.form()

        async def step() -> str:
            plan = desk.check_plan(account, form.get("amount"), form.get("term"), form.get("meeting_date"), local_today())
            minutes = await stored(form, "minutes")
            plan_id = await desk.record_plan(agent, p.account.username, plan, minutes)
            return f"已记录联席会议决定 {plan_id}，将上报乡镇（县）参加当月竞争性存放招标"

        return await done(request, f"{BASE}/a/{account}", step())

    @api.post(BASE + "/p/{plan_id}/signed", include_in_schema=False)
    async def record_signed(request: Request, plan_id: str) -> Response:
        p = await writer(request)
        form = await request.form()

        async def step() -> str:
            signed_on, start = desk.check_signing(form.get("signed_on"), form.get("start_date"), local_today())
            contract = await stored(form, "contract")
            late = await desk.record_signed(agent, p.account.username, plan_id, signed_on, start, contract)
            return f"已登记 {plan_id} 的存款合同" + ("（逾期签约，已记录）" if late else "")

        return await done(request, BASE, step())

    @api.post(BASE + "/p/{plan_id}/matured", include_in_schema=False)
    async def record_matured(request: Request, plan_id: str) -> Response:
        p = await writer(request)

        async def step() -> str:
            income = await desk.record_matured(agent, p.account.username, plan_id, local_today())
            return f"{plan_id} 到期：利息 {yuan_text(income.interest_fen)} 元，比活期多 {yuan_text(income.extra_fen)} 元，已公示"

        return await done(request, BASE, step())

    return api

