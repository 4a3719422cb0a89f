"""The procurement pages of the village console (phone-first, Chinese): the purchase list, recording a
purchase (and the refusal of an offline one, with the purchases that add up and the way to an override),
overrides and demands to decide, and the steps after an award. Mounted by the console's shell like every
part's router; sessions, CSRF, rendering and the error envelope are the shell's."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import FileResponse, RedirectResponse, Response

import edge.modules.procurement.db as db  # noqa: PLR0402  (not from the package: its __init__ imports this)
import edge.modules.procurement.desk as desk  # noqa: PLR0402  (not from the package: its __init__ imports this)
import edge.modules.procurement.inputs as inputs  # noqa: PLR0402  (not from the package: its __init__ imports this)
import edge.modules.procurement.kinds as K  # noqa: PLR0402  (not from the package: its __init__ imports this)
from edge.kernel.accounts import Actor
from edge.kernel.contract import Awaiting, NavItem, Notice
from edge.kernel.documents import document_path, store_document
from edge.kernel.errors import InputError, NotFound, Refused
from edge.kernel.fmt import yuan
from edge.kernel.notices import routed
from edge.kernel.routing import why_not
from edge.ledger import Entry
from edge.ledger.localtime import local_today, utc_bound
from edge.modules.procurement.rules import CATEGORIES, CHANNEL_NAMES, RULE_NAMES, THRESHOLD_FEN
from edge.web.service import PASSWORD_CHANGE_REQUIRED, Principal
from edge.web.shell import Shell
from edge.web.uploads import ACCEPT, DISK_FULL, content_type_of, disk_short, quota_exceeded, receive

TEMPLATES = Path(__file__).parent / "templates"
NAV = (NavItem("/procurement", "采购"),)
ROWS = 5  # item lines on a form: enough for an invoice; a longer one is recorded as two purchases
LINE_FIELDS = ("name", "spec", "unit", "quantity", "price")


async def reader(shell: Shell, request: Request) -> Principal:
    """The logged-in principal, if their account covers this village (another village's account sees nothing)."""
    p = await shell.principal_of(request)
    if not p.roles:
        raise Refused("您的账号不在本村范围内", "forbidden")
    return p


def actor(p: Principal) -> Actor:
    return Actor(p.account.username, p.person, p.roles)


def deciding(p: Principal) -> Actor:
    """The actor of a decision: an account whose password an admin knows decides nothing."""
    if p.account.must_change_password:
        raise Refused(PASSWORD_CHANGE_REQUIRED, "password_change_required")
    return actor(p)


def rows_of(form: Mapping[str, Any]) -> list[dict[str, str]]:
    return [{k: str(form.get(f"line-{i}-{k}") or "") for k in LINE_FIELDS} for i in range(1, ROWS + 1)]


class Uploads:
    """Files a step keeps (an invoice, a contract, a delivery photo): the console's limits on type, size and
    pixels, the disk's floor and the account's daily quota — all checked before anything is recorded."""

    def __init__(self, shell: Shell) -> None:
        self.shell = shell

    async def receive(self, upload: UploadFile | None) -> Any:
        """The checked upload in a temporary file, or None when no file was chosen."""
        if upload is None or not upload.filename:
            return None
        settings, data_dir = self.shell.settings, self.shell.console.config.data_dir
        if disk_short(data_dir, settings.min_free_bytes) is not None:
            raise InputError(DISK_FULL, "disk_full")
        return await receive(upload, data_dir / "incoming", settings.max_upload_bytes, settings.max_page_pixels)

    def keeper(self, received: Any, account: str) -> desk.Store:
        """Stores ``received`` when the step decides to keep it (inside the step: the quota cannot be raced)."""

        async def store() -> Mapping[str, Any] | None:
            if received is None:
                return None
            settings, agent = self.shell.settings, self.shell.console.agent
            if disk_short(agent.config.data_dir, settings.min_free_bytes, received.size) is not None:
                raise InputError(DISK_FULL, "disk_full")
            used = await db.bytes_uploaded(agent.db.conn, account, utc_bound(local_today()))
            over = quota_exceeded(used, received.size, settings.upload_quota_bytes)
            if over is not None:
                raise InputError(over, "upload_quota")
            stored = await asyncio.to_thread(store_document, agent.config.data_dir, received.path)
            return {"sha256": stored.sha256, "name": received.name, "size": stored.size}

        return store

    @staticmethod
    def discard(received: Any) -> None:
        if received is not None:
            received.path.unlink(missing_ok=True)


def override_item(o: Mapping[str, Any]) -> Awaiting:
    """An override as the 待审批 inbox and its pushes show it."""
    summary = f"线下采购例外登记 · {yuan(o['purchase']['amount_fen'])} · {o['purchase']['supplier']}"
    return Awaiting(o["id"], f"例外登记：{o['purchase']['category']}", summary, f"/procurement/overrides/{o['id']}",
                    o["filed_at"], desk.override_routed(o))  # fmt: skip


def demand_item(d: Mapping[str, Any]) -> Awaiting:
    """A demand as the 待审批 inbox and its pushes show it."""
    summary = f"采购需求 · 最高限价 {yuan(d['ceiling_fen'])} · 交货 {d['delivery_date']}"
    return Awaiting(d["id"], d["title"], summary, f"/procurement/demands/{d['id']}", d["filed_at"], desk.demand_routed(d))


async def inbox(shell: Shell, p: Principal) -> list[Awaiting]:
    """Overrides and demands awaiting ``p`` as an approver, for the console's 待审批 inbox."""
    if p.person_id is None:
        return []
    agent = shell.console.agent
    async with agent.recorder.step():
        overrides = await db.overrides(agent.db.conn, "pending")
        demands = await db.demands(agent.db.conn, "pending")
    items = [override_item(o) for o in overrides if p.person_id in o["route"]["approvers"]]
    return items + [demand_item(d) for d in demands if p.person_id in d["route"]["approvers"]]


async def notices(host: Any, entry: Entry) -> list[Notice]:
    """The pushes of an override's or a demand's village approval: the routing desk's own, as every routed item
    gets them (the township's review at the central is told on its own pages)."""
    conn, b, name = host.db.conn, entry.body, host.config.name_of
    if entry.kind == K.OVERRIDE_REQUESTED or entry.kind.startswith(f"{K.OVERRIDE}."):
        o = await db.override(conn, str(b.get("override_id", b.get("id"))))  # its filing names it "id", the desk "override_id"
        return [] if o is None else routed(entry, K.OVERRIDE, K.OVERRIDE_REQUESTED, override_item(o), o.get("person"), name)
    if entry.kind == K.DEMAND_FILED or entry.kind.startswith(f"{K.DEMAND}."):
        d = await db.demand(conn, str(b.get("demand_id", b.get("id"))))
        return [] if d is None else routed(entry, K.DEMAND, K.DEMAND_FILED, demand_item(d), d.get("person"), name)
    return []


def router(shell: Shell) -> APIRouter:
    api = APIRouter()
    agent = shell.console.agent
    uploads = Uploads(shell)

    async def read(fn: Any, *args: Any) -> Any:
        async with agent.recorder.step():
            return await fn(agent.db.conn, *args)

    def today() -> Any:
        return local_today()

    def ceiling() -> int:
        return int(shell.console.config.money.max_amount_fen)

    def page_context() -> dict[str, Any]:
        return {"CHANNEL_NAMES": CHANNEL_NAMES, "CATEGORIES": CATEGORIES, "RULE_NAMES": RULE_NAMES, "DEMAND_STATUS": db.DEMAND_STATUS,
                "OVERRIDE_STATUS": db.OVERRIDE_STATUS, "ACCEPT": ACCEPT, "ROWS": ROWS,
                "max_upload_mb": shell.settings.max_upload_bytes // (1024 * 1024), "threshold": yuan(THRESHOLD_FEN),
                "today": today().isoformat()}  # fmt: skip

    @api.get("/procurement", include_in_schema=False)
    async def overview(request: Request) -> Response:
        p = await reader(shell, request)
        purchases = list(reversed(await read(db.purchases)))
        return await shell.render(
            request, "procurement/overview.html", purchases=purchases, demands=await read(db.demands),
            overrides=await read(db.overrides), refusals=await read(db.refusals, 10), may_record=desk.may_record(actor(p)), **page_context(),
        )  # fmt: skip

    # -- purchases -------------------------------------------------------------------------------------

    async def purchase_form(request: Request, p: Principal, status: int = 200, **context: Any) -> Response:
        context.setdefault("form", {"day": today().isoformat(), "channel": "offline"})
        context.setdefault("rows", rows_of({}))
        return await shell.render(request, "procurement/purchase_new.html", status, **page_context(), **context)

    @api.get("/procurement/purchases/new", include_in_schema=False)
    async def new_purchase(request: Request) -> Response:
        p = await reader(shell, request)
        if not desk.may_record(actor(p)):
            raise Refused("您的账号不能登记采购（需要村务人员或申请人角色）", "forbidden")
        return await purchase_form(request, p)

    @api.post("/procurement/purchases/new", include_in_schema=False)
    async def record_purchase(request: Request, invoice: Annotated[UploadFile | None, File()] = None) -> Response:
        p = await shell.acting(request)
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        rows = rows_of(form)
        received = None
        try:
            draft = inputs.purchase(form, rows, today(), ceiling())
            received = await uploads.receive(invoice)
            if form.get("action") == "override":
                oid = await desk.request_override(
                    agent,
                    actor(p),
                    draft,
                    form.get("override_reason", ""),
                    uploads.keeper(received, p.account.username),
                )
                await shell.flash(request, "ok", f"已提交例外登记申请 {oid}，等待第二审批人审批。")
                return RedirectResponse(f"/procurement/overrides/{oid}", 303)
            pid = await desk.record_purchase(agent, actor(p), draft, uploads.keeper(received, p.account.username))
        except desk.SplitPurchase as refused:
            adding = await adding_up(refused.groups, form)
            return await purchase_form(
                request, p, 409, form=form, rows=rows, refusal=refused.message, groups=refused.groups, adding=adding
            )
        except InputError as exc:
            return await purchase_form(request, p, 400, form=form, rows=rows, error=exc.message)
        finally:
            uploads.discard(received)
        await shell.flash(request, "ok", f"已登记采购 {pid}。")
        return RedirectResponse(f"/procurement/purchases/{pid}", 303)

    async def adding_up(groups: list[dict[str, Any]], form: Mapping[str, str]) -> dict[str, dict[str, Any]]:
        """The purchases a refusal names, by id, with "本次" the one just refused."""
        ids = {i for g in groups for i in g["ids"]}
        known = {r["id"]: r for r in await read(db.purchases) if r["id"] in ids}
        group = groups[0]  # the one just refused is its total less the others
        amount = int(group["total_fen"]) - sum(int(known[i]["amount_fen"]) for i in group["ids"] if i in known)
        known["本次"] = {
            "id": "本次",
            "day": form.get("day", ""),
            "supplier": form.get("supplier", ""),
            "amount_fen": amount,
        }
        return known

    @api.get("/procurement/purchases/{purchase_id}", include_in_schema=False)
    async def purchase_page(request: Request, purchase_id: str) -> Response:
        await reader(shell, request)
        row = await read(db.purchase, purchase_id)
        if row is None:
            raise NotFound("没有此采购记录")
        return await shell.render(request, "procurement/purchase.html", r=row, **page_context())

    @api.get("/procurement/files/{sha256}", include_in_schema=False)
    async def file(request: Request, sha256: str) -> Response:
        await reader(shell, request)
        name = await read(db.file_known, sha256)
        if name is None:
            raise NotFound("没有此文件")
        path = document_path(shell.console.config.data_dir, sha256)
        if not path.exists():
            raise NotFound("文件不在本机的文档库中")
        ctype = await asyncio.to_thread(content_type_of, path)
        headers = {
            "Cache-Control": "private, max-age=3600",
            "Content-Security-Policy": "sandbox; default-src 'none'; img-src 'self'",
        }
        if ctype in ("image/png", "image/jpeg", "application/pdf"):
            return FileResponse(
                path, media_type=ctype, filename=name, content_disposition_type="inline", headers=headers
            )
        return FileResponse(path, media_type="application/octet-stream", filename=name, headers=headers)

    # -- overrides -------------------------------------------------------------------------------------

    @api.get("/procurement/overrides/{override_id}", include_in_schema=False)
    async def override_page(request: Request, override_id: str) -> Response:
        p = await reader(shell, request)
        row = await read(db.override, override_id)
        if row is None:
            raise NotFound("没有此例外登记申请")
        turn = why_not(desk.override_routed(row), p.person_id if p.may_decide else None, shell.console.name_of)
        return await shell.render(request, "procurement/override.html", o=row, turn=turn, **page_context())

    @api.post("/procurement/overrides/{override_id}/{decision}", include_in_schema=False)
    async def decide_override(
        request: Request, override_id: str, decision: str, reason: Annotated[str, Form()] = ""
    ) -> Response:
        p = await shell.acting(request)
        if decision not in ("approve", "reject"):
            raise NotFound("没有此操作")
        pid = await desk.decide_override(agent, deciding(p), override_id, decision == "approve", reason)
        message = (
            f"已同意，采购已登记为 {pid}（标记为例外）" if pid else ("已同意" if decision == "approve" else "已驳回")
        )
        await shell.flash(request, "ok", message)
        return RedirectResponse(f"/procurement/overrides/{override_id}", 303)

    # -- demands ---------------------------------------------------------------------------------------

    async def demand_form(request: Request, status: int = 200, **context: Any) -> Response:
        context.setdefault("form", {})
        context.setdefault("rows", rows_of({}))
        return await shell.render(request, "procurement/demand_new.html", status, **page_context(), **context)

    @api.get("/procurement/demands/new", include_in_schema=False)
    async def new_demand(request: Request) -> Response:
        p = await reader(shell, request)
        if not desk.may_record(actor(p)):
            raise Refused("您的账号不能提交采购需求（需要村务人员或申请人角色）", "forbidden")
        return await demand_form(request)

    @api.post("/procurement/demands/new", include_in_schema=False)
    async def file_demand(request: Request, document: Annotated[UploadFile | None, File()] = None) -> Response:
        p = await shell.acting(request)
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        rows = rows_of(form)
        received = None
        try:
            draft = inputs.demand(form, rows, today(), ceiling())
            received = await uploads.receive(document)
            did = await desk.file_demand(agent, actor(p), draft, uploads.keeper(received, p.account.username))
        except InputError as exc:
            return await demand_form(request, 400, form=form, rows=rows, error=exc.message)
        finally:
            uploads.discard(received)
        await shell.flash(request, "ok", f"已提交采购需求 {did}，等待村内审批。")
        return RedirectResponse(f"/procurement/demands/{did}", 303)

    @api.get("/procurement/demands/{demand_id}", include_in_schema=False)
    async def demand_page(request: Request, demand_id: str) -> Response:
        p = await reader(shell, request)
        row = await read(db.demand, demand_id)
        if row is None:
            raise NotFound("没有此采购需求")
        turn = why_not(desk.demand_routed(row), p.person_id if p.may_decide else None, shell.console.name_of)
        due = int(row["award"]["amount_fen"]) - int(row["paid_fen"]) if row.get("award") else None
        due_text = f"{due // 100}.{due % 100:02d}" if due else ""
        return await shell.render(
            request,
            "procurement/demand.html",
            d=row,
            turn=turn,
            due=due,
            due_text=due_text,
            may_record=desk.may_record(actor(p)),
            **page_context(),
        )

    @api.post("/procurement/demands/{demand_id}/{decision}", include_in_schema=False)
    async def decide_demand(
        request: Request, demand_id: str, decision: str, reason: Annotated[str, Form()] = ""
    ) -> Response:
        p = await shell.acting(request)
        if decision not in ("approve", "reject"):
            raise NotFound("没有此操作")
        up = await desk.decide_demand(agent, deciding(p), demand_id, decision == "approve", reason)
        message = "村内审批通过，已报送乡镇审核" if up else ("已同意" if decision == "approve" else "已驳回")
        await shell.flash(request, "ok", message)
        return RedirectResponse(f"/procurement/demands/{demand_id}", 303)

    @api.post("/procurement/demands/{demand_id}/step/{step}", include_in_schema=False)
    async def after_award(
        request: Request, demand_id: str, step: str, file: Annotated[UploadFile | None, File()] = None
    ) -> Response:
        p = await shell.acting(request)
        if step not in ("contract", "delivery", "payment"):
            raise NotFound("没有此操作")
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        received = None
        try:
            received = await uploads.receive(file)
            keep = uploads.keeper(received, p.account.username)
            on = inputs.day(form.get("day"), "日期", today())
            if step == "contract":
                await desk.sign_contract(agent, actor(p), demand_id, form.get("contract_no", ""), on, keep)
                message = "已登记采购合同"
            elif step == "delivery":
                row = await read(db.demand, demand_id)
                count = len(row["lines"]) if row else 0
                received_q = [
                    inputs.quantity(form.get(f"received-{i}"), f"第 {i} 行到货数量", minimum=0)
                    for i in range(1, count + 1)
                ]
                passed = await desk.check_delivery(agent, actor(p), demand_id, received_q, on, keep)
                message = "验收合格，已登记为平台采购" if passed else "验收不合格，已记录"
            else:
                amount = inputs.money(form.get("amount"), "付款金额", ceiling())
                left = await desk.record_payment(agent, actor(p), demand_id, amount, on, keep)
                message = f"已登记付款，未付余额 {yuan(left)}"
        except InputError as exc:
            await shell.flash(request, "error", exc.message)
            return RedirectResponse(f"/procurement/demands/{demand_id}", 303)
        finally:
            uploads.discard(received)
        await shell.flash(request, "ok", message)
        return RedirectResponse(f"/procurement/demands/{demand_id}", 303)

    return api
